"""Video compression (VC) and frame streaming: the libx264 settings actually used, frame
counts, sizes and indices kept, streaming, and the whole-file ffmpeg re-encode."""

from __future__ import annotations

import itertools
import re
import shutil
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from rf_models.perturb.distortions import apply_frame
from rf_models.perturb.protocol import PARAMETERS, Perturbation, perturbation_rng
from rf_models.perturb.video import (
    compress_video,
    decode_h264,
    encode_h264,
    h264_round_trip,
    perturb_frames,
)


def _clip(count: int = 12, height: int = 96, width: int = 128) -> list[np.ndarray]:
    """A textured picture drifting right: detail for the encoder to lose at high CRF."""
    base = np.random.default_rng(0).integers(0, 256, (height, width + 4 * count, 3), np.uint8)
    base = cv2.GaussianBlur(base, (5, 5), 1.0)
    return [np.ascontiguousarray(base[:, 4 * i : 4 * i + width]) for i in range(count)]


def _settings(packets: list[av.Packet]) -> bytes:
    found = re.search(rb"x264 - core [^\x00]*", bytes(packets[0]))
    assert found is not None, "no x264 settings SEI in the first packet"
    return found.group(0)


@pytest.mark.parametrize("level", [1, 5])
def test_encoder_settings_carry_the_level_crf(level):
    crf = PARAMETERS["VC"][level - 1]
    packets = list(encode_h264(_clip(4, 256, 256), crf, 30))
    settings = _settings(packets)
    assert f" crf={crf}.0 ".encode() in settings
    # ffmpeg's libx264 defaults (preset medium), as the source's plain `-crf` command
    assert b" subme=7 " in settings and b" ref=3 " in settings and b" bframes=3 " in settings
    # a fixed thread count, not the machine's (x264 takes fewer on frames under ~128 px)
    assert b" threads=4 " in settings


def test_stream_size_falls_with_each_level():
    clip = _clip()
    sizes = [sum(len(bytes(p)) for p in encode_h264(clip, crf, 30)) for crf in PARAMETERS["VC"]]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 5


def test_encoding_is_deterministic():
    clip = _clip(6)
    first = [bytes(p) for p in encode_h264(clip, 35, 30)]
    assert first == [bytes(p) for p in encode_h264(clip, 35, 30)]


def test_decode_gives_every_frame_back_in_order():
    clip = _clip(10)
    decoded = list(decode_h264(encode_h264(clip, 30, Fraction(30000, 1001))))
    assert len(decoded) == 10 and all(f.shape == (96, 128, 3) for f in decoded)
    # each decoded frame is nearest to its own source frame: order kept through B-frames
    for i, frame in enumerate(decoded):
        errors = [np.abs(frame.astype(int) - c.astype(int)).mean() for c in clip]
        assert int(np.argmin(errors)) == i


def test_vc_error_grows_with_level():
    clip = _clip()
    errors = []
    for level in (1, 3, 5):
        out = list(perturb_frames(enumerate(clip), Perturbation("VC", level), fps=30))
        pairs = zip(out, clip, strict=True)
        errors.append(np.mean([np.abs(o.astype(int) - c).mean() for (_, o), c in pairs]))
    assert errors[0] < errors[1] < errors[2]
    assert errors[0] > 0.5  # it did compress


def test_vc_keeps_sparse_indices_and_sizes():
    clip = _clip(8)
    indices = [3, 7, 10, 42, 43, 100, 101, 250]
    out = list(perturb_frames(zip(indices, clip, strict=True), Perturbation("VC", 2), fps=29.97))
    assert [i for i, _ in out] == indices
    assert all(f.shape == (96, 128, 3) and f.dtype == np.uint8 for _, f in out)


def test_vc_odd_sizes_come_back_at_their_size():
    clip = [np.ascontiguousarray(f[:33, :47]) for f in _clip(5)]
    out = list(h264_round_trip(clip, 30, 25))
    assert [f.shape for f in out] == [(33, 47, 3)] * 5
    assert all(f.flags.c_contiguous for f in out)
    assert np.abs(out[2].astype(int) - clip[2]).mean() < 20


