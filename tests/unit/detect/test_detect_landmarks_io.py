"""The per-video landmarks.json: text, order against the txt lines, reading, folder check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rf_models.data.layout import frame_name
from rf_models.detect.landmarks_io import (
    LANDMARKS_FILENAME,
    LandmarksFormatError,
    check_video_landmarks,
    format_landmarks_json,
    parse_landmarks_json,
    read_landmarks_json,
    write_landmarks_json,
)
from rf_models.detect.txt_io import read_detections_txt, write_detections_txt

# Boxes as the detector could give them, deliberately not sorted: the txt sorts them.
BOXES = np.array(
    [
        [1530.1, 925.9, 1666.3, 1058.2, 0.3763613],
        [766.7, 238.2, 981.9, 555.5, 0.99811953],
        [-3.7, 10.0, 20.5, 30.9, 0.05],
    ],
    dtype=np.float32,
)


def _points_for(boxes: np.ndarray) -> np.ndarray:
    """Five points per box, all at the box's centre plus k * (1.234, -0.005) for point k."""
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    steps = np.arange(5)[:, None] * np.array([1.234, -0.005])
    return (centre[:, None, :] + steps[None]).astype(np.float32)


def test_exact_text_and_txt_line_order() -> None:
    points = np.zeros((3, 5, 2), np.float32)
    points[0] = 1.005  # box of score 0.376: txt line 2 of 3
    points[1] = [[10.126, -0.001]] * 5  # score 0.998: txt line 1
    points[2] = -2.5  # score 0.05: txt line 3
    empty = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
    text = format_landmarks_json({12: (BOXES, points), 3: empty})
    # float32 1.005 is 1.00499999..., so it rounds to 1.0; -0.001 rounds to 0.0, not -0.0
    first = "[" + ",".join(["[10.13,0.0]"] * 5) + "]"
    second = "[" + ",".join(["[1.0,1.0]"] * 5) + "]"
    third = "[" + ",".join(["[-2.5,-2.5]"] * 5) + "]"
    assert text == (
        '{"version":1,"frames":{\n"3":[],\n' + f'"12":[{first},{second},{third}]' + "\n}}\n"
    )
    parsed = parse_landmarks_json(text)
    assert list(parsed) == [3, 12]
    assert parsed[3].shape == (0, 5, 2)
    np.testing.assert_array_equal(parsed[12][:, 0, 0], [10.13, 1.0, -2.5])


def test_round_trip_lines_up_with_txt(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    detections = {}
    for frame in (1, 2, 5):
        n = int(rng.integers(0, 6))
        corners = rng.uniform(0, 500, (n, 2))
        sizes = rng.uniform(10, 200, (n, 2))
        scores = rng.uniform(0.02, 1, (n, 1))
        boxes = np.hstack([corners, corners + sizes, scores]).astype(np.float32)
        detections[frame] = (boxes, _points_for(boxes))
        write_detections_txt(tmp_path / frame_name(frame, "txt"), boxes)
    write_landmarks_json(tmp_path / LANDMARKS_FILENAME, detections)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "frame1.txt",
        "frame2.txt",
        "frame5.txt",
        LANDMARKS_FILENAME,
    ]  # no temporary left
    landmarks = check_video_landmarks(tmp_path)
    assert list(landmarks) == list(read_landmarks_json(tmp_path / LANDMARKS_FILENAME)) == [1, 2, 5]
    for frame, (boxes, points) in detections.items():
        rows = read_detections_txt(tmp_path / frame_name(frame, "txt"))
        got = landmarks[frame]
        assert got.dtype == np.float64 and got.shape == (len(rows), 5, 2)
        # Line k of the txt and landmark set k describe the same box: point 0 is its centre.
        centre = np.stack([rows[:, 0] + rows[:, 2] / 2, rows[:, 1] + rows[:, 3] / 2], 1)
        np.testing.assert_allclose(got[:, 0], centre, atol=1.0)
        np.testing.assert_allclose(np.round(got, 2), got, atol=1e-9)  # 2 decimals
        order = np.argsort(-boxes[:, 4], kind="stable")
        np.testing.assert_allclose(got, points[order], atol=0.005 + 1e-9)


