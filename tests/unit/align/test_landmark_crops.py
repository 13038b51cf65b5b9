"""aligned_crop: DeepfakeBench's landmark alignment (ArcFace template, size, margin) checked
numerically, against insightface's norm_crop where the arithmetic coincides."""

from __future__ import annotations

import math
import warnings

import cv2
import numpy as np
import pytest

from rf_models.align import (
    BORDER_MODE,
    aligned_crop,
    alignment_matrix,
    destination_points,
)

face_align = pytest.importorskip("insightface.utils.face_align")

# t1.jpg's best face as RetinaFace finds it (left eye, right eye, nose, mouth corners)
T1_FACE = np.array([[498.5, 318.3], [548.5, 330.9], [516.3, 359.3], [490.1, 370.8], [530.4, 381.1]])


def _deepfakebench_destination(size: int, margin: float) -> np.ndarray:
    """DeepfakeBench's img_align_crop arithmetic, step by step, in float64: its 96 x 112
    template, +8 on x for 112-px crops, scaled to the output, moved by the margin, resized."""
    template_96 = np.array(
        [
            [30.2946, 51.6963],
            [65.5318, 51.5014],
            [48.0252, 71.7366],
            [33.5493, 92.3655],
            [62.7299, 92.2041],
        ]
    )
    dst = template_96 + [8.0, 0.0]
    dst = dst * size / 112
    pad = size * (margin - 1) / 2
    dst = dst + pad
    return dst * size / (size + 2 * pad)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _similar(points: np.ndarray, angle: float, scale: float, shift: np.ndarray) -> np.ndarray:
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return scale * points @ rotation.T + shift


@pytest.mark.parametrize(("size", "margin"), [(256, 1.3), (112, 1.0), (299, 1.25), (16, 2.0)])
def test_destination_is_deepfakebenchs(size: int, margin: float) -> None:
    ours = destination_points(size, margin)
    assert ours.shape == (5, 2) and ours.dtype == np.float64
    # insightface's float32 template vs DeepfakeBench's literals + 8: a float32 rounding apart
    np.testing.assert_allclose(ours, _deepfakebench_destination(size, margin), atol=1e-4)


def test_template_is_insightfaces_arcface_one() -> None:
    np.testing.assert_array_equal(destination_points(112, 1.0), face_align.arcface_dst)
    np.testing.assert_allclose(
        destination_points(256, 1.0), face_align.arcface_dst.astype(float) * 256 / 112, rtol=1e-12
    )
    # DeepfakeBench's +8 x-shift is already in arcface_dst (38.2946 = 30.2946 + 8)
    assert face_align.arcface_dst[0, 0] == pytest.approx(30.2946 + 8, abs=1e-5)


@pytest.mark.parametrize("size", [112, 256, 299])
def test_margin_shrinks_around_the_centre(size: int) -> None:
    centre = np.full(2, size / 2)
    plain = destination_points(size, 1.0)
    for margin in (1.3, 1.5, 2.0):
        np.testing.assert_allclose(
            destination_points(size, margin) - centre, (plain - centre) / margin, atol=1e-9
        )
    # 1.3 at 256: the eyes are 61.96 px apart instead of 80.54
    eyes = destination_points(256, 1.3)
    assert eyes[1, 0] - eyes[0, 0] == pytest.approx((73.5318 - 38.2946) * 256 / 112 / 1.3, 1e-5)


def test_landmarks_land_on_the_template_for_random_similarities() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        size = int(rng.choice([16, 112, 224, 256, 299, 380]))
        margin = float(rng.uniform(1.0, 2.0))
        face = face_align.arcface_dst.astype(np.float64)
        src = _similar(
            face, rng.uniform(-math.pi, math.pi), rng.uniform(0.2, 8.0), rng.uniform(-500, 2000, 2)
        )
        matrix = alignment_matrix(src, size, margin)
        assert matrix.shape == (2, 3)
        np.testing.assert_allclose(_apply(matrix, src), destination_points(size, margin), atol=1e-3)
        # a similarity: equal scale on both axes, no shear
        a, b = matrix[0, 0], matrix[1, 0]
        np.testing.assert_allclose(matrix[:, :2], [[a, -b], [b, a]], atol=1e-9)


def test_the_image_moves_with_the_points() -> None:
    # Five bright dots at the landmark positions of a rotated, scaled face: after alignment
    # each dot is at its template point (the matrix maps image to crop, not the reverse).
    src = _similar(face_align.arcface_dst.astype(np.float64), 0.4, 2.5, np.array([120.0, 60.0]))
    image = np.zeros((480, 640, 3), np.uint8)
    for x, y in src:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    crop = aligned_crop(image, src, 256, 1.3)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    grey = crop[:, :, 0].astype(np.float64)
    for x, y in destination_points(256, 1.3):
        xi, yi = round(x), round(y)
        window = grey[yi - 6 : yi + 7, xi - 6 : xi + 7]
        ys, xs = np.nonzero(window > 0)
        weights = window[ys, xs]
        centre = (
            np.average(xs, weights=weights) + xi - 6,
            np.average(ys, weights=weights) + yi - 6,
        )
        # rounding the dots' centres moved them up to 0.7 px, scaled by 256/112/2.5/1.3
        assert abs(centre[0] - x) < 1.0 and abs(centre[1] - y) < 1.0


