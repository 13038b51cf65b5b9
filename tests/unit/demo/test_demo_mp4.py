"""write_mp4: reproducible H.264 files, written atomically, with checked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from rf_models.demo.mp4 import write_mp4
from tests.support.demo_data import decode_all


def frames(n: int = 6, h: int = 64, w: int = 96, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


def test_same_frames_same_bytes(tmp_path):
    clip = frames()
    assert write_mp4(tmp_path / "a.mp4", clip, fps=10) == 6
    write_mp4(tmp_path / "b.mp4", iter(clip), fps=10)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    decoded = decode_all(tmp_path / "a.mp4")
    assert len(decoded) == 6 and decoded[0].shape == (64, 96, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        ([], "no frames to encode"),
        ([np.zeros((63, 96, 3), np.uint8)], "even frame size"),
        ([np.zeros((64, 96, 3), np.float32)], "expected RGB uint8"),
        ([np.zeros((64, 96), np.uint8)], "expected RGB uint8"),
        ([np.zeros((64, 96, 3), np.uint8), np.zeros((64, 98, 3), np.uint8)], "frame 1 is 98x64"),
    ],
)
def test_bad_frames_raise_and_leave_nothing(tmp_path, clip, message):
    with pytest.raises(ValueError, match=message):
        write_mp4(tmp_path / "x.mp4", clip, fps=10)
    assert list(tmp_path.iterdir()) == []


def test_bad_fps(tmp_path):
    with pytest.raises(ValueError, match="fps must be a positive integer, got 0"):
        write_mp4(tmp_path / "x.mp4", frames(), fps=0)


def test_failure_keeps_an_existing_file(tmp_path):
    path = tmp_path / "v.mp4"
    write_mp4(path, frames(), fps=10)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_mp4(path, [*frames(2), np.zeros((64, 98, 3), np.uint8)], fps=10)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
