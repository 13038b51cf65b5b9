"""Which frames of a video inference scores (docs/reproduction.md §4, inference paragraph).

Two protocols: the seed's (``stride``: every ceil(n / max_frames)-th frame, at most 160) and
DeepfakeBench's (``even``: ``max_frames`` frames evenly spaced from the first to the last,
32 by default there). Train/test sampling should match; the evaluation protocol is a knob.
"""

from __future__ import annotations

import math

import numpy as np

MAX_FRAMES = 160
SPACINGS = ("stride", "even")


def _positive_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, found {value!r}")
    return value


def sample_frames(
    n_frames: int, max_frames: int = MAX_FRAMES, frame_stride: int = 1, spacing: str = "stride"
) -> list[int]:
    """1-based frame numbers to score. ``stride`` (the seed's): every ``ceil(n /
    max_frames)``-th frame from frame 1, so at most ``max_frames`` (150 of a 300-frame video).
    ``even`` (DeepfakeBench's ``np.linspace(0, n - 1, max_frames)``): ``max_frames`` frames
    evenly spaced from the first to the last, each taken once (a video shorter than that
    gives all its frames).

    ``frame_stride`` > 1 is for crops made from every ``frame_stride``-th frame only
    (``frames.stride``): the sampling then runs over those frames (1, 1 + k, ...), so every
    sampled frame has a crop.
    """
    _positive_int(n_frames, "n_frames", 0)
    _positive_int(max_frames, "max_frames", 1)
    _positive_int(frame_stride, "frame_stride", 1)
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, found {spacing!r}")
    available = range(1, n_frames + 1, frame_stride)
    if not available:
        return []
    if spacing == "stride":
        return list(available[:: math.ceil(len(available) / max_frames)])
    picks = np.linspace(0, len(available) - 1, max_frames, endpoint=True).astype(int)
    return [available[i] for i in dict.fromkeys(picks.tolist())]
