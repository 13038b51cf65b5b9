"""track_video end to end on hand-made detection sequences (docs/reproduction.md §4)."""

import pytest

from rf_models.track import track_video


def box_at(x: int, y: int = 10, side: int = 20) -> tuple[int, int, int, int]:
    """A side x side box (inclusive pixels) with top-left corner (x, y)."""
    return (x, y, x + side - 1, y + side - 1)


def crops(result, face: int) -> list[tuple[int, int, int, int, int]]:
    """(frame, source_frame, entry_frame, left, top) for each frame of a face."""
    return [
        (c.frame, c.source_frame, c.entry_frame, c.left, c.top)
        for c in result.faces[face - 1].frames
    ]


def entering_leaving() -> dict[int, list[tuple[int, int, int, int]]]:
    # A static at x 10..29 in frames 1-6; B (x 60+k) in frames 2-5, moving 1 px per frame
    # (IoU 380 / 420 = 0.90 between steps). Counts 1, 2, 2, 2, 2, 1 -> vote 2.
    a = box_at(10)
    return {
        1: [a],
        2: [a, box_at(62)],
        3: [box_at(63), a],
        4: [a, box_at(64)],
        5: [a, box_at(65)],
        6: [a],
    }


def test_face_entering_and_leaving_borrowed_source():
    result = track_video(entering_leaving(), [1, 2, 3, 4, 5, 6], 100, 80)
    assert (result.status, result.vote, result.num_faces, result.num_frames) == ("ok", 2, 2, 6)
    # A: w = h = 19 -> int(24.7) = 24 -> 24; centre (19, 19) -> (7, 7) in every frame
    assert result.faces[0].crop_size == 24
    assert crops(result, 1) == [(f, f, f, 7, 7) for f in range(1, 7)]
    # B at x 60+k: centre (69 + k, 19) -> left 57 + k, top 7, size 24.
    # Frame 1 borrows frame 2's entry, frame 6 borrows frame 5's; the image is the lender's.
    assert result.faces[1].crop_size == 24
    assert crops(result, 2) == [
        (1, 2, 2, 59, 7),
        (2, 2, 2, 59, 7),
        (3, 3, 3, 60, 7),
        (4, 4, 4, 61, 7),
        (5, 5, 5, 62, 7),
        (6, 5, 5, 62, 7),
    ]
    boxes = [c.box for c in result.faces[1].frames]
    assert boxes == [None, box_at(62), box_at(63), box_at(64), box_at(65), None]
    assert all(c.size == 24 for face in result.faces for c in face.frames)


def test_face_entering_and_leaving_current_source():
    result = track_video(entering_leaving(), [1, 2, 3, 4, 5, 6], 100, 80, crop_source="current")
    # same squares; every frame crops its own image
    assert [(c.frame, c.source_frame, c.entry_frame, c.left) for c in result.faces[1].frames] == [
        (1, 1, 2, 59),
        (2, 2, 2, 59),
        (3, 3, 3, 60),
        (4, 4, 4, 61),
        (5, 5, 5, 62),
        (6, 6, 5, 62),
    ]
    assert result.faces[1].frames[0].box is None


def test_missing_frame_takes_the_nearest_entry_earlier_on_equal_distance():
    # one face, boxes in frames 1, 3 and 5 only (frames 2 and 4 have no txt).
    # Counts 1, 0, 1, 0, 1 -> vote 1. Frame 2 is 1 from frames 1 and 3: keeps frame 1.
    # Frame 4 is 1 from 3 and 5: keeps frame 3.
    detections = {1: [box_at(10)], 3: [box_at(12)], 5: [box_at(14)]}
    result = track_video(detections, [1, 2, 3, 4, 5], 100, 80)
    # centres 19, 21, 23 -> left 7, 9, 11 with size 24
    assert crops(result, 1) == [
        (1, 1, 1, 7, 7),
        (2, 1, 1, 7, 7),
        (3, 3, 3, 9, 7),
        (4, 3, 3, 9, 7),
        (5, 5, 5, 11, 7),
    ]
    current = track_video(detections, [1, 2, 3, 4, 5], 100, 80, crop_source="current")
    assert crops(current, 1) == [
        (1, 1, 1, 7, 7),
        (2, 2, 1, 7, 7),
        (3, 3, 3, 9, 7),
        (4, 4, 3, 9, 7),
        (5, 5, 5, 11, 7),
    ]


