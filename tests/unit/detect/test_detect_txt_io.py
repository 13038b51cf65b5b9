from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rf_models.detect.txt_io import (
    DetectionsFormatError,
    format_detections_txt,
    read_detections_txt,
    write_detections_txt,
)

BOXES = np.array(
    [
        [1530.1, 925.9, 1666.3, 1058.2, 0.3763613],
        [766.7, 238.2, 981.9, 555.5, 0.99811953],
        [-3.7, 10.0, 20.5, 30.9, 0.05],
    ],
    dtype=np.float32,
)
TEXT = "3\n766 238 215 317 0.99811953\n1530 925 136 133 0.3763613\n-3 10 23 20 0.05\n"


def test_exact_text_of_known_file(tmp_path: Path) -> None:
    # int() truncates toward zero (-3.7 -> -3); w and h are differences of truncated corners.
    assert format_detections_txt(BOXES) == TEXT
    path = tmp_path / "frame1.txt"
    write_detections_txt(path, BOXES)
    assert path.read_text() == TEXT
    assert [p.name for p in tmp_path.iterdir()] == ["frame1.txt"]  # no temporary left


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "frame7.txt"
    write_detections_txt(path, BOXES)
    boxes = read_detections_txt(path)
    assert boxes.dtype == np.float32 and boxes.shape == (3, 5)
    expected = np.array(
        [
            [766, 238, 215, 317, 0.99811953],
            [1530, 925, 136, 133, 0.3763613],
            [-3, 10, 23, 20, 0.05],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(boxes, expected)
    assert (
        format_detections_txt(
            np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4], boxes[:, 4]])
        )
        == TEXT
    )


def test_no_boxes(tmp_path: Path) -> None:
    path = tmp_path / "frame2.txt"
    write_detections_txt(path, np.zeros((0, 5), np.float32))
    assert path.read_text() == "0\n"
    assert read_detections_txt(path).shape == (0, 5)


@pytest.mark.parametrize(
    "boxes",
    [np.zeros((2, 4)), np.zeros((5,)), np.array([[0, 0, 1, 1, np.nan]])],
)
def test_write_rejects_bad_boxes(tmp_path: Path, boxes: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_detections_txt(tmp_path / "bad.txt", boxes)
    assert not (tmp_path / "bad.txt").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty detections file"),
        ("\n\n", "empty detections file"),
        ("two\n", "expected the number of boxes"),
        ("-1\n", "negative box count"),
        ("2\n1 2 3 4 0.9\n", "header says 2 boxes, found 1"),
        ("1\n1 2 3 4 0.9\n5 6 7 8 0.5\n", "header says 1 boxes, found 2"),
        ("1\n1 2 3 4\n", "expected 'x y w h score'"),
        ("1\n1 2 3 4 0.9 7\n", "expected 'x y w h score'"),
        ("1\n1 2 three 4 0.9\n", "expected integers x y w h and a float score"),
        ("1\n1.5 2 3 4 0.9\n", "expected integers x y w h and a float score"),
        ("1\n1 2 3 4 high\n", "expected integers x y w h and a float score"),
        ("1\n1 2 3 4 nan\n", "score is not finite"),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "frame3.txt"
    path.write_text(text)
    with pytest.raises(DetectionsFormatError, match=message) as info:
        read_detections_txt(path)
    assert str(path) in str(info.value)


def test_binary_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "frame4.txt"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DetectionsFormatError, match="not a text file"):
        read_detections_txt(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_detections_txt(tmp_path / "absent.txt")
