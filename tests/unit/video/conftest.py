"""Tiny H.264 videos written with PyAV for the decoding tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.videos import write_test_video

_write_video = write_test_video


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
