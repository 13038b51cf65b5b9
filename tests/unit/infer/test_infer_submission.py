"""The submission file: filename,label rows, sorted, checked on the way out and back in."""

from __future__ import annotations

import math
import os

import pytest

from rf_models.infer.submission import SubmissionError, read_submission, write_submission


def test_round_trip_sorted_with_full_precision(tmp_path):
    path = tmp_path / "out" / "submission.csv"
    labels = {"b.mp4": 0.1 + 0.2, "a.mp4": 1, "c.mp4": 0.0, "d.mp4": 1e-9}
    written = write_submission(labels, path)
    assert list(written) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert path.read_text().splitlines() == [
        "filename,label",
        "a.mp4,1.0",
        "b.mp4,0.30000000000000004",
        "c.mp4,0.0",
        "d.mp4,1e-09",
    ]
    back = read_submission(path, expected_files=labels)
    assert back == {k: float(v) for k, v in sorted(labels.items())}
    assert list(back) == list(written)


def test_pairs_are_accepted_and_nothing_is_left_behind(tmp_path):
    path = tmp_path / "s.csv"
    write_submission([("x.mp4", 0.25), ("w.mp4", 0.75)], path)
    assert read_submission(path) == {"w.mp4": 0.75, "x.mp4": 0.25}
    assert os.listdir(tmp_path) == ["s.csv"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"a.mp4": 1.5}, r"label in \[0, 1\], found 1.5"),
        ({"a.mp4": -0.1}, r"label in \[0, 1\]"),
        ({"a.mp4": math.nan}, r"label in \[0, 1\], found nan"),
        ({"a.mp4": math.inf}, r"label in \[0, 1\]"),
        ({"a.mp4": True}, r"label in \[0, 1\], found True"),
        ({"a.mp4": "0.5"}, r"label in \[0, 1\], found '0.5'"),
        ({"a.mp4": None}, r"label in \[0, 1\]"),
        ({"": 0.5}, "expected a file name"),
        ({" a.mp4": 0.5}, "expected a file name"),
        ({"a,b.mp4": 0.5}, "without commas"),
        ({"dir/a.mp4": 0.5}, "slashes"),
        ([("a.mp4", 0.5), ("a.mp4", 0.6)], "one row per file, found 'a.mp4' again"),
        ([("a.mp4", 0.5, 1)], r"\(filename, label\) pair"),
        (["a.mp4"], r"\(filename, label\) pair"),
    ],
)
def test_write_refuses_bad_rows(tmp_path, rows, message):
    path = tmp_path / "s.csv"
    with pytest.raises(SubmissionError, match=message):
        write_submission(rows, path)
    assert not path.exists()


def test_write_checks_the_expected_files(tmp_path):
    path = tmp_path / "s.csv"
    with pytest.raises(SubmissionError, match=r"missing 1 \(e.g. \['c.mp4'\]\), unexpected 0"):
        write_submission(
            {"a.mp4": 0.5, "b.mp4": 0.5}, path, expected_files=["a.mp4", "b.mp4", "c.mp4"]
        )
    with pytest.raises(SubmissionError, match=r"missing 0 .* unexpected 1 \(e.g. \['b.mp4'\]\)"):
        write_submission({"a.mp4": 0.5, "b.mp4": 0.5}, path, expected_files=["a.mp4"])
    assert not path.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: expected the header 'filename,label', found None"),
        ("filename,score\na.mp4,0.5\n", "expected the header"),
        ("label,filename\n0.5,a.mp4\n", "expected the header"),
        ("filename,label\na.mp4\n", r"line 2: expected 'filename,label', found \['a.mp4'\]"),
        ("filename,label\na.mp4,0.5,x\n", "line 2: expected 'filename,label'"),
        ("filename,label\na.mp4,0.5\n\nb.mp4,0.5\n", r"line 3: expected 'filename,label'"),
        ("filename,label\na.mp4,abc\n", "line 2: expected a label in \\[0, 1\\], found 'abc'"),
        ("filename,label\na.mp4,1.01\n", r"line 2 \(a.mp4\): expected a label in \[0, 1\]"),
        ("filename,label\na.mp4,nan\n", "found nan"),
        ("filename,label\na.mp4,0.5\na.mp4,0.4\n", "line 3: expected one row per file"),
        ("filename,label\n,0.5\n", "line 2: expected a file name"),
    ],
)
def test_read_refuses_bad_files(tmp_path, text, message):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(SubmissionError, match=message) as info:
        read_submission(path)
    assert str(path) in str(info.value)


def test_read_checks_the_expected_files(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("filename,label\na.mp4,0.5\n")
    assert read_submission(path, expected_files=["a.mp4"]) == {"a.mp4": 0.5}
    with pytest.raises(SubmissionError, match=r"missing 1 \(e.g. \['b.mp4'\]\)"):
        read_submission(path, expected_files=["a.mp4", "b.mp4"])


def test_read_missing_or_binary_file(tmp_path):
    with pytest.raises(SubmissionError, match="cannot read the submission"):
        read_submission(tmp_path / "none.csv")
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SubmissionError, match="cannot read the submission"):
        read_submission(path)
