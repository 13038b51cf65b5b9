"""PyAV decoding: frames from 1, statuses of bad files, truncated files, wanted subsets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from rf_models.video.decode import FrameReader, VideoError, probe_video, quarter_turns
from tests.support.videos import write_test_video


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


# -- display rotation (phone videos) --------------------------------------------------------


def _marked_frames() -> list[np.ndarray]:
    """Three 64x48 frames with a red block in the top-left corner: any turn moves it."""
    frames = []
    for i in range(3):
        image = np.full((48, 64, 3), 40 + 10 * i, np.uint8)
        image[:12, :20] = (0, 0, 255)
        frames.append(image)
    return frames


@pytest.mark.parametrize(
    ("rotation", "turns", "size"), [(90, 1, (48, 64)), (-90, 3, (48, 64)), (180, 2, (64, 48))]
)
def test_display_rotation_is_applied_to_frames_and_sizes(tmp_path, rotation, turns, size) -> None:
    frames = _marked_frames()
    path = write_test_video(tmp_path / "phone.mp4", frames, rotation=rotation)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (*size, (rotation % 360))
    decoded = list(FrameReader(path))
    assert [i for i, _ in decoded] == [1, 2, 3]
    for (_, image), source in zip(decoded, frames, strict=True):
        assert image.shape == (size[1], size[0], 3) and image.flags.c_contiguous
        expected = np.rot90(source, turns)
        # the red block is where the turned source has it (H.264 blurs colour edges a little)
        red = (image[..., 2] > 160) & (image[..., 0] < 100)
        assert np.array_equal(red, expected[..., 2] == 255)
        assert np.abs(image.astype(int) - expected.astype(int)).mean() < 6


def test_unrotated_video_reports_rotation_0(videos) -> None:
    assert probe_video(videos["good"]).rotation == 0


@pytest.mark.parametrize(("angle", "turns"), [(0, 0), (90, 1), (-90, 3), (-180, 2), (270, 3)])
def test_quarter_turns(angle, turns) -> None:
    assert quarter_turns(angle) == turns
    assert quarter_turns(angle + 1.4) == turns  # odd angles go to the nearest quarter turn


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
@pytest.mark.parametrize("tag", ["90", "180", "270"])
def test_rotation_matches_the_ffmpeg_command_line(tmp_path, tag) -> None:
    # the tag the phone video had, written by ffmpeg itself; ffmpeg's CLI output is
    # the reference (it is what the seed extracted frames with)
    plain = write_test_video(tmp_path / "plain.mp4", _marked_frames())
    tagged = tmp_path / f"rot{tag}.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(plain), "-c", "copy"]
        + ["-metadata:s:v:0", f"rotate={tag}", str(tagged)],
        check=True,
    )
    info = probe_video(tagged)
    raw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(tagged), "-f", "rawvideo", "-pix_fmt", "bgr24"]
        + ["-"],
        check=True,
        capture_output=True,
    ).stdout
    reference = np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)
    ours = np.stack([image for _, image in FrameReader(tagged)])
    assert ours.shape == reference.shape
    assert np.abs(ours.astype(int) - reference.astype(int)).mean() < 2
