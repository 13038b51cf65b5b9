"""sample_frames: every ceil(n / 160)-th frame from 1 (docs/reproduction.md §4)."""

from __future__ import annotations

import numpy as np
import pytest

from rf_models.infer.sampling import sample_frames


def test_300_frames_give_150():
    frames = sample_frames(300)
    assert len(frames) == 150
    assert frames[:3] == [1, 3, 5] and frames[-1] == 299


def test_short_video_keeps_every_frame():
    assert sample_frames(10) == list(range(1, 11))
    assert sample_frames(160) == list(range(1, 161))


def test_161_frames_every_second():
    assert sample_frames(161) == list(range(1, 162, 2))


def test_never_more_than_max_frames():
    for n in (1, 159, 320, 321, 479, 480, 481, 1000):
        frames = sample_frames(n)
        assert 0 < len(frames) <= 160 and frames[0] == 1 and frames[-1] <= n
    assert sample_frames(100, max_frames=35) == list(range(1, 101, 3))


def test_no_frames():
    assert sample_frames(0) == []


def test_frame_stride_samples_frames_that_have_crops():
    # crops of frames 1, 3, 5, ... only: every sampled frame is one of them
    assert sample_frames(300, frame_stride=2) == list(range(1, 301, 2))
    frames = sample_frames(1000, frame_stride=3)
    assert all((f - 1) % 3 == 0 for f in frames) and len(frames) <= 160


@pytest.mark.parametrize(
    "args", [(-1,), (10.0,), (True,), (10, 0), (10, 1.5), (10, 160, 0), (10, 160, False)]
)
def test_bad_inputs(args):
    with pytest.raises(ValueError, match="must be an integer"):
        sample_frames(*args)


def test_even_spacing_is_deepfakebench_linspace_from_first_to_last_frame():
    frames = sample_frames(300, 32, spacing="even")
    assert frames == (np.linspace(0, 299, 32, endpoint=True).astype(int) + 1).tolist()
    assert frames[0] == 1 and frames[-1] == 300 and len(frames) == 32
    # a video with fewer frames than asked gives each frame once
    assert sample_frames(20, 32, spacing="even") == list(range(1, 21))
    # over the frames that have crops (frames.stride 2): the first and last of those
    assert sample_frames(31, 4, 2, spacing="even") == [1, 11, 21, 31]
    assert sample_frames(0, 32, spacing="even") == []


def test_unknown_spacing_is_refused():
    with pytest.raises(ValueError, match="spacing must be one of"):
        sample_frames(10, 4, spacing="random")