def test_border_boxes_clamp_round_and_shift():
    # frame 64 x 48, one growing face near the bottom-right corner
    detections = {
        # w = h = 17 -> 22; centre (52, 32) -> left 41, top 21; min(22, 23, 27) = 22
        1: [(44, 24, 61, 41)],
        # w = h = 21 -> 27; centre (52, 32) -> left 39, top 19; min(27, 64 - 39, 29) = 25
        # (IoU with frame 1: 324 / 484 = 0.67)
        2: [(42, 22, 63, 43)],
        # w 17, h 21 -> 27; centre (54, 36) -> left 41, top 23; min(27, 23, 48 - 23) = 23
        # (IoU with frame 2: 324 / 556 = 0.58)
        3: [(46, 26, 63, 47)],
    }
    result = track_video(detections, [1, 2, 3], 64, 48)
    # largest 25 -> even 24 (not 26: the clamp came first); cap min(64, 48) = 48
    assert result.faces[0].crop_size == 24
    # frames 1, 2: centre (52, 32) -> left min(40, 64 - 24) = 40, top 20
    # frame 3: centre (54, 36) -> left min(42, 40) = 40, top min(24, 48 - 24) = 24
    assert [(c.left, c.top) for c in result.faces[0].frames] == [(40, 20), (40, 20), (40, 24)]


def test_box_partly_left_of_and_above_the_frame():
    # (-6, -4, 13, 15): 19 x 19 -> 24; centre (3, 5) -> left 0, top 0; size 24
    result = track_video({1: [(-6, -4, 13, 15)]}, [1], 100, 80)
    assert result.faces[0].crop_size == 24
    assert (result.faces[0].frames[0].left, result.faces[0].frames[0].top) == (0, 0)


def test_tube_outside_the_frame_gets_size_zero():
    # centre (130, 20): per-frame size min(26, 100 - 117, ...) = -17 -> tube size 0
    result = track_video({1: [(120, 10, 140, 30)]}, [1], 100, 80)
    assert result.status == "ok"
    assert result.faces[0].crop_size == 0
    assert (result.faces[0].frames[0].left, result.faces[0].frames[0].top) == (100, 20)


def test_vote_tie_goes_to_the_count_first_seen_in_index_order():
    a = box_at(10)
    # counts in index order 1, 0, 0, 1: tie, 1 seen first (dict order of detections is irrelevant)
    result = track_video({4: [a], 1: [a]}, [1, 2, 3, 4], 100, 80)
    assert (result.status, result.vote, result.num_faces) == ("ok", 1, 1)
    # counts 0, 1, 1, 0: tie, 0 seen first -> no face
    result = track_video({3: [a], 2: [a]}, [1, 2, 3, 4], 100, 80)
    assert (result.status, result.vote, result.num_faces, result.faces) == ("no_face", 0, 0, [])


def test_vote_of_zero_with_some_faces_is_no_face():
    # counts 0, 1, 0, 0, 0 -> vote 0 although frame 2 has a face
    result = track_video({2: [box_at(10)], 4: []}, [1, 2, 3, 4, 5], 100, 80)
    assert result.status == "no_face"
    assert (result.num_faces, result.vote, result.num_frames, result.faces) == (0, 0, 5, [])
    assert (result.width, result.height) == (100, 80)


def test_more_tubes_than_faces_keeps_the_longest_stable_on_ties():
    # counts all 1 -> vote 1. Tubes: P frames 1-2, Q frames 3-4 (IoU 0 with P), R frame 5.
    # P and Q both have length 2: P, created first, is kept.
    p, q, r = box_at(0), box_at(60), box_at(30, y=50)
    result = track_video({1: [p], 2: [p], 3: [q], 4: [q], 5: [r]}, [1, 2, 3, 4, 5], 100, 80)
    assert result.num_faces == 1
    # frames 3-5 borrow P's last entry (frame 2)
    assert [c.entry_frame for c in result.faces[0].frames] == [1, 2, 2, 2, 2]


def test_longest_tube_wins_over_the_first_created():
    p, q = box_at(0), box_at(60)
    result = track_video({1: [p], 2: [q], 3: [q], 4: [q]}, [1, 2, 3, 4], 100, 80)
    assert [c.entry_frame for c in result.faces[0].frames] == [2, 2, 3, 4]


