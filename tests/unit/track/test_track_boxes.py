"""Boxes, IoU and crop squares (docs/reproduction.md §4 steps 1, 2 and 6), hand-worked."""

import numpy as np
import pytest

from rf_models.track import (
    boxes_from_txt_rows,
    crop_box_of,
    crop_size_of,
    iou_inclusive,
    square_crop_origin,
    tube_crop_size,
)
from rf_models.track.boxes import as_box

W, H = 100, 80


def test_rows_become_corners_and_score_threshold_is_inclusive():
    rows = np.array(
        [
            [10, 20, 30, 40, 0.8],  # exactly 0.8: kept -> (10, 20, 40, 60)
            [1, 2, 3, 4, 0.7999999],  # just below: dropped
            [5, 6, 7, 8, 0.99],  # kept -> (5, 6, 12, 14), after the first (file order)
        ]
    )
    assert boxes_from_txt_rows(rows) == [(10, 20, 40, 60), (5, 6, 12, 14)]


def test_rows_threshold_is_a_parameter_and_plain_lists_are_accepted():
    rows = [[0, 0, 10, 10, 0.5], [3, 3, 4, 4, 0.4]]
    assert boxes_from_txt_rows(rows, score_threshold=0.5) == [(0, 0, 10, 10)]
    assert boxes_from_txt_rows(rows, score_threshold=0.3) == [(0, 0, 10, 10), (3, 3, 7, 7)]


def test_rows_empty_gives_no_boxes():
    assert boxes_from_txt_rows([]) == []
    assert boxes_from_txt_rows(np.zeros((0, 5))) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1, 2, 3, 4]], r"shape \(n, 5\)"),
        ([1, 2, 3, 4, 0.9], r"shape \(n, 5\)"),
        ([[1.5, 2, 3, 4, 0.9]], "integer x, y, w, h"),
        ([[1, 2, float("nan"), 4, 0.9]], "finite"),
        ([[1, 2, 3, 4, float("inf")]], "finite"),
        ([[1, 2, -3, 4, 0.9]], "w >= 0"),
    ],
)
def test_rows_bad_input_raises(rows, message):
    with pytest.raises(ValueError, match=message):
        boxes_from_txt_rows(rows)


def test_iou_inclusive_hand_values():
    a = (0, 0, 9, 9)  # 10 x 10 = 100 pixels
    assert iou_inclusive(a, a) == 1.0
    # overlap x 5..9 (5 px) x 10 rows = 50; union 100 + 100 - 50 = 150
    assert iou_inclusive(a, (5, 0, 14, 9)) == pytest.approx(1 / 3)
    # touching at one pixel: inclusive convention counts it, 1 / (100 + 100 - 1)
    assert iou_inclusive(a, (9, 9, 18, 18)) == pytest.approx(1 / 199)
    assert iou_inclusive(a, (20, 20, 29, 29)) == 0.0
    # (0, 0, 9, 19) holds 200 pixels including all of a: 100 / 200, exactly 0.5
    assert iou_inclusive(a, (0, 0, 9, 19)) == 0.5


def test_iou_union_is_clamped_to_one():
    # zero-width boxes: areas 0, intersection 0, union 0 -> clamped to 1, IoU 0 (no division error)
    empty = (0, 0, -1, 5)
    assert iou_inclusive(empty, empty) == 0.0


def test_crop_box_inside_frame():
    # w = h = 20 -> int(26.0) = 26; centre (50, 40) -> left 50 - 13 = 37, top 40 - 13 = 27
    assert crop_box_of((40, 30, 60, 50), W, H) == (37, 27, 26)
    assert crop_size_of((40, 30, 60, 50), W, H) == 26


def test_crop_box_left_top_clamp_keeps_size():
    # w = h = 20 -> 26; centre (10, 20): left max(10 - 13, 0) = 0, top 7; min(26, 100, 73) = 26
    assert crop_box_of((0, 10, 20, 30), W, H) == (0, 7, 26)


def test_crop_box_right_and_bottom_clamp_shrink_size():
    # w = h = 14 -> int(18.2) = 18; centre (92, 17): left 83, top 8; min(18, 100 - 83, 72) = 17
    assert crop_box_of((85, 10, 99, 24), W, H) == (83, 8, 17)
    # w 20, h 9 -> 26; centre (20, 74): left 7, top 61; min(26, 93, 80 - 61) = 19
    assert crop_box_of((10, 70, 30, 79), W, H) == (7, 61, 19)


def test_crop_box_outside_frame_gives_non_positive_size():
    # centre (130, 20), size 26: left 117, min(26, 100 - 117, 73) = -17
    assert crop_size_of((120, 10, 140, 30), W, H) == -17


def test_crop_size_uses_truncation_of_scaled_side_and_scale_parameter():
    # h = 21 is the longer side: int(21 * 1.3) = int(27.3) = 27
    assert crop_size_of((30, 30, 40, 51), W, H) == 27
    assert crop_size_of((30, 30, 40, 51), W, H, scale=1.0) == 21


def test_tube_crop_size_rounds_down_to_even_then_caps():
    assert tube_crop_size([17, 26, 19], W, H) == 26
    assert tube_crop_size([25, 3], W, H) == 24
    assert tube_crop_size([150], W, H) == 80  # capped at min(W, H)
    # rounding comes first, so the cap can leave an odd size: 200 -> min(200, 101, 99) = 99
    assert tube_crop_size([200], 101, 99) == 99
    assert tube_crop_size([-17, -3], W, H) == 0  # boxes outside the frame: nothing to crop


def test_square_crop_origin_centres_then_shifts_into_frame():
    assert square_crop_origin((40, 30, 60, 50), 26, W, H) == (37, 27)
    assert square_crop_origin((0, 10, 20, 30), 26, W, H) == (0, 7)  # left clamped to 0
    # centre (92, 17): left min(92 - 13, 100 - 26) = 74
    assert square_crop_origin((85, 10, 99, 24), 26, W, H) == (74, 4)
    # centre (20, 74): top min(74 - 13, 80 - 26) = 54
    assert square_crop_origin((10, 70, 30, 79), 26, W, H) == (7, 54)
    assert square_crop_origin((120, 10, 140, 30), 26, W, H) == (74, 7)
    assert square_crop_origin((-10, -10, 10, 10), 26, W, H) == (0, 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ((1, 2, 3), "4 integer corners"),
        ((1.0, 2, 3, 4), "4 integer corners"),
        ((True, 2, 3, 4), "4 integer corners"),
        ("abcd", "4 integer corners"),
        ((5, 2, 3, 4), "x1 <= x2"),
        ((1, 5, 3, 4), "y1 <= y2"),
    ],
)
def test_as_box_rejects_bad_boxes(value, message):
    with pytest.raises(ValueError, match=message):
        as_box(value)


def test_as_box_accepts_numpy_integers():
    assert as_box(np.array([1, 2, 3, 4], dtype=np.int64)) == (1, 2, 3, 4)
