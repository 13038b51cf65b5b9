"""Fixtures every test directory shares: repository paths, ../shared, and small videos.

Helpers live in the ``tests.support`` package and are imported from there, one way
(``from tests.support.<module> import ...``); the tests' tiny networks are registered here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support.tiny_models import register_tiny_archs
from tests.support.videos import write_test_video

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

register_tiny_archs()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout; tests that need it skip cleanly without it."""
    if not (SHARED / "docs").is_dir():
        pytest.skip(f"{SHARED} not found (../shared is only beside the checkout in CI)")
    return SHARED


@pytest.fixture(scope="session")
def write_video() -> Callable[..., Path]:
    return write_test_video


@pytest.fixture(scope="session")
def noise_frames() -> list[np.ndarray]:
    """Ten 64x48 frames of noise: every frame costs many bytes, so a cut file loses frames."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(10)]


@pytest.fixture(scope="session")
def colour_frames() -> list[np.ndarray]:
    """Ten flat 64x48 BGR frames, blue rising per frame, so order and channels can be checked."""
    return [np.full((48, 64, 3), (20 * i + 30, 90, 220), dtype=np.uint8) for i in range(10)]


@pytest.fixture(scope="session")
def t1_image() -> np.ndarray:
    """insightface's group photo (886x1280 BGR): six faces at RetinaFace score >= 0.8."""
    insightface = pytest.importorskip("insightface")
    path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    assert image is not None, f"could not read {path}"
    return image


@pytest.fixture(scope="session")
def face_frames(t1_image: np.ndarray) -> list[np.ndarray]:
    """Ten 640x360 frames: insightface's t1.jpg (six faces) on grey, 3 px further right each."""
    photo = cv2.resize(t1_image, (520, 360), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(10):
        frame = np.full((360, 640, 3), 128, dtype=np.uint8)
        frame[:, 40 + 3 * i : 560 + 3 * i] = photo
        frames.append(frame)
    return frames
