"""Training lists in the seed's format (docs/reproduction.md §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rf_models.data.lists import ListLine, make_list, parse_list_line, read_list, tube_lines
from rf_models.data.manifest import ManifestRow, write_manifest


def _row(
    video: str,
    status: str = "ok",
    n_frames: int = 300,
    faces: int = 2,
    label=1,
    part: str = "dfdc_train_part_3",
) -> ManifestRow:
    return ManifestRow(
        part,
        video,
        label,
        status,
        n_frames=n_frames,
        width=1920,
        height=1080,
        fps=30.0,
        num_faces=faces,
    )


def test_tube_lines_one_per_face_in_seed_format() -> None:
    lines = tube_lines(_row("abc.mp4", n_frames=300, faces=2), 30, 1, "jpg")
    assert [line.format() for line in lines] == [
        "dfdc_train_part_3/abc/frame%d_face1.jpg 1 30 10 1",
        "dfdc_train_part_3/abc/frame%d_face2.jpg 1 30 10 1",
    ]
    assert lines[0].frames() == list(range(1, 301, 30))


@pytest.mark.parametrize(
    ("video", "pattern"),
    [
        ("space name é.mp4", "dfdc_train_part_3/space name é/frame%d_face1.jpg"),
        ("  two  spaces .MP4", "dfdc_train_part_3/  two  spaces /frame%d_face1.jpg"),
        ("100% real.mp4", "dfdc_train_part_3/100%% real/frame%d_face1.jpg"),
        ("%d.mp4", "dfdc_train_part_3/%%d/frame%d_face1.jpg"),
    ],
)
def test_awkward_names_round_trip_through_a_list(tmp_path: Path, video: str, pattern: str) -> None:
    (line,) = tube_lines(_row(video, n_frames=40, faces=1), 30, 1, "jpg")
    assert line.pattern == pattern
    path = tmp_path / "list.txt"
    path.write_text(line.format() + "\n")
    (back,) = read_list(path)
    assert back == line
    stem = video.rsplit(".", 1)[0]
    assert [back.path(f) for f in back.frames()] == [
        f"dfdc_train_part_3/{stem}/frame{f}_face1.jpg" for f in (1, 31)
    ]


def test_ordinary_lines_split_into_the_seeds_five_fields() -> None:
    # the seed's loader splits a line on whitespace into five fields and formats the path
    # with `pattern % frame`: lines of ordinary names must stay readable that way
    (line,) = tube_lines(_row("aaqaifqrwn.mp4", faces=1), 30, 1, "jpg")
    fields = line.format().split()
    assert len(fields) == 5
    assert fields[0] % 31 == "dfdc_train_part_3/aaqaifqrwn/frame31_face1.jpg"
    assert [int(f) for f in fields[1:]] == [1, 30, 10, 1]


@pytest.mark.parametrize(
    ("n_frames", "stride", "count"),
    [
        (300, 30, 10),
        (301, 30, 11),
        (299, 30, 10),
        (31, 30, 2),
        (30, 30, 1),
        (1, 30, 1),
        (10, 1, 10),
        (10, 3, 4),
        (0, 30, 0),
    ],
)
def test_count_is_the_length_of_the_frame_range(n_frames: int, stride: int, count: int) -> None:
    (line,) = tube_lines(_row("v.mp4", n_frames=n_frames, faces=1, label=0), stride, 1, "png")
    assert line.count == count == len(range(1, n_frames + 1, stride))
    assert line.format() == f"dfdc_train_part_3/v/frame%d_face1.png 1 {stride} {count} 0"
    assert all(1 <= f <= n_frames for f in line.frames())


@pytest.mark.parametrize(
    "row",
    [
        _row("a.mp4", status="no_face", faces=0),
        _row("a.mp4", status="unreadable", faces=0),
        _row("a.mp4", status="missing", faces=0),
        _row("a.mp4", status="not_in_metadata", label=None),
        _row("a.mp4", status="ok", faces=0),
        _row("a.mp4", status="ok", label=None),
    ],
)
def test_unusable_or_faceless_rows_give_no_lines(row: ManifestRow) -> None:
    assert tube_lines(row, 30, 1, "jpg") == []


def test_partial_rows_are_listed() -> None:
    (line,) = tube_lines(_row("a.mp4", status="partial", n_frames=7, faces=1), 3, 1, "jpg")
    assert line.format() == "dfdc_train_part_3/a/frame%d_face1.jpg 1 3 3 1"


def test_stride_must_be_a_multiple_of_the_frame_stride() -> None:
    assert tube_lines(_row("a.mp4"), 30, 5, "jpg")[0].format().endswith(" 1 30 10 1")
    assert tube_lines(_row("a.mp4"), 30, 30, "jpg")[0].count == 10
    for row in (_row("a.mp4"), _row("b.mp4", status="no_face", faces=0)):
        with pytest.raises(
            ValueError, match="list stride 30 must be a multiple of frames.stride 4"
        ):
            tube_lines(row, 30, 4, "jpg")


def test_make_list_and_read_list_round_trip(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m3.tsv", [_row("a.mp4", faces=2), _row("b.mp4", "no_face", 1, 0)])
    write_manifest(
        tmp_path / "m4.tsv",
        [_row("c.mp4", n_frames=61, faces=1, label=0, part="dfdc_train_part_4")],
    )
    out = tmp_path / "lists" / "train_image.txt"
    assert make_list([tmp_path / "m3.tsv", str(tmp_path / "m4.tsv")], out, 30, 1, "jpg") == 3
    assert out.read_text() == (
        "dfdc_train_part_3/a/frame%d_face1.jpg 1 30 10 1\n"
        "dfdc_train_part_3/a/frame%d_face2.jpg 1 30 10 1\n"
        "dfdc_train_part_4/c/frame%d_face1.jpg 1 30 3 0\n"
    )
    assert [line.format() for line in read_list(out)] == out.read_text().splitlines()
    assert make_list([], tmp_path / "empty.txt", 30, 1, "jpg") == 0
    assert (tmp_path / "empty.txt").read_text() == "" and read_list(tmp_path / "empty.txt") == []


def test_make_list_checks_stride_even_without_usable_rows(tmp_path: Path) -> None:
    write_manifest(tmp_path / "m.tsv", [_row("b.mp4", "no_face", faces=0)])
    with pytest.raises(ValueError, match="multiple of frames.stride"):
        make_list([tmp_path / "m.tsv"], tmp_path / "out.txt", 30, 4, "jpg")
    assert not (tmp_path / "out.txt").exists()


def test_read_list_drops_count_zero_or_negative_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(
        "p/a/frame%d_face1.jpg 1 30 10 1\n"
        "p/b/frame%d_face1.jpg 1 30 0 0\n"
        "\n"
        "p/c/frame%d_face1.jpg 1 30 -2 1\n"
        "  p/d/frame%d_face2.png\t5 1 3 0  \n"
    )
    assert read_list(path) == [
        ListLine("p/a/frame%d_face1.jpg", 1, 30, 10, 1),
        ListLine("p/d/frame%d_face2.png", 5, 1, 3, 0),
    ]
    assert read_list(path)[1].frames() == [5, 6, 7]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("p/a/frame%d_face1.jpg 1 30 10", "expected 'pattern start stride count label'"),
        ("p/a/frame%d_face1.jpg 1 30 10 1 extra", "expected 'pattern start stride count label'"),
        ("p/a/frame%d_face1.jpg 1 30 ten 1", "must be integers"),
        ("p/a/frame%d_face1.jpg 1.0 30 10 1", "must be integers"),
        ("p/a/frame1_face1.jpg 1 30 10 1", "needs a %d frame field"),
        ("p/a%/frame%d_face1.jpg 1 30 10 1", "needs a %d frame field"),
        ("p/a%s/frame%d_face1.jpg 1 30 10 1", "needs a %d frame field"),
        ("p/a/frame%d_%d.jpg 1 30 10 1", "expected one %d in the path"),
        ("1 30 10 1", "expected 'pattern start stride count label'"),
        ("p/a/frame%d_face1.jpg 1 30 10 2", "label must be 0 .REAL. or 1 .FAKE."),
        ("p/a/frame%d_face1.jpg 0 30 10 1", "start must be >= 1"),
        ("p/a/frame%d_face1.jpg 1 0 10 1", "stride must be >= 1"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"p/ok/frame%d_face1.jpg 1 30 10 1\n\n{line}\n")
    with pytest.raises(ValueError, match=match) as err:
        read_list(path)
    assert f"{path}:3:" in str(err.value)
    with pytest.raises(ValueError, match=match):
        parse_list_line(line)
