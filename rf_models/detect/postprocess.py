"""RetinaFace post-processing: resize factor, box and landmark decoding, thresholding and NMS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VARIANCES: tuple[float, float] = (0.1, 0.2)


@dataclass(frozen=True)
class PostprocessConfig:
    """Thresholds of the reference detector (docs/reproduction.md §3)."""

    conf_threshold: float = 0.02
    nms_threshold: float = 0.4
    top_k: int = 5000
    keep_top_k: int = 750


DEFAULT_POSTPROCESS = PostprocessConfig()


def resize_factor(height: int, width: int, short_side: int = 400, max_side: int = 2150) -> float:
    """Scale that brings the short side to ``short_side``, unless the long side would
    then exceed ``max_side`` (after rounding), in which case the long side becomes ``max_side``."""
    if height < 1 or width < 1:
        raise ValueError(f"resize_factor: expected a positive image size, got {height}x{width}")
    size_min, size_max = min(height, width), max(height, width)
    factor = float(short_side) / float(size_min)
    if np.round(factor * size_max) > max_side:
        factor = float(max_side) / float(size_max)
    return factor


def resized_shape(height: int, width: int, factor: float) -> tuple[int, int]:
    """(height, width) that ``cv2.resize(fx=factor, fy=factor)`` produces (round half to even)."""
    return int(np.rint(height * factor)), int(np.rint(width * factor))


def decode_boxes(
    loc: np.ndarray, priors: np.ndarray, variances: tuple[float, float] = VARIANCES
) -> np.ndarray:
    """SSD centre-offset decoding to corners (x1, y1, x2, y2), relative to the input size.

    centre = prior_c + loc_c * v0 * prior_wh; size = prior_wh * exp(loc_wh * v1).
    """
    loc = np.asarray(loc, dtype=np.float32)
    priors = np.asarray(priors, dtype=np.float32)
    if loc.ndim != 2 or loc.shape[1] != 4 or priors.shape != loc.shape:
        raise ValueError(
            f"decode_boxes: expected loc and priors of one shape (N, 4), "
            f"got {loc.shape} and {priors.shape}"
        )
    v0, v1 = np.float32(variances[0]), np.float32(variances[1])
    centre = priors[:, :2] + loc[:, :2] * v0 * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[:, 2:] * v1)
    top_left = centre - size / np.float32(2)
    return np.concatenate([top_left, top_left + size], axis=1)


def nms(dets: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS over (N, 5) [x1, y1, x2, y2, score]; returns kept indices, best first.

    Boxes use the inclusive-pixel convention (width = x2 - x1 + 1). A box is
    suppressed when its IoU with a kept box is strictly greater than ``threshold``.
    Ties in score keep input order (stable sort), where the reference's unstable
    argsort was platform dependent.
    """
    dets = np.asarray(dets)
    if dets.ndim != 2 or dets.shape[1] != 5:
        raise ValueError(f"nms: expected dets of shape (N, 5), got {dets.shape}")
    x1, y1, x2, y2, scores = (dets[:, k] for k in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_landmarks(
    landms: np.ndarray, priors: np.ndarray, variances: tuple[float, float] = VARIANCES
) -> np.ndarray:
    """Decoding of the 5 landmarks to (N, 5, 2) points (x, y), relative to the input size.

    Per point, as the reference RetinaFace does: point = prior_c + landm * v0 * prior_wh
    (only the first variance is used; the points are left eye, right eye, nose, left and
    right mouth corner, "left" meaning the image's left).
    """
    landms = np.asarray(landms, dtype=np.float32)
    priors = np.asarray(priors, dtype=np.float32)
    if landms.ndim != 2 or landms.shape[1] != 10 or priors.shape != (landms.shape[0], 4):
        raise ValueError(
            f"decode_landmarks: expected landms (N, 10) and priors (N, 4), "
            f"got {landms.shape} and {priors.shape}"
        )
    v0 = np.float32(variances[0])
    offsets = landms.reshape(-1, 5, 2)
    # Same operation order as the box centres (offset * v0 * size), so float32 rounding
    # matches the reference's per-point decoding.
    return priors[:, None, :2] + offsets * v0 * priors[:, None, 2:]


def _kept_order(
    loc: np.ndarray,
    conf: np.ndarray,
    priors: np.ndarray,
    input_size: tuple[int, int],
    factor: float,
    config: PostprocessConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(dets, anchors): the final (n, 5) detections and the anchor index of each of them."""
    scores = np.asarray(conf)[:, 1]
    keep = np.flatnonzero(scores > config.conf_threshold)
    # Decoding is element-wise, so decoding only the kept anchors changes nothing.
    order = keep[np.argsort(-scores[keep], kind="stable")][: config.top_k]
    boxes = decode_boxes(np.asarray(loc)[order], np.asarray(priors)[order])
    height, width = input_size
    scale = np.array([width, height, width, height], dtype=np.float32)
    boxes = boxes * scale / np.float32(factor)
    dets = np.hstack([boxes, scores[order, None]]).astype(np.float32, copy=False)
    survivors = nms(dets, config.nms_threshold)[: config.keep_top_k]
    return dets[survivors], order[survivors]


def postprocess(
    loc: np.ndarray,
    conf: np.ndarray,
    priors: np.ndarray,
    input_size: tuple[int, int],
    factor: float,
    config: PostprocessConfig = DEFAULT_POSTPROCESS,
) -> np.ndarray:
    """One image's network outputs to (n, 5) float32 [x1, y1, x2, y2, score], best first.

    ``loc`` (N, 4) and ``conf`` (N, 2, softmaxed) come from the network run on an
    input of ``input_size`` = (height, width) that was the original image scaled by
    ``factor``; boxes are returned in original-image pixels.
    """
    return _kept_order(loc, conf, priors, input_size, factor, config)[0]


def postprocess_with_landmarks(
    loc: np.ndarray,
    conf: np.ndarray,
    landms: np.ndarray,
    priors: np.ndarray,
    input_size: tuple[int, int],
    factor: float,
    config: PostprocessConfig = DEFAULT_POSTPROCESS,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`postprocess`'s boxes (identical, bit for bit) and their (n, 5, 2) float32
    landmarks in original-image pixels: row k of the landmarks belongs to box k.

    ``landms`` (N, 10) is the network's landmark output for the same anchors.
    """
    landms = np.asarray(landms)
    if landms.shape != (np.shape(loc)[0], 10):
        raise ValueError(
            f"postprocess_with_landmarks: expected landms of shape ({np.shape(loc)[0]}, 10) "
            f"like loc {np.shape(loc)}, got {landms.shape}"
        )
    dets, anchors = _kept_order(loc, conf, priors, input_size, factor, config)
    points = decode_landmarks(landms[anchors], np.asarray(priors)[anchors])
    height, width = input_size
    scale = np.array([width, height], dtype=np.float32)
    return dets, (points * scale / np.float32(factor)).astype(np.float32, copy=False)
