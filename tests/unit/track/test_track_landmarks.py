"""crop_landmarks: the landmarks of the tube entry each crop uses, found through the txt lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rf_models.data.layout import frame_name
from rf_models.detect.landmarks_io import (
    LANDMARKS_FILENAME,
    check_video_landmarks,
    write_landmarks_json,
)
from rf_models.detect.txt_io import write_detections_txt
from rf_models.stages.track import read_video_detections
from rf_models.track import (
    LandmarksMatchError,
    VideoTracks,
    boxes_from_txt_rows,
    crop_landmarks,
    track_video,
)

W, H = 100, 80
FRAMES = [1, 2, 3, 4, 5, 6, 7]


def row(x: int, score: float, y: int = 10, side: int = 19) -> list[float]:
    """A txt row ``x y w h score`` of a box whose corners are (x, y, x + side, y + side)."""
    return [x, y, side, side, score]


def video_rows() -> dict[int, np.ndarray]:
    """Face A static at x 10 in frames 1-6; face B at x 60 + k in frames 2-5; frame 7 has no
    box at all. Each txt is highest score first; some have boxes below the 0.8 threshold (the
    one of frame 4 sits between nothing kept and must not shift B's line), frame 3 lists B
    first. Votes: 1, 2, 2, 2, 2, 1, 0 -> 2 faces."""
    return {
        1: np.array([row(10, 0.99), row(70, 0.3, y=50)]),
        2: np.array([row(10, 0.99), row(62, 0.95), row(40, 0.5, y=50)]),
        3: np.array([row(63, 0.97), row(10, 0.9)]),
        4: np.array([row(10, 0.99), row(64, 0.85), row(30, 0.79, y=55), row(5, 0.1, y=60)]),
        5: np.array([row(10, 0.99), row(65, 0.98)]),
        6: np.array([row(10, 0.99)]),
        7: np.zeros((0, 5)),
    }


def landmarks_of(rows: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Points that name their txt line: every coordinate of line k of frame f is 100 f + k,
    plus 0.25 j on x for point j (so the five points differ)."""
    out = {}
    for frame, table in rows.items():
        points = np.zeros((len(table), 5, 2))
        for line in range(len(table)):
            points[line] = 100 * frame + line
            points[line, :, 0] += 0.25 * np.arange(5)
        out[frame] = points
    return out


def kept(rows: dict[int, np.ndarray]) -> dict[int, list]:
    return {frame: boxes_from_txt_rows(table, 0.8) for frame, table in rows.items()}


def tracks_of(rows: dict[int, np.ndarray], **kwargs) -> VideoTracks:
    return track_video(kept(rows), FRAMES, W, H, **kwargs)


def line_ids(points: np.ndarray) -> list[float]:
    """The 100 f + k id of each crop's landmarks (point 0's y)."""
    return [float(p[0, 1]) for p in points]


@pytest.mark.parametrize("crop_source", ["borrowed", "current"])
@pytest.mark.parametrize("with_rows", [False, True])
def test_each_crop_gets_its_entry_lines_landmarks(crop_source: str, with_rows: bool) -> None:
    rows = video_rows()
    tracks = tracks_of(rows, crop_source=crop_source)
    assert (tracks.status, tracks.num_faces) == ("ok", 2)
    # Face 1 is A (6 entries), face 2 is B (4): frames 1, 6, 7 of B borrow; 7 of A borrows.
    assert [c.entry_frame for c in tracks.faces[0].frames] == [1, 2, 3, 4, 5, 6, 6]
    assert [c.entry_frame for c in tracks.faces[1].frames] == [2, 2, 3, 4, 5, 5, 5]
    extra = {"txt_rows": rows} if with_rows else {}
    result = crop_landmarks(tracks, kept(rows), landmarks_of(rows), **extra)
    assert sorted(result) == [1, 2]
    assert result[1].shape == result[2].shape == (7, 5, 2)
    # A is line 0 except in frame 3 (line 1); B is line 1 except in frame 3 (line 0)
    assert line_ids(result[1]) == [100, 200, 301, 400, 500, 600, 600]
    assert line_ids(result[2]) == [201, 201, 300, 401, 501, 501, 501]
    np.testing.assert_array_equal(result[2][0, :, 0], 201 + 0.25 * np.arange(5))


def test_tracks_read_back_from_json_give_the_same_landmarks() -> None:
    rows = video_rows()
    tracks = tracks_of(rows)
    again = VideoTracks.from_json_dict(tracks.to_json_dict())
    a = crop_landmarks(tracks, kept(rows), landmarks_of(rows))
    b = crop_landmarks(again, kept(rows), landmarks_of(rows))
    assert a.keys() == b.keys()
    for face in a:
        np.testing.assert_array_equal(a[face], b[face])


def test_rows_map_through_the_threshold_when_the_txt_is_not_sorted() -> None:
    rows = video_rows()
    # A txt not written by score (none of ours): a box below the threshold comes first.
    rows[5] = np.array([row(40, 0.2, y=50), row(10, 0.99), row(65, 0.98)])
    tracks = tracks_of(rows)
    result = crop_landmarks(tracks, kept(rows), landmarks_of(rows), txt_rows=rows)
    assert line_ids(result[1])[4] == 501 and line_ids(result[2])[4:] == [502, 502, 502]
    # Without the rows, the kept boxes are taken as the first lines: here that is wrong,
    # which is why the txt must stay highest score first.
    wrong = crop_landmarks(tracks, kept(rows), landmarks_of(rows))
    assert line_ids(wrong[1])[4] == 500


def test_end_to_end_through_the_files(tmp_path: Path) -> None:
    rows = video_rows()
    detections = {}
    for frame, table in rows.items():
        # detector-like float corners and an unsorted order; the writers sort both alike
        boxes = np.column_stack(
            [table[:, 0] + 0.4, table[:, 1] + 0.3, table[:, 0] + table[:, 2] + 0.6]
            + [table[:, 1] + table[:, 3] + 0.2, table[:, 4]]
        ).astype(np.float32)[::-1]
        points = landmarks_of(rows)[frame][::-1]
        write_detections_txt(tmp_path / frame_name(frame, "txt"), boxes)
        detections[frame] = (boxes, points)
    write_landmarks_json(tmp_path / LANDMARKS_FILENAME, detections)
    boxes_read = read_video_detections(tmp_path, 0.8)
    landmarks_read = check_video_landmarks(tmp_path)
    tracks = track_video(boxes_read, FRAMES, W, H)
    result = crop_landmarks(tracks, boxes_read, landmarks_read)
    assert line_ids(result[1]) == [100, 200, 301, 400, 500, 600, 600]
    assert line_ids(result[2]) == [201, 201, 300, 401, 501, 501, 501]


def test_no_face_has_no_landmarks() -> None:
    rows = {f: np.zeros((0, 5)) for f in FRAMES}
    assert crop_landmarks(tracks_of(rows), kept(rows), landmarks_of(rows)) == {}


def test_duplicate_boxes_are_fine_only_with_equal_landmarks() -> None:
    rows = video_rows()
    # Frame 4 lists A twice (the second copy is dropped by tracking: A's tube is taken).
    rows[4] = np.array([row(10, 0.99), row(10, 0.98), row(64, 0.85)])
    tracks = tracks_of(rows)
    points = landmarks_of(rows)
    with pytest.raises(LandmarksMatchError, match=r"appears 2 times.*txt lines \[2, 3\]"):
        crop_landmarks(tracks, kept(rows), points)
    points[4][1] = points[4][0]
    result = crop_landmarks(tracks, kept(rows), points)
    assert line_ids(result[1])[3] == 400 and line_ids(result[2])[3] == 402


def test_mismatches_are_clear_errors() -> None:
    rows = video_rows()
    tracks = tracks_of(rows)
    points = landmarks_of(rows)

    missing = dict(points)
    del missing[3]
    with pytest.raises(
        LandmarksMatchError, match="face 1, frame 3: no landmarks for entry frame 3"
    ):
        crop_landmarks(tracks, kept(rows), missing)

    short = dict(points)
    short[2] = points[2][:1]
    with pytest.raises(LandmarksMatchError, match="frame 2: expected landmarks for at least the 2"):
        crop_landmarks(tracks, kept(rows), short)
    with pytest.raises(LandmarksMatchError, match=r"frame 2: expected one landmark set per txt"):
        crop_landmarks(tracks, kept(rows), short, txt_rows=rows)

    other = kept(rows)
    other[4] = [(10, 10, 29, 29), (90, 10, 99, 29)]
    with pytest.raises(LandmarksMatchError, match=r"face 2, frame 4: the entry box \(64, 10"):
        crop_landmarks(tracks, other, points)
    with pytest.raises(LandmarksMatchError, match="frame 4: the kept boxes .* are not the txt"):
        crop_landmarks(tracks, other, points, txt_rows=rows)

    no_rows = dict(rows)
    del no_rows[1]
    with pytest.raises(LandmarksMatchError, match="no txt rows for entry frame 1"):
        crop_landmarks(tracks, kept(rows), points, txt_rows=no_rows)

    no_kept = kept(rows)
    del no_kept[5]
    with pytest.raises(LandmarksMatchError, match="no kept boxes for entry frame 5"):
        crop_landmarks(tracks, no_kept, points)

    bad_shape = dict(points)
    bad_shape[6] = np.zeros((1, 4, 2))
    with pytest.raises(LandmarksMatchError, match=r"frame 6: expected landmarks of shape"):
        crop_landmarks(tracks, kept(rows), bad_shape)
