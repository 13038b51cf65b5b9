"""PyAV decoding: frames from 1, statuses of bad files, truncated files, wanted subsets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from rf_models.video.decode import FrameReader, VideoError, probe_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory, write_video, noise_frames, colour_frames) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("decode")
    out = {
        "good": write_video(root / "good.mp4", colour_frames),
        "noise": write_video(root / "noise.mp4", noise_frames),
        "faststart": write_video(root / "faststart.mp4", noise_frames, faststart=True),
    }
    for name, source in (("cut_faststart", "faststart"), ("cut_moov_at_end", "noise")):
        data = out[source].read_bytes()
        out[name] = root / f"{name}.mp4"
        out[name].write_bytes(data[: int(len(data) * 0.8)])  # the last 20% lost
    out["empty"] = root / "empty.mp4"
    out["empty"].write_bytes(b"")
    out["garbage"] = root / "garbage.mp4"
    out["garbage"].write_bytes(np.random.default_rng(1).bytes(5000))
    out["audio_only"] = root / "audio_only.mp4"
    with av.open(str(out["audio_only"]), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    out["missing"] = root / "missing.mp4"
    return out


def test_probe_good_video(videos) -> None:
    info = probe_video(videos["good"])
    assert (info.width, info.height, info.fps, info.declared_frames) == (64, 48, 30.0, 10)


def test_reads_every_frame_from_1_in_bgr(videos, colour_frames) -> None:
    reader = FrameReader(videos["good"])
    frames = list(reader)
    assert [index for index, _ in frames] == list(range(1, 11))
    assert reader.decoded == 10 and reader.error is None
    for (_, image), source in zip(frames, colour_frames, strict=True):
        assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - source.astype(int)).max() <= 4


def test_iterating_twice_restarts_the_count(videos) -> None:
    reader = FrameReader(videos["good"], wanted=[1, 2])
    assert [i for i, _ in reader] == [1, 2]
    assert [i for i, _ in reader] == [1, 2]
    assert reader.decoded == 2


@pytest.mark.parametrize(
    ("wanted", "indices", "decoded"),
    [
        ({2, 5}, [2, 5], 5),  # stops once the last wanted frame is out
        ([10, 3], [3, 10], 10),
        ((1,), [1], 1),
        ({3, 50}, [3], 10),
        ({0, 11}, [], 10),
        ({1: "a dict's keys", 4: "b"}, [1, 4], 4),
        (set(), [], 0),
    ],
)
def test_wanted_subset(videos, colour_frames, wanted, indices, decoded) -> None:
    reader = FrameReader(videos["good"], wanted=wanted)
    frames = list(reader)
    assert [index for index, _ in frames] == indices
    assert reader.decoded == decoded
    for index, image in frames:
        assert abs(int(image[..., 0].mean()) - int(colour_frames[index - 1][0, 0, 0])) <= 4


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("missing", "missing", "does not exist"),
        ("empty", "empty_file", "0 bytes"),
        ("garbage", "unreadable", "cannot open"),
        ("cut_moov_at_end", "unreadable", "cannot open"),
        ("audio_only", "unreadable", "no video stream"),
    ],
)
def test_bad_files_raise_video_error_with_status(videos, name, status, reason) -> None:
    for call in (probe_video, FrameReader):
        with pytest.raises(VideoError, match=reason) as err:
            call(videos[name])
        assert err.value.status == status
        assert reason in err.value.reason
        assert str(videos[name]) in str(err.value)


def test_file_removed_after_probe_raises_on_iteration(tmp_path, videos) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(videos["good"].read_bytes())
    reader = FrameReader(path)
    path.unlink()
    with pytest.raises(VideoError) as err:
        list(reader)
    assert err.value.status == "missing"


def test_truncated_near_the_end_decodes_some_frames(videos) -> None:
    assert [i for i, _ in FrameReader(videos["faststart"])] == list(range(1, 11))
    reader = FrameReader(videos["cut_faststart"])
    assert reader.info.declared_frames == 10  # the moov atom at the front survived the cut
    indices = [index for index, _ in reader]
    assert 1 <= len(indices) < 10
    assert indices == list(range(1, len(indices) + 1))
    assert reader.decoded == len(indices)