def test_fewer_tubes_than_vote_keeps_all_tubes():
    # frames 2 and 3 hold two boxes matching the same tube: the second is dropped each time.
    # Counts 1, 2, 2 -> vote 2, but there is one tube.
    a, a2 = box_at(10), box_at(11)
    result = track_video({1: [a], 2: [a, a2], 3: [a, a2]}, [1, 2, 3], 100, 80)
    assert (result.status, result.vote, result.num_faces, len(result.faces)) == ("ok", 2, 1, 1)


def three_faces_sampled() -> dict[int, list[tuple[int, int, int, int]]]:
    # every 3rd frame sampled: 1, 4, 7, 10, 13. Faces A (x 0), B (x 30), C (x 60) static.
    # Counts 3, 3, 3, 2, 1 -> vote 3. Tubes in creation order: A (5 entries), B (3), C (4).
    a, b, c = box_at(0), box_at(30), box_at(60)
    return {1: [a, b, c], 4: [a, b, c], 7: [a, c, b], 10: [a, c], 13: [a]}


def test_inference_keeps_at_most_two_faces_on_sampled_frames():
    frames = [1, 4, 7, 10, 13]
    result = track_video(three_faces_sampled(), frames, 100, 80, max_faces=2)
    assert (result.vote, result.num_faces, result.num_frames) == (3, 2, 5)
    # longest first: A (5) then C (4); C's frame 13 borrows frame 10
    assert [c.entry_frame for c in result.faces[0].frames] == frames
    assert [c.entry_frame for c in result.faces[1].frames] == [1, 4, 7, 10, 10]
    assert [c.box for c in result.faces[1].frames][-2:] == [box_at(60), None]
    # C: centre (69, 19), size 24 -> (57, 7)
    assert {(c.left, c.top) for c in result.faces[1].frames} == {(57, 7)}


def test_training_rule_keeps_the_vote():
    result = track_video(three_faces_sampled(), [1, 4, 7, 10, 13], 100, 80)
    assert result.num_faces == 3
    # B's entries 1, 4, 7: frames 10 and 13 borrow frame 7
    assert [c.entry_frame for c in result.faces[2].frames] == [1, 4, 7, 7, 7]


def test_inference_cap_above_vote_changes_nothing():
    capped = track_video(entering_leaving(), [1, 2, 3, 4, 5, 6], 100, 80, max_faces=5)
    assert capped == track_video(entering_leaving(), [1, 2, 3, 4, 5, 6], 100, 80)


def test_crop_scale_parameter():
    result = track_video({1: [box_at(10)]}, [1], 100, 80, crop_scale=1.0)
    assert result.faces[0].crop_size == 18  # 19 -> 18 (even)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frame_indices": [2, 1]}, "strictly increasing"),
        ({"frame_indices": [1, 1]}, "strictly increasing"),
        ({"detections": {7: [box_at(0)]}}, "among the video's frame indices"),
        ({"detections": {1: [(0, 0, 10)]}}, "frame 1 box 0: expected 4 integer corners"),
        ({"detections": {1: [(0.5, 0, 10, 10)]}}, "4 integer corners"),
        ({"detections": {1: [(10, 0, 0, 10)]}}, "x1 <= x2"),
        ({"width": 0}, "width: expected a positive integer"),
        ({"height": 7.5}, "height: expected a positive integer"),
        ({"max_faces": 0}, "max_faces"),
        ({"max_faces": 1.5}, "max_faces"),
        ({"crop_source": "nearest"}, "crop_source"),
        ({"iou_threshold": 0.0}, "iou_threshold"),
        ({"crop_scale": float("nan")}, "crop_scale"),
    ],
)
def test_track_video_rejects_bad_input(kwargs, message):
    args = {"detections": {1: [box_at(0)]}, "frame_indices": [1, 2], "width": 100, "height": 80}
    args.update(kwargs)
    detections, frames, width, height = (
        args.pop("detections"),
        args.pop("frame_indices"),
        args.pop("width"),
        args.pop("height"),
    )
    with pytest.raises(ValueError, match=message):
        track_video(detections, frames, width, height, **args)
