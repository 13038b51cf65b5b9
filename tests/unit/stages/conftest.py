"""Tiny DFDC-like parts for the stage tests: H.264 videos written with PyAV, t1.jpg faces."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.videos import write_test_video


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # The test machine is shared: keep PyTorch to one thread.
    torch.set_num_threads(1)


_write_video = write_test_video


def _write_metadata(part: Path, labels: dict[str, str]) -> None:
    meta = {
        name: {"label": label, "split": "train"}
        | ({"original": "o.mp4"} if label == "FAKE" else {})
        for name, label in labels.items()
    }
    (part / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture(scope="session")
def write_video() -> Callable[..., Path]:
    return _write_video


@pytest.fixture(scope="session")
def write_metadata() -> Callable[[Path, dict[str, str]], None]:
    return _write_metadata


@pytest.fixture(scope="session")
def noise_frames() -> list[np.ndarray]:
    """Ten 64x48 frames of noise: every frame costs many bytes, so a cut file loses frames."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(10)]


@pytest.fixture(scope="session")
def face_frames() -> list[np.ndarray]:
    """Ten 640x360 frames: insightface's t1.jpg (six faces) on grey, 3 px further right each."""
    insightface = pytest.importorskip("insightface")
    path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
    photo = cv2.imread(path, cv2.IMREAD_COLOR)
    assert photo is not None, f"could not read {path}"
    photo = cv2.resize(photo, (520, 360), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(10):
        frame = np.full((360, 640, 3), 128, dtype=np.uint8)
        frame[:, 40 + 3 * i : 560 + 3 * i] = photo
        frames.append(frame)
    return frames
