from __future__ import annotations

import math

import numpy as np
import pytest

from rf_models.detect.postprocess import (
    PostprocessConfig,
    decode_boxes,
    nms,
    postprocess,
    resize_factor,
    resized_shape,
)


def test_decode_hand_computed() -> None:
    priors = np.array([[0.5, 0.5, 0.2, 0.4], [0.1, 0.9, 0.05, 0.05]], np.float32)
    loc = np.array([[1.0, -2.0, 0.0, math.log(2.0) / 0.2], [0.0, 0.0, 0.0, 0.0]], np.float32)
    # centre (0.5 + 1*0.1*0.2, 0.5 - 2*0.1*0.4) = (0.52, 0.42); size (0.2, 0.4 * 2) = (0.2, 0.8)
    expected = np.array([[0.42, 0.02, 0.62, 0.82], [0.075, 0.875, 0.125, 0.925]], np.float32)
    boxes = decode_boxes(loc, priors)
    assert boxes.dtype == np.float32
    np.testing.assert_allclose(boxes, expected, atol=1e-6)


def test_decode_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        decode_boxes(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        decode_boxes(np.zeros((3, 5)), np.zeros((3, 5)))


def _dets(*rows: tuple[float, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_nms_inclusive_pixel_convention() -> None:
    # Inclusive pixels: each box is 4x4 = 16 px, overlap 2x4 = 8 px, IoU 8 / 24 = 1/3
    # (0.2 without the +1: 3 / 15).
    dets = _dets((0, 0, 3, 3, 0.9), (2, 0, 5, 3, 0.8))
    assert nms(dets, 0.3).tolist() == [0]
    assert nms(dets, 0.34).tolist() == [0, 1]


def test_nms_threshold_edge_keeps_equal_iou() -> None:
    # A is 10x10 = 100 px; B is 10x4 = 40 px inside A: IoU = 40 / 100 = 0.4 exactly.
    dets = _dets((0, 0, 9, 9, 0.9), (0, 2, 9, 5, 0.8))
    assert nms(dets, 0.4).tolist() == [0, 1]
    assert nms(dets, 0.39).tolist() == [0]


def test_nms_orders_by_score_and_suppresses_against_kept_only() -> None:
    # B overlaps A (IoU 70/130) and C (IoU 60/140 ~ 0.43); C overlaps A (IoU 30/170 ~ 0.18).
    # B is suppressed by A, so C survives although it overlaps B.
    dets = _dets(
        (0, 7, 9, 16, 0.5),  # C
        (0, 0, 9, 9, 0.95),  # A
        (0, 3, 9, 12, 0.7),  # B
    )
    assert nms(dets, 0.4).tolist() == [1, 0]


def test_nms_equal_scores_keep_input_order() -> None:
    dets = _dets((0, 0, 9, 9, 0.5), (100, 100, 109, 109, 0.5), (50, 50, 59, 59, 0.5))
    assert nms(dets, 0.4).tolist() == [0, 1, 2]


def test_nms_empty_and_bad_shape() -> None:
    assert nms(np.zeros((0, 5), np.float32), 0.4).tolist() == []
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        nms(np.zeros((3, 4)), 0.4)


def test_postprocess_scales_thresholds_and_sorts() -> None:
    priors = np.array(
        [[0.5, 0.5, 0.1, 0.2], [0.2, 0.3, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1], [0.5, 0.5, 0.1, 0.2]],
        np.float32,
    )
    loc = np.zeros((4, 4), np.float32)
    scores = np.array([0.02, 0.6, 0.9, 0.5], np.float32)  # 0.02 is not > 0.02
    conf = np.stack([1 - scores, scores], axis=1)
    # Input 100 x 200 made from the original at factor 0.5: multiply by (200, 100) / 0.5.
    dets = postprocess(loc, conf, priors, (100, 200), 0.5)
    assert dets.dtype == np.float32
    expected = np.array(
        [
            [(0.8 - 0.05) * 400, (0.8 - 0.05) * 200, (0.8 + 0.05) * 400, (0.8 + 0.05) * 200, 0.9],
            [(0.2 - 0.05) * 400, (0.3 - 0.05) * 200, (0.2 + 0.05) * 400, (0.3 + 0.05) * 200, 0.6],
            [(0.5 - 0.05) * 400, (0.5 - 0.1) * 200, (0.5 + 0.05) * 400, (0.5 + 0.1) * 200, 0.5],
        ],
        np.float32,
    )
    np.testing.assert_allclose(dets, expected, rtol=1e-5)


def test_postprocess_nms_and_top_k_limits() -> None:
    # Three copies of one anchor (IoU 1) and one separate anchor.
    priors = np.array([[0.5, 0.5, 0.1, 0.1]] * 3 + [[0.1, 0.1, 0.1, 0.1]], np.float32)
    scores = np.array([0.7, 0.9, 0.8, 0.3], np.float32)
    conf = np.stack([1 - scores, scores], axis=1)
    loc = np.zeros((4, 4), np.float32)
    dets = postprocess(loc, conf, priors, (100, 100), 1.0)
    np.testing.assert_allclose(dets[:, 4], [0.9, 0.3], rtol=1e-6)
    top2 = postprocess(loc, conf, priors, (100, 100), 1.0, PostprocessConfig(top_k=2))
    np.testing.assert_allclose(top2[:, 4], [0.9], rtol=1e-6)
    keep1 = postprocess(loc, conf, priors, (100, 100), 1.0, PostprocessConfig(keep_top_k=1))
    np.testing.assert_allclose(keep1[:, 4], [0.9], rtol=1e-6)
    assert postprocess(loc, conf * 0, priors, (100, 100), 1.0).shape == (0, 5)


@pytest.mark.parametrize(
    ("height", "width", "factor"),
    [
        (1080, 1920, 400 / 1080),
        (1920, 1080, 400 / 1080),
        (100, 1000, 2150 / 1000),  # 400/100 would make the long side 4000
        (400, 2150, 1.0),  # exactly at the cap
        (400, 2151, 2150 / 2151),
        (250, 1344, 1.6),  # 1.6 * 1344 = 2150.4 rounds to 2150: not capped
        (250, 1345, 2150 / 1345),  # 2152 > 2150
    ],
)
def test_resize_factor(height: int, width: int, factor: float) -> None:
    assert resize_factor(height, width) == pytest.approx(factor, rel=1e-15)


def test_resized_shape_matches_cv2() -> None:
    cv2 = pytest.importorskip("cv2")
    for height, width in [(1080, 1920), (1920, 1080), (886, 1280), (3, 10000), (1000, 1002)]:
        factor = resize_factor(height, width)
        image = np.zeros((height, width, 3), np.uint8)
        out = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        assert resized_shape(height, width, factor) == out.shape[:2]
    assert resized_shape(1080, 1920, resize_factor(1080, 1920)) == (400, 711)


@pytest.mark.parametrize("size", [(0, 100), (100, 0), (-5, 10)])
def test_resize_factor_rejects_empty_images(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="positive image size"):
        resize_factor(*size)