def test_margin_one_at_112_and_224_is_insightfaces_norm_crop(t1_image) -> None:
    for size in (112, 224):
        with warnings.catch_warnings():
            # insightface calls SimilarityTransform.estimate, deprecated in scikit-image 0.26
            warnings.simplefilter("ignore", FutureWarning)
            theirs = face_align.norm_crop(t1_image, T1_FACE, size)
            their_matrix = face_align.estimate_norm(T1_FACE, size)
        np.testing.assert_allclose(alignment_matrix(T1_FACE, size, 1.0), their_matrix, atol=1e-4)
        ours = aligned_crop(t1_image, T1_FACE, size, 1.0)
        # insightface estimates with its float32 template in float32; we do it in float64
        diff = np.abs(ours.astype(np.int16) - theirs)
        assert diff.max() <= 2 and (diff > 0).mean() < 1e-3


def test_norm_crop_at_256_uses_another_template() -> None:
    # estimate_norm(256) takes its 128-px branch (x2 and +16 on x), not template * 256 / 112
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        their_matrix = face_align.estimate_norm(T1_FACE, 256)
    theirs = _apply(their_matrix, T1_FACE)
    ours = _apply(alignment_matrix(T1_FACE, 256, 1.0), T1_FACE)
    assert np.abs(theirs - ours).max() > 5


def test_margin_crop_is_the_plain_crop_shrunk(t1_image) -> None:
    # as matrices: margin 1.3 = margin 1, then a 1/1.3 zoom about the centre (128, 128)
    shrink = np.array([[1 / 1.3, 0, 128 * 0.3 / 1.3], [0, 1 / 1.3, 128 * 0.3 / 1.3], [0, 0, 1]])
    plain_matrix = np.vstack([alignment_matrix(T1_FACE, 256, 1.0), [0, 0, 1]])
    np.testing.assert_allclose(
        alignment_matrix(T1_FACE, 256, 1.3), (shrink @ plain_matrix)[:2], atol=1e-6
    )
    plain = aligned_crop(t1_image, T1_FACE, 256, 1.0)
    wide = aligned_crop(t1_image, T1_FACE, 256, 1.3)
    # the centre 256/1.3 px of the margin crop, scaled up, is the plain crop
    side = 256 / 1.3
    start = (256 - side) / 2
    zoom = np.array([[1.3, 0, -1.3 * start], [0, 1.3, -1.3 * start]])
    back = cv2.warpAffine(wide, zoom, (256, 256), flags=cv2.INTER_LINEAR)
    inner = slice(20, 236)
    diff = np.abs(back[inner, inner].astype(np.int16) - plain[inner, inner])
    assert diff.mean() < 4  # two resamplings of a photo, not one


def test_outside_the_image_is_black() -> None:
    assert BORDER_MODE == cv2.BORDER_CONSTANT
    image = np.full((100, 100, 3), 200, np.uint8)
    # a face whose template would need pixels left of and above the image
    src = _similar(face_align.arcface_dst.astype(np.float64), 0.0, 0.5, np.array([-5.0, -10.0]))
    crop = aligned_crop(image, src, 64, 1.3)
    assert (crop[0, 0] == 0).all() and (crop[-1, -1] == 200).all()
    assert (crop == 0).all(axis=2).mean() > 0.05


def test_float_images_keep_their_dtype() -> None:
    image = np.random.default_rng(0).uniform(0, 1, (200, 200, 3)).astype(np.float32)
    src = _similar(face_align.arcface_dst.astype(np.float64), 0.1, 1.2, np.array([30.0, 20.0]))
    crop = aligned_crop(image, src, 32, 1.0)
    assert crop.dtype == np.float32 and crop.shape == (32, 32, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"landmarks": np.zeros((4, 2))}, r"landmarks: expected 5 points .* found shape \(4, 2\)"),
        ({"landmarks": np.zeros((5, 3))}, r"found shape \(5, 3\)"),
        ({"landmarks": np.full((5, 2), np.nan)}, "landmarks: expected finite"),
        ({"landmarks": np.ones((5, 2))}, "5 distinct points"),
        ({"size": 15}, r"size: expected an integer >= 16 \(pixels\), found 15"),
        ({"size": 256.0}, "size: expected an integer"),
        ({"size": True}, "size: expected an integer"),
        ({"margin": 0.9}, "margin: expected a finite number >= 1, found 0.9"),
        ({"margin": float("inf")}, "margin: expected a finite number >= 1"),
        ({"margin": "1.3"}, "margin: expected a finite number"),
        ({"image_bgr": np.zeros((50, 50), np.uint8)}, r"image: expected .* \(H, W, 3\)"),
        ({"image_bgr": np.zeros((50, 50, 4), np.uint8)}, r"found \(50, 50, 4\)"),
        ({"image_bgr": np.zeros((0, 50, 3), np.uint8)}, r"found \(0, 50, 3\)"),
    ],
)
def test_bad_inputs_are_clear_errors(kwargs: dict, message: str) -> None:
    args = {
        "image_bgr": np.zeros((50, 50, 3), np.uint8),
        "landmarks": face_align.arcface_dst / 3,
        "size": 64,
        "margin": 1.3,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        aligned_crop(**args)