def test_photo_landmarks_line_up_with_txt_boxes(onnx_detector, t1_image, tmp_path) -> None:
    ((boxes, points),) = onnx_detector.detect_with_landmarks(t1_image[None], t1_image.shape[:2])
    write_detections_txt(tmp_path / "frame1.txt", boxes)
    write_landmarks_json(tmp_path / LANDMARKS_FILENAME, {1: (boxes, points)})
    rows = read_detections_txt(tmp_path / "frame1.txt")
    landmarks = check_video_landmarks(tmp_path)[1]
    assert len(landmarks) == len(rows) == len(boxes)
    for row, pts in zip(rows[rows[:, 4] >= 0.8], landmarks, strict=False):
        x, y, w, h = row[:4]
        # integer txt boxes truncate the corners: allow a pixel
        assert (pts[:, 0] > x - 1).all() and (pts[:, 0] < x + w + 1).all()
        assert (pts[:, 1] > y - 1).all() and (pts[:, 1] < y + h + 1).all()
    np.testing.assert_allclose(landmarks, points, atol=0.005 + 1e-4)


@pytest.mark.parametrize(
    ("detections", "message"),
    [
        ({1: (BOXES, np.zeros((2, 5, 2)))}, r"frame 1: expected landmarks of shape \(3, 5, 2\)"),
        ({1: (BOXES, np.zeros((3, 4, 2)))}, r"shape \(3, 5, 2\)"),
        ({1: (BOXES, np.full((3, 5, 2), np.nan))}, "finite"),
        ({1: (BOXES[:, :4], np.zeros((3, 5, 2)))}, r"\(n, 5\)"),
        ({-1: (BOXES, np.zeros((3, 5, 2)))}, "integers >= 0"),
    ],
)
def test_writer_rejects_bad_detections(detections, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_landmarks_json(detections)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 1, "frames": {', "not valid JSON"),
        ("[]", "keys 'version' and 'frames'"),
        ('{"version": 2, "frames": {}}', "expected version 1, found 2"),
        ('{"version": 1, "frames": []}', "'frames': expected an object"),
        ('{"version": 1, "frames": {"01": []}}', "decimal integers"),
        ('{"version": 1, "frames": {"x": []}}', "decimal integers"),
        ('{"version": 1, "frames": {"1": {}}}', "frame 1: expected a list"),
        ('{"version": 1, "frames": {"1": [[[1, 2]]]}}', r"frame 1: expected 1 x \[\[x, y\] x 5\]"),
        ('{"version": 1, "frames": {"1": [[[1, 2], [1], [1, 2], [1, 2], [1, 2]]]}}', "frame 1"),
        (
            '{"version": 1, "frames": {"2": [[["a", 2], [1, 2], [1, 2], [1, 2], [1, 2]]]}}',
            "frame 2: expected",
        ),
        (
            '{"version": 1, "frames": {"2": [[[NaN, 2], [1, 2], [1, 2], [1, 2], [1, 2]]]}}',
            "frame 2: expected finite",
        ),
    ],
)
def test_reader_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "vid" / LANDMARKS_FILENAME
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(LandmarksFormatError, match=message) as info:
        read_landmarks_json(path)
    assert str(path) in str(info.value)


def _video(tmp_path: Path) -> Path:
    points = _points_for(BOXES)
    for frame, boxes in ((1, BOXES), (2, BOXES[:1]), (3, BOXES[:0])):
        write_detections_txt(tmp_path / frame_name(frame, "txt"), boxes)
    detections = {1: (BOXES, points), 2: (BOXES[:1], points[:1]), 3: (BOXES[:0], points[:0])}
    write_landmarks_json(tmp_path / LANDMARKS_FILENAME, detections)
    return tmp_path


def test_folder_check_passes_and_finds_mismatches(tmp_path: Path) -> None:
    video = _video(tmp_path)
    landmarks = check_video_landmarks(video)
    assert {f: len(v) for f, v in landmarks.items()} == {1: 3, 2: 1, 3: 0}
    path = video / LANDMARKS_FILENAME
    data = json.loads(path.read_text())

    data["frames"]["2"] = data["frames"]["1"]
    path.write_text(json.dumps(data))
    with pytest.raises(LandmarksFormatError, match=r"frame 2: expected 1 landmark sets") as info:
        check_video_landmarks(video)
    assert str(path) in str(info.value) and str(video / "frame2.txt") in str(info.value)

    data["frames"]["2"] = data["frames"]["1"][:1]
    data["frames"]["9"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(LandmarksFormatError, match=r"found frames \[9\] without one"):
        check_video_landmarks(video)

    del data["frames"]["9"], data["frames"]["3"]
    path.write_text(json.dumps(data))
    with pytest.raises(LandmarksFormatError, match="no entry for frame 3") as info:
        check_video_landmarks(video)
    assert str(video / "frame3.txt") in str(info.value)

    path.unlink()
    with pytest.raises(FileNotFoundError):
        check_video_landmarks(video)
