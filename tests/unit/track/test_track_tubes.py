"""Face-count vote, IoU tubes and nearest-entry filling (docs/reproduction.md §4 steps 3-6)."""

import pytest

from rf_models.track import (
    Tube,
    TubeEntry,
    build_tubes,
    count_faces,
    longest_tubes,
    nearest_entries,
)


def box_at(x: int, y: int = 0, side: int = 20) -> tuple[int, int, int, int]:
    """A side x side box (inclusive pixels) with top-left corner (x, y)."""
    return (x, y, x + side - 1, y + side - 1)


def tube_layout(tubes: list[Tube]) -> list[list[tuple[int, int]]]:
    """(frame, index in frame) of every entry of every tube."""
    return [[(entry.frame, entry.index) for entry in tube.entries] for tube in tubes]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([2, 2, 2, 1], 2),
        ([1, 1, 2, 2], 1),  # tie 2 votes each: 1 was seen first
        ([2, 2, 1, 1], 2),  # same tie, 2 seen first
        ([1, 0, 0, 1, 2, 2], 1),  # three-way tie: first seen wins
        ([0, 1, 0, 1], 0),  # tie with 0 seen first: no face
        ([0, 0, 2, 2, 2], 2),
        ([], 0),
    ],
)
def test_count_faces_vote_and_ties(counts, expected):
    assert count_faces(counts) == expected


@pytest.mark.parametrize("bad", [[-1], [1.5], [True], ["2"]])
def test_count_faces_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="integers >= 0"):
        count_faces(bad)


def test_face_entering_and_leaving():
    # A static in frames 1-6; B appears in frame 3 (IoU 0 with A -> new tube) and leaves after 4
    a, b = box_at(10), box_at(60)
    tubes = build_tubes({1: [a], 2: [a], 3: [a, b], 4: [b, a], 5: [a], 6: [a]})
    assert tube_layout(tubes) == [
        [(1, 0), (2, 0), (3, 0), (4, 1), (5, 0), (6, 0)],
        [(3, 1), (4, 0)],
    ]


def test_frames_are_walked_in_index_order_and_empty_frames_skipped():
    # dict order 3, 1, 2; frame 2 has no box. Frame 1 creates the tube, frame 3 joins it.
    tubes = build_tubes({3: [box_at(1)], 1: [box_at(0)], 2: []})
    assert tube_layout(tubes) == [[(1, 0), (3, 0)]]


def test_two_faces_crossing():
    # 20 x 20 boxes; A moves right 5 px per frame from x=0, B left from x=30.
    # Consecutive positions overlap 15 px: IoU 300 / 500 = 0.6.
    frames = {
        1: [box_at(0), box_at(30)],  # no tube yet: T0 = A, T1 = B
        # file order swapped: B(25) vs T0 A(0): 0, vs T1 B(30): 0.6 -> T1; A(5) -> T0
        2: [box_at(25), box_at(5)],
        # A(10): T0 0.6, T1 (25) 100 / 700 -> T0; B(20): T1 0.6, T0 (5) 0.14 -> T1
        3: [box_at(10), box_at(20)],
        # both at 15: vs T0 (10) 0.6 and vs T1 (20) 0.6, a tie -> first tube T0 for the
        # first box; the second box also picks T0, which is taken -> dropped
        4: [box_at(15), box_at(15)],
        # A(20): T0 (now 15) 0.6, T1 (still 20) 1.0 -> T1; B(10): T0 0.6, T1 0.33 -> T0
        5: [box_at(20), box_at(10)],
    }
    tubes = build_tubes(frames)
    assert tube_layout(tubes) == [
        [(1, 0), (2, 1), (3, 0), (4, 0), (5, 1)],
        [(1, 1), (2, 0), (3, 1), (5, 0)],
    ]
    assert tubes[0].last_box == box_at(10)
    assert tubes[1].last_box == box_at(20)


def test_box_joining_a_tube_that_already_took_a_box_is_dropped():
    # frame 2: both boxes best match T0 (IoU 1.0 and 19*20 / 420 = 0.90): the second is dropped
    tubes = build_tubes({1: [box_at(0)], 2: [box_at(0), box_at(1)]})
    assert tube_layout(tubes) == [[(1, 0), (2, 0)]]


