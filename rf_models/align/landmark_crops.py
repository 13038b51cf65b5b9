"""Face crops aligned on 5 landmarks as DeepfakeBench's preprocessing makes them.

The 5 points (left eye, right eye, nose, left and right mouth corner, "left" being the
image's left) are mapped by a similarity transform (rotation, uniform scale, translation;
skimage's least-squares ``SimilarityTransform``, as insightface and DeepfakeBench estimate it)
onto insightface's ArcFace template for 112 x 112 crops, scaled to the output size and then
pulled towards the centre by the margin:

    dst = arcface_dst * size / 112                       (arcface_dst already holds the +8
                                                           x-shift DeepfakeBench adds to its
                                                           96 x 112 template)
    m = size * (margin - 1) / 2
    dst = (dst + m) * size / (size + 2 m)               = centre + (dst - centre) / margin

with centre = (size / 2, size / 2): the face shrinks by 1 / margin around the crop's centre.
The image is warped with ``cv2.warpAffine``, bilinear, outside pixels black (constant 0), as
both DeepfakeBench (OpenCV's defaults) and insightface's ``norm_crop`` do.

With margin 1.0 and a size that is a multiple of 112 the destination is insightface's
``estimate_norm`` template, so the crop is ``face_align.norm_crop``'s; for other sizes
(256 among them) ``estimate_norm`` switches to its 128-px template and differs, hence the
template is scaled here rather than taken from ``estimate_norm``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from numbers import Integral, Real

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

ARCFACE_SIZE = 112
DEFAULT_SIZE = 256
DEFAULT_MARGIN = 1.3
MIN_SIZE = 16
NUM_POINTS = 5
# DeepfakeBench's cv2.warpAffine call leaves OpenCV's defaults: bilinear, constant black
# border; insightface's norm_crop passes borderValue=0.0. A replicated border would smear the
# frame's edge into crops of faces near it, which the protocol's crops do not show.
INTERPOLATION = cv2.INTER_LINEAR
BORDER_MODE = cv2.BORDER_CONSTANT
BORDER_VALUE = 0


@lru_cache(maxsize=1)
def _arcface_template() -> np.ndarray:
    # Imported on first use: the insightface package loads onnxruntime and its model zoo (~1.5 s)
    from insightface.utils.face_align import arcface_dst

    template = np.asarray(arcface_dst, dtype=np.float64)
    template.flags.writeable = False
    return template


def _check_size(size: object) -> int:
    if not isinstance(size, Integral) or isinstance(size, bool) or size < MIN_SIZE:
        raise ValueError(f"size: expected an integer >= {MIN_SIZE} (pixels), found {size!r}")
    return int(size)


def _check_margin(margin: object) -> float:
    if (
        not isinstance(margin, Real)
        or isinstance(margin, bool)
        or not math.isfinite(float(margin))
        or margin < 1
    ):
        raise ValueError(f"margin: expected a finite number >= 1, found {margin!r}")
    return float(margin)


def _check_landmarks(landmarks: object) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (NUM_POINTS, 2):
        raise ValueError(
            f"landmarks: expected {NUM_POINTS} points (x, y) of shape ({NUM_POINTS}, 2), "
            f"found shape {points.shape}"
        )
    if not np.isfinite(points).all():
        raise ValueError(f"landmarks: expected finite coordinates, found {points.tolist()}")
    return points


def destination_points(size: int = DEFAULT_SIZE, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """(5, 2) float64: where the 5 landmarks land in a ``size`` x ``size`` crop."""
    size, margin = _check_size(size), _check_margin(margin)
    dst = _arcface_template() * (size / ARCFACE_SIZE)
    pad = size * (margin - 1.0) / 2.0
    return (dst + pad) * (size / (size + 2.0 * pad))


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    if hasattr(SimilarityTransform, "from_estimate"):  # skimage >= 0.26
        tform = SimilarityTransform.from_estimate(src, dst)
        ok = bool(tform)
    else:
        tform = SimilarityTransform()
        ok = bool(tform.estimate(src, dst))
    matrix = np.asarray(tform.params, dtype=np.float64)[:2] if ok else None
    if matrix is None or not np.isfinite(matrix).all():
        raise ValueError(
            f"landmarks: expected 5 distinct points a similarity transform can map onto the "
            f"template, found {src.tolist()}"
        )
    return matrix


def alignment_matrix(
    landmarks: np.ndarray, size: int = DEFAULT_SIZE, margin: float = DEFAULT_MARGIN
) -> np.ndarray:
    """(2, 3) float64 similarity matrix taking image pixels to crop pixels."""
    points = _check_landmarks(landmarks)
    return _similarity(points, destination_points(size, margin))


def aligned_crop(
    image_bgr: np.ndarray,
    landmarks: np.ndarray,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """The ``size`` x ``size`` x 3 crop of ``image_bgr`` (H, W, 3) aligned on ``landmarks``
    (5, 2) in that image's pixels; same dtype as the image, black where it leaves the image."""
    image = np.asarray(image_bgr)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image: expected a BGR image of shape (H, W, 3), found {image.shape}")
    matrix = alignment_matrix(landmarks, size, margin)
    size = int(size)
    return cv2.warpAffine(
        image,
        matrix,
        (size, size),
        flags=INTERPOLATION,
        borderMode=BORDER_MODE,
        borderValue=(BORDER_VALUE,) * 3,
    )
