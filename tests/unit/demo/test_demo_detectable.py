"""The project's RetinaFace finds the demo's faces: one per ordinary video, none, or two."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rf_models.detect import RetinaFaceDetector
from tests.support.demo_data import decode_all

SCORE = 0.8  # the tracking threshold (docs/reproduction.md §4)


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    torch.set_num_threads(1)
    return RetinaFaceDetector(backend="torch", device="cpu", threads=1)


def test_every_frame_shows_the_planned_number_of_faces(tiny_demo, detector):
    checked = 0
    for video in tiny_demo.videos:
        if video.decodable != "full" or video.width == 1920 or video.height == 1920:
            continue
        frames = np.stack([f[..., ::-1] for f in decode_all(tiny_demo.root / video.relpath)])
        boxes = detector.detect(frames, frames.shape[1:3])
        counts = [int((b[:, 4] >= SCORE).sum()) for b in boxes]
        assert counts == [video.n_faces] * len(frames), (video.relpath, video.case, counts)
        checked += 1
    assert checked == 7
