"""Which frames of a video inference scores (docs/reproduction.md §4, inference paragraph)."""

from __future__ import annotations

import math

MAX_FRAMES = 160


def _positive_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, found {value!r}")
    return value


def sample_frames(n_frames: int, max_frames: int = MAX_FRAMES, frame_stride: int = 1) -> list[int]:
    """1-based frame numbers to score: every ``ceil(n / max_frames)``-th frame from frame 1,
    so at most ``max_frames`` (150 of a 300-frame video, as the seed).

    ``frame_stride`` > 1 is for crops made from every ``frame_stride``-th frame only
    (``frames.stride``): the sampling then runs over those frames (1, 1 + k, ...), so every
    sampled frame has a crop. With 1 it is the seed's rule.
    """
    _positive_int(n_frames, "n_frames", 0)
    _positive_int(max_frames, "max_frames", 1)
    _positive_int(frame_stride, "frame_stride", 1)
    available = range(1, n_frames + 1, frame_stride)
    if not available:
        return []
    return list(available[:: math.ceil(len(available) / max_frames)])