def test_tubes_started_in_a_frame_are_not_candidates_in_that_frame():
    # T0 = (0..19). Frame 2: two identical boxes at x=10, IoU 200 / 600 = 1/3 with T0.
    # Both start new tubes: the first one's tube did not exist before the frame.
    tubes = build_tubes({1: [box_at(0)], 2: [box_at(10), box_at(10)]})
    assert tube_layout(tubes) == [[(1, 0)], [(2, 0)], [(2, 1)]]


def test_ious_use_last_boxes_as_they_stood_before_the_frame():
    # Frame 1: T0 = x 0..19, T1 = x 12..31.
    # Frame 2, first box x 6..25: vs T0 280 / 520 = 0.54, vs T1 also 0.54 -> tie -> T0.
    # Second box x 9..28: vs T0 (before the frame) 220 / 580 = 0.38, vs T1 340 / 460 = 0.74
    # -> joins T1. Against T0's updated box (x 6..25) it would score 0.74 too, tie -> T0,
    # taken -> dropped: the result shows the IoUs were not recomputed.
    tubes = build_tubes({1: [box_at(0), box_at(12)], 2: [box_at(6), box_at(9)]})
    assert tube_layout(tubes) == [[(1, 0), (2, 0)], [(1, 1), (2, 1)]]


def test_iou_of_exactly_half_joins_and_just_below_starts_a_tube():
    small = (0, 0, 9, 9)  # 100 px
    # (0, 0, 9, 19): 200 px containing small -> IoU 0.5 -> joins
    assert tube_layout(build_tubes({1: [small], 2: [(0, 0, 9, 19)]})) == [[(1, 0), (2, 0)]]
    # (0, 0, 9, 20): 210 px -> IoU 100 / 210 = 0.476 -> new tube
    assert tube_layout(build_tubes({1: [small], 2: [(0, 0, 9, 20)]})) == [[(1, 0)], [(2, 0)]]
    # a custom threshold moves the boundary
    assert len(build_tubes({1: [small], 2: [(0, 0, 9, 20)]}, iou_threshold=0.4)) == 1


def make_tube(frames: list[int], tag: int) -> Tube:
    return Tube([TubeEntry(frame, tag, box_at(0)) for frame in frames])


def test_longest_tubes_is_stable_on_equal_lengths():
    tubes = [
        make_tube([1, 2], 0),
        make_tube([1, 2, 3], 1),
        make_tube([4, 5, 6], 2),
        make_tube([7], 3),
    ]
    # lengths 2, 3, 3, 1 -> the two of length 3 in creation order, then the one of length 2
    assert [t.entries[0].index for t in longest_tubes(tubes, 2)] == [1, 2]
    assert [t.entries[0].index for t in longest_tubes(tubes, 3)] == [1, 2, 0]
    assert [t.entries[0].index for t in longest_tubes(tubes, 9)] == [1, 2, 0, 3]


def test_nearest_entries_moves_on_only_when_strictly_closer():
    # entries at 2 and 6. Frame 4 is 2 away from both: stays on frame 2's entry.
    # Frame 5: |6 - 5| = 1 < 3 -> moves on.
    assert nearest_entries([2, 6], [1, 2, 3, 4, 5, 6, 7, 8]) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_nearest_entries_on_sampled_frames():
    # every 5th frame; frame 6 is 5 from both 1 and 11: stays on 1
    assert nearest_entries([1, 11], [1, 6, 11, 16]) == [0, 0, 1, 1]
    assert nearest_entries([11], [1, 6, 11, 16]) == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("entries", "frames", "message"),
    [
        ([], [1, 2], "at least one entry"),
        ([1, 3], [1, 2], "among the frame indices"),
        ([2, 1], [1, 2], "strictly increasing"),
        ([1], [2, 1], "strictly increasing"),
        ([1], [1, 1], "strictly increasing"),
        ([1], [1.0, 2], "integers"),
    ],
)
def test_nearest_entries_rejects_bad_input(entries, frames, message):
    with pytest.raises(ValueError, match=message):
        nearest_entries(entries, frames)
