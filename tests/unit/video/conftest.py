"""Tiny H.264 videos written with PyAV for the decoding tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import pytest


def _write_video(
    path: Path, frames: Sequence[np.ndarray], fps: int = 30, faststart: bool = False
) -> Path:
    """Encode BGR frames with libx264 into an mp4; ``faststart`` puts the moov atom first."""
    height, width = frames[0].shape[:2]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def write_video() -> Callable[..., Path]:
    return _write_video


@pytest.fixture(scope="session")
def noise_frames() -> list[np.ndarray]:
    """Ten 64x48 frames of noise: every frame costs many bytes, so a cut file loses frames."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(10)]


@pytest.fixture(scope="session")
def colour_frames() -> list[np.ndarray]:
    """Ten flat 64x48 BGR frames, blue rising per frame, so order and channels can be checked."""
    return [np.full((48, 64, 3), (20 * i + 30, 90, 220), dtype=np.uint8) for i in range(10)]
