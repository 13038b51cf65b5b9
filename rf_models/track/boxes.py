"""Face boxes and crop boxes (docs/reproduction.md §4, steps 1, 2 and 6)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

Box = tuple[int, int, int, int]
"""Integer corners (x1, y1, x2, y2) of a detected face."""

SCORE_THRESHOLD = 0.8
CROP_SCALE = 1.3


def as_box(value: Sequence[object], where: str = "box") -> Box:
    """Check that `value` is four integers (x1, y1, x2, y2) with x1 <= x2, y1 <= y2."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(f"{where}: expected 4 integer corners (x1, y1, x2, y2), found {value!r}")
    items = list(value)
    if len(items) != 4 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) for v in items
    ):
        raise ValueError(f"{where}: expected 4 integer corners (x1, y1, x2, y2), found {value!r}")
    x1, y1, x2, y2 = (int(v) for v in items)
    if x2 < x1 or y2 < y1:
        raise ValueError(f"{where}: expected x1 <= x2 and y1 <= y2, found {(x1, y1, x2, y2)}")
    return (x1, y1, x2, y2)


def boxes_from_txt_rows(
    rows: np.ndarray | Sequence[Sequence[float]], score_threshold: float = SCORE_THRESHOLD
) -> list[Box]:
    """Corners of the rows `x y w h score` whose score is >= `score_threshold`, in row order.

    `rows` is what a RetinaFace txt holds after its count line: shape (n, 5), integer
    x, y, w, h and a float score. A box becomes (x, y, x + w, y + h).
    """
    table = np.asarray(rows, dtype=np.float64)
    if table.size == 0:
        return []
    if table.ndim != 2 or table.shape[1] != 5:
        raise ValueError(
            f"detection rows: expected shape (n, 5) [x, y, w, h, score], found {table.shape}"
        )
    if not np.isfinite(table).all():
        raise ValueError("detection rows: expected finite numbers, found NaN or infinity")
    coords = table[:, :4]
    if not (coords == np.round(coords)).all():
        raise ValueError("detection rows: expected integer x, y, w, h, found fractional values")
    if (coords[:, 2:] < 0).any():
        raise ValueError("detection rows: expected w >= 0 and h >= 0, found a negative size")
    boxes: list[Box] = []
    for x, y, w, h, score in table:
        if score >= score_threshold:
            boxes.append((int(x), int(y), int(x + w), int(y + h)))
    return boxes


def iou_inclusive(a: Box, b: Box) -> float:
    """IoU with inclusive pixel coordinates (+1 on widths and heights), union clamped to >= 1."""
    area_a = (a[2] - a[0] + 1) * (a[3] - a[1] + 1)
    area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    inter_w = max(min(a[2], b[2]) - max(a[0], b[0]) + 1, 0)
    inter_h = max(min(a[3], b[3]) - max(a[1], b[1]) + 1, 0)
    inter = inter_w * inter_h
    return inter / max(area_a + area_b - inter, 1)


def _box_centre(box: Box) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def crop_box_of(
    box: Box, width: int, height: int, scale: float = CROP_SCALE
) -> tuple[int, int, int]:
    """(left, top, size) of a single box's crop: the box grown by `scale`, clamped to the frame.

    The size may end up <= 0 for a box lying outside the frame, as in the seed.
    """
    size = int(max(box[2] - box[0], box[3] - box[1]) * scale)
    cx, cy = _box_centre(box)
    left = max(int(cx - size // 2), 0)
    top = max(int(cy - size // 2), 0)
    size = min(size, width - left, height - top)
    return left, top, size


def crop_size_of(box: Box, width: int, height: int, scale: float = CROP_SCALE) -> int:
    """Crop size of a single box (section 4 step 2), after the min(size, W-left, H-top) clamp."""
    return crop_box_of(box, width, height, scale)[2]


def tube_crop_size(sizes: Sequence[int], width: int, height: int) -> int:
    """A tube's square size: the largest per-frame size, rounded down to even, capped at min(W, H).

    Starts from 0 like the seed, so all-negative sizes give 0 (nothing can be cropped).
    """
    largest = max([0, *sizes])
    return min(largest // 2 * 2, width, height)


def square_crop_origin(box: Box, size: int, width: int, height: int) -> tuple[int, int]:
    """(left, top) of a `size` square centred on the box centre, shifted inside the frame."""
    cx, cy = _box_centre(box)
    left = min(max(int(cx - size // 2), 0), width - size)
    top = min(max(int(cy - size // 2), 0), height - size)
    return left, top


def check_frame_size(width: object, height: object) -> tuple[int, int]:
    """Check a frame size is two positive integers."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"frame {name}: expected a positive integer, found {value!r}")
    return int(width), int(height)  # type: ignore[arg-type]


def check_positive_real(name: str, value: object) -> float:
    """Check a parameter is a finite number > 0."""
    if (
        not isinstance(value, Real)
        or isinstance(value, bool)
        or not math.isfinite(float(value))
        or value <= 0
    ):
        raise ValueError(f"{name}: expected a finite number > 0, found {value!r}")
    return float(value)
