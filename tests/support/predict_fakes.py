"""Stand-ins for predict's tests: videos with faces or none, models with a fixed logit, a
detector with fixed boxes, and the policy of one image and one video model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from scipy.special import expit

from rf_models.demo.mp4 import write_mp4
from tests.support.seed_config import policy_config

GOOD, NO_FACE, CORRUPT, EMPTY = "a_good.mp4", "b_noface.mp4", "c_corrupt.mp4", "d_empty.mp4"
GOOD_FRAMES = 30
# One image and one video model, so both input kinds go through the ensemble.
POLICY_CFG = policy_config(
    groups={
        "video": {"input": "clip", "weight": 0.4, "models": {"sf": 10}},
        "image": {"input": "frames", "weight": 0.6, "models": {"b0": 7}},
    },
    shrink={"models": []},
)


def t1_frames(n: int) -> list[np.ndarray]:
    """insightface's six-face photo at 448x310 on a grey 480x336 canvas, moving 1 px per frame
    right and 1 px every other frame down (BGR)."""
    insightface = pytest.importorskip("insightface")
    path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
    photo = cv2.imread(path, cv2.IMREAD_COLOR)
    assert photo is not None, f"could not read {path}"
    small = cv2.resize(photo, (448, 310), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        canvas = np.full((336, 480, 3), 96, np.uint8)
        canvas[i // 2 : i // 2 + 310, i : i + 448] = small
        frames.append(canvas)
    return frames


def write_bgr(path: Path, frames: list[np.ndarray], fps: int = 20) -> Path:
    write_mp4(path, [f[..., ::-1] for f in frames], fps=fps)
    return path


def write_awkward_folder(root: Path) -> Path:
    """Four videos (good, no face, truncated, zero bytes) and two files that are not videos."""
    good = write_bgr(root / GOOD, t1_frames(GOOD_FRAMES))
    write_bgr(root / NO_FACE, [np.full((96, 128, 3), (40, 160, 90), np.uint8)] * 12)
    (root / CORRUPT).write_bytes(good.read_bytes()[:1000])
    (root / EMPTY).write_bytes(b"")
    (root / "notes.txt").write_text("not a video\n")
    (root / "sub.mp4").mkdir()
    return root


@dataclass
class StandIn:
    """A model as scoring sees it: a name, a kind, an input side, and (here) a fixed
    FAKE-minus-REAL logit. ``calls`` holds each face's crops as the model got them,
    ``invocations`` the number of calls (one per video: every face in one batch)."""

    name: str
    kind: str
    logit: float
    side: int = 32
    calls: list[list[np.ndarray]] = field(default_factory=list)
    invocations: int = 0

    @property
    def cfg(self) -> SimpleNamespace:
        return SimpleNamespace(kind=self.kind, input_size=self.side, infer_size=None)


def stand_in_image(lm: StandIn, faces):
    lm.invocations += 1
    lm.calls.extend(list(crops) for crops in faces)
    return [np.tile([0.0, lm.logit], (len(crops), 1)) for crops in faces]


def stand_in_video(lm: StandIn, faces):
    lm.invocations += 1
    lm.calls.extend(list(crops) for crops in faces)
    return np.tile([0.0, lm.logit], (len(faces), 1))


def stand_ins() -> list[StandIn]:
    return [StandIn("b0", "image", 2.0), StandIn("sf", "video", -1.0)]


STAND_IN_SCORE = 0.4 * expit(-1.0) + 0.6 * expit(2.0)


class FakeDetector:
    """Three faces side by side in every frame (plus one below the 0.8 threshold); records the
    number of frames it saw."""

    def __init__(self) -> None:
        self.frames = 0

    def detect_preprocessed(self, batch: np.ndarray, orig_size: tuple[int, int]):
        self.frames += len(batch)
        boxes = np.array(
            [
                [2.7, 2.2, 14.9, 14.5, 0.99],
                [20.0, 2.0, 32.0, 14.0, 0.9],
                [40.0, 2.0, 52.0, 14.0, 0.85],
                [20.0, 30.0, 32.0, 42.0, 0.5],
            ],
            dtype=np.float32,
        )
        return [boxes.copy() for _ in batch]


def flat_value(frame: int) -> int:
    """Grey level of frame ``frame`` (from 1) of :func:`flat_video`."""
    return 10 + (frame - 1) % 200


def flat_video(path: Path, n: int, fps: int = 30) -> Path:
    """64x48 flat grey frames, a different level per frame."""
    frames = [np.full((48, 64, 3), flat_value(i), np.uint8) for i in range(1, n + 1)]
    return write_bgr(path, frames, fps)
