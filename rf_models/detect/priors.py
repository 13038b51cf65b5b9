"""RetinaFace anchors ("priors") for a network input of a given size."""

from __future__ import annotations

from functools import lru_cache
from math import ceil

import numpy as np

STEPS: tuple[int, ...] = (8, 16, 32)
MIN_SIZES: tuple[tuple[int, ...], ...] = ((16, 32), (64, 128), (256, 512))


def feature_map_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """(rows, cols) of each pyramid level: ceil(size / stride)."""
    return [(ceil(height / step), ceil(width / step)) for step in STEPS]


@lru_cache(maxsize=32)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """Anchors (N, 4) float32 as (cx, cy, w, h), relative to the input width/height.

    Order: level (stride 8, 16, 32), then row i, column j, anchor size; centre
    ((j + 0.5) * step / W, (i + 0.5) * step / H), size (min_size / W, min_size / H);
    no clipping. Computed in float64 and rounded once, as the reference does.
    The returned array is cached per size and read-only.
    """
    if int(height) != height or int(width) != width or height < 1 or width < 1:
        raise ValueError(
            f"prior_boxes: expected positive integer height/width, got {height}x{width}"
        )
    levels = []
    for (rows, cols), step, sizes in zip(
        feature_map_sizes(height, width), STEPS, MIN_SIZES, strict=True
    ):
        cx = (np.arange(cols, dtype=np.float64) + 0.5) * step / width
        cy = (np.arange(rows, dtype=np.float64) + 0.5) * step / height
        n_sizes = len(sizes)
        level = np.empty((rows, cols, n_sizes, 4), dtype=np.float64)
        level[..., 0] = cx[None, :, None]
        level[..., 1] = cy[:, None, None]
        level[..., 2] = np.asarray(sizes, dtype=np.float64) / width
        level[..., 3] = np.asarray(sizes, dtype=np.float64) / height
        levels.append(level.reshape(-1, 4))
    priors = np.concatenate(levels).astype(np.float32)
    priors.flags.writeable = False
    return priors