def test_vc_streams_without_reading_the_whole_clip():
    pulled = 0

    def endless():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield i, np.full((32, 32, 3), i % 256, np.uint8)

    first = next(perturb_frames(endless(), Perturbation("VC", 1), fps=30))
    assert first[0] == 0
    assert pulled < 100  # the encoder's look-ahead, not the (endless) clip


def test_per_frame_types_stream_and_match_apply_frame():
    clip = _clip(4, 300, 300)
    p = Perturbation("BW", 3)
    out = list(
        perturb_frames(zip([5, 9, 11, 20], clip, strict=True), p, perturbation_rng(0, "v", p))
    )
    rng = perturbation_rng(0, "v", p)
    assert [i for i, _ in out] == [5, 9, 11, 20]
    for (_, frame), source in zip(out, clip, strict=True):
        assert np.array_equal(frame, apply_frame(source, p, rng))
    lazy = perturb_frames(((i, clip[0]) for i in itertools.count()), Perturbation("GB", 1))
    assert [i for i, _ in itertools.islice(lazy, 3)] == [0, 1, 2]


def test_stream_errors():
    clip = _clip(3)
    with pytest.raises(ValueError, match="VC1 re-encodes the clip: expected its fps"):
        perturb_frames(enumerate(clip), Perturbation("VC", 1))
    with pytest.raises(TypeError, match="BW1 is random"):
        perturb_frames(enumerate(clip), Perturbation("BW", 1))
    with pytest.raises(TypeError, match="expected a Perturbation"):
        perturb_frames(enumerate(clip), "VC1", fps=30)
    with pytest.raises(ValueError, match="positive, finite frame rate"):
        perturb_frames(enumerate(clip), Perturbation("VC", 1), fps=0)
    with pytest.raises(ValueError, match="CRF in 0..51, got 60"):
        encode_h264(clip, 60, 30)
    mixed = [clip[0], np.ascontiguousarray(clip[1][:64])]
    with pytest.raises(ValueError, match="every frame at 96x128, got 64x128"):
        list(h264_round_trip(mixed, 30, 30))
    with pytest.raises(ValueError, match="even frame sizes"):
        list(encode_h264([np.zeros((33, 48, 3), np.uint8)], 30, 30))
    with pytest.raises(TypeError, match="uint8 BGR frame"):
        list(h264_round_trip([np.zeros((32, 32, 3), np.float64)], 30, 30))


def test_empty_clip_gives_nothing():
    assert list(perturb_frames(iter(()), Perturbation("VC", 5), fps=30)) == []


# ---- compress_video ----------------------------------------------------------------------

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg on PATH")


def write_test_video(path, frames: list[np.ndarray], fps: int = 30):
    """An mp4 of BGR frames, near-lossless libx264 (the input the re-encode starts from)."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "10"}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


def _read(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@needs_ffmpeg
def test_compress_video_reencodes_the_file_at_the_crf(tmp_path):
    source = write_test_video(tmp_path / "in.mp4", _clip(), fps=25)
    sizes = []
    for crf in (30, 40):
        out = compress_video(source, tmp_path / f"out{crf}.mp4", crf)
        data = out.read_bytes()
        assert f" crf={crf}.0 ".encode() in data
        sizes.append(len(data))
        frames = _read(out)
        assert len(frames) == 12 and frames[0].shape == (96, 128, 3)
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert stream.average_rate == 25
            assert not container.streams.audio
    assert sizes[1] < sizes[0]


@needs_ffmpeg
def test_compress_video_errors(tmp_path):
    source = write_test_video(tmp_path / "in.mp4", _clip(3))
    with pytest.raises(FileNotFoundError, match="expected an input video file"):
        compress_video(tmp_path / "missing.mp4", tmp_path / "o.mp4", 30)
    with pytest.raises(ValueError, match="different input and output paths"):
        compress_video(source, tmp_path / "." / "in.mp4", 30)
    with pytest.raises(ValueError, match="CRF in 0..51"):
        compress_video(source, tmp_path / "o.mp4", 52)
    with pytest.raises(FileNotFoundError, match="ffmpeg executable 'no-such-ffmpeg'"):
        compress_video(source, tmp_path / "o.mp4", 30, ffmpeg="no-such-ffmpeg")
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(RuntimeError, match="ffmpeg exited with"):
        compress_video(tmp_path / "bad.mp4", tmp_path / "o.mp4", 30)
