"""Per-part manifests: TSV round trip and the errors of a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rf_models.data.manifest import (
    COLUMNS,
    STATUSES,
    USABLE,
    ManifestRow,
    read_manifest,
    status_counts,
    write_manifest,
)

ROWS = [
    ManifestRow(
        "p0",
        "a.mp4",
        1,
        "ok",
        n_frames=300,
        width=1920,
        height=1080,
        fps=29.97,
        num_faces=2,
        original="b.mp4",
    ),
    ManifestRow(
        "p0",
        "b.mp4",
        0,
        "partial",
        reason='decoded 7 of 10\tdeclared\nframes "x"',
        n_frames=7,
        width=64,
        height=48,
        fps=30.0,
        num_faces=1,
    ),
    ManifestRow("p0", "c.mp4", None, "not_in_metadata", reason="no label"),
    ManifestRow("p0", "d.mp4", 1, "missing", reason="absent", original="a.mp4"),
    ManifestRow("p0", "e.mp4", 1, "no_face", n_frames=10, width=64, height=48, fps=15.0),
    # a bad metadata row keeps its name as written, whatever characters it holds
    ManifestRow("p0", "../x y\té.mp4", None, "bad_metadata", reason="bad metadata.json row: path"),
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "manifest.tsv"
    write_manifest(path, ROWS)
    assert path.read_text().splitlines()[0] == "\t".join(COLUMNS)
    assert read_manifest(path) == ROWS
    write_manifest(path, [])
    assert read_manifest(path) == []


def test_row_properties() -> None:
    assert [r.usable for r in ROWS] == [True, True, False, False, False, False]
    assert ROWS[0].video_id == "a"
    changed = ROWS[0].with_status("no_face", "vote 0", num_faces=0)
    assert (changed.status, changed.reason, changed.num_faces, changed.n_frames) == (
        "no_face",
        "vote 0",
        0,
        300,
    )
    assert set(USABLE) < set(STATUSES)


@pytest.mark.parametrize("status", ["OK", "broken", ""])
def test_bad_status_is_rejected(status: str) -> None:
    with pytest.raises(ValueError, match="manifest status must be one of"):
        ManifestRow("p0", "a.mp4", 1, status)
    with pytest.raises(ValueError, match="manifest status must be one of"):
        ROWS[0].with_status(status, "")


@pytest.mark.parametrize("label", [2, -1])
def test_bad_label_is_rejected(label: int) -> None:
    with pytest.raises(ValueError, match="label must be 0 .*1 .*or None"):
        ManifestRow("p0", "a.mp4", label, "ok")


def _write_raw(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.tsv"
    path.write_text(text)
    return path


def test_bad_status_in_file_names_file_and_video(tmp_path: Path) -> None:
    write_manifest(tmp_path / "good.tsv", ROWS[:1])
    text = (tmp_path / "good.tsv").read_text().replace("\tok\t", "\tfine\t")
    path = _write_raw(tmp_path, text)
    with pytest.raises(ValueError, match=r"bad row for 'a.mp4'.*status") as err:
        read_manifest(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("bad", "good"),
    [
        ("\t1\tok\t", "\tx\tok\t"),
        ("\t300\t", "\tmany\t"),
        ("\t29.97\t", "\tfast\t"),
        ("\t1\tok\t", "\t3\tok\t"),
    ],
)
def test_bad_values_in_file(tmp_path: Path, bad: str, good: str) -> None:
    write_manifest(tmp_path / "good.tsv", ROWS[:1])
    path = _write_raw(tmp_path, (tmp_path / "good.tsv").read_text().replace(bad, good))
    with pytest.raises(ValueError, match=r"bad row for 'a.mp4'") as err:
        read_manifest(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "header",
    [
        COLUMNS[:-1],
        [*COLUMNS, "extra"],
        list(reversed(COLUMNS)),
        ["video", "status"],
    ],
)
def test_bad_columns(tmp_path: Path, header: list[str]) -> None:
    path = _write_raw(tmp_path, "\t".join(header) + "\n")
    with pytest.raises(ValueError, match="expected manifest columns") as err:
        read_manifest(path)
    assert str(path) in str(err.value)


def test_empty_file_is_a_columns_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected manifest columns"):
        read_manifest(_write_raw(tmp_path, ""))


@pytest.mark.parametrize("cut", [1, 5])
def test_short_or_long_rows_name_the_file(tmp_path: Path, cut: int) -> None:
    write_manifest(tmp_path / "good.tsv", ROWS[:1])
    header, row = (tmp_path / "good.tsv").read_text().splitlines()
    fields = row.split("\t")
    for bad_row in ("\t".join(fields[:-cut]), "\t".join([*fields, *["x"] * cut])):
        path = _write_raw(tmp_path, f"{header}\n{bad_row}\n")
        with pytest.raises(ValueError, match=r"bad row for 'a.mp4'.*fields") as err:
            read_manifest(path)
        assert str(path) in str(err.value)


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError):
        read_manifest("/nonexistent/manifest.tsv")


def test_status_counts() -> None:
    counts = status_counts(ROWS)
    assert list(counts) == list(STATUSES)
    assert counts == {
        "ok": 1,
        "partial": 1,
        "no_face": 1,
        "unreadable": 0,
        "empty_file": 0,
        "missing": 1,
        "not_in_metadata": 1,
        "bad_metadata": 1,
    }
    assert sum(status_counts([]).values()) == 0
