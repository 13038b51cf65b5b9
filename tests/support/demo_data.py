"""Helpers shared by the demo-data tests."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

# Two parts hold all eight awkward cases (four each) plus one REAL and one FAKE: 6 slots.
TINY = dict(
    n_parts=2,
    videos_per_part=6,
    seed=3,
    width=128,
    height=96,
    fps=5,
    min_seconds=0.4,
    max_seconds=0.8,
)


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame of ``path`` as RGB; raises what PyAV raises on a broken file."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
