"""Clip-level perturbation: DeeperForensics-1.0's video compression (VC, H.264 at ``-crf
param``) as an in-memory libx264 round trip (:func:`encode_h264`, :func:`decode_h264`,
:func:`h264_round_trip`) and as a whole-file ffmpeg re-encode (:func:`compress_video`), and
:func:`perturb_frames`, which streams ``(index, frame)`` pairs through any of the seven types.

The source runs ``ffmpeg -i in -crf param -y out``: libx264 with its defaults (preset medium)
at that CRF. Here the encoder is named and the pixel format fixed to yuv420p (what ffmpeg
keeps for yuv420p input, as every DFDC video is), and x264 runs a fixed number of threads,
since its output depends on the thread count: the same input gives the same bytes on any
machine with the same x264 build. The in-memory path uses the x264 inside PyAV's wheel, the
file path the one of the ffmpeg on PATH; the two builds may differ.

In memory, frames go BGR -> yuv420p -> H.264 -> yuv420p -> BGR with PyAV's swscale
conversions (those the project's decoder uses), so even a lossless CRF would lose the
chroma detail that 4:2:0 cannot hold; a decoded video has already lost it.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections import deque
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from rf_models.perturb.distortions import apply_frame, check_frame
from rf_models.perturb.protocol import Perturbation

ENCODER = "libx264"
PIX_FMT = "yuv420p"
X264_THREADS = 4  # fixed, not "auto": x264's frame threading changes its output
CRF_RANGE = (0, 51)  # x264's 8-bit constant rate factors


def _check_crf(crf: object) -> int:
    if isinstance(crf, bool) or not isinstance(crf, int | np.integer):
        raise TypeError(f"expected an integer CRF, got {crf!r}")
    if not CRF_RANGE[0] <= crf <= CRF_RANGE[1]:
        raise ValueError(f"expected a CRF in {CRF_RANGE[0]}..{CRF_RANGE[1]}, got {crf}")
    return int(crf)


def _frame_rate(fps: object) -> Fraction:
    """``fps`` as a fraction (29.97002997 becomes 30000/1001)."""
    if isinstance(fps, bool) or not isinstance(
        fps, int | float | Fraction | np.integer | np.floating
    ):
        raise TypeError(f"expected the frame rate as a number, got {fps!r}")
    if not math.isfinite(float(fps)) or fps <= 0:
        raise ValueError(f"expected a positive, finite frame rate, got {fps!r}")
    if isinstance(fps, Fraction):
        return fps
    # floats such as 29.97002997 (PyAV's float(average_rate)) become 30000/1001
    return Fraction(float(fps)).limit_denominator(100_000)


def encode_h264(
    images: Iterable[np.ndarray], crf: int, fps: float | Fraction
) -> Iterator[av.Packet]:
    """H.264 packets of BGR uint8 frames (all one even size), libx264 at ``crf``, yuv420p,
    default preset, frame ``i`` at pts ``i`` in a time base of ``1 / fps``. The first packet
    carries x264's settings string (``crf=...``) in an SEI message."""
    return _encode(images, _check_crf(crf), _frame_rate(fps))


def _encode(images: Iterable[np.ndarray], crf: int, rate: Fraction) -> Iterator[av.Packet]:
    encoder = None
    for count, image in enumerate(images):
        check_frame(image)
        height, width = image.shape[:2]
        if encoder is None:
            if height % 2 or width % 2:
                raise ValueError(f"expected even frame sizes for {PIX_FMT}, got {height}x{width}")
            encoder = av.CodecContext.create(ENCODER, "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, PIX_FMT
            encoder.time_base = 1 / rate
            encoder.framerate = rate
            encoder.thread_count = X264_THREADS
            encoder.options = {"crf": str(crf)}
        elif (height, width) != (encoder.height, encoder.width):
            raise ValueError(
                f"expected every frame at {encoder.height}x{encoder.width}, "
                f"got {height}x{width} for frame {count}"
            )
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=PIX_FMT)
        frame.pts = count
        yield from encoder.encode(frame)
    if encoder is not None:
        yield from encoder.encode(None)  # flush the look-ahead and B-frame delay


def decode_h264(packets: Iterable[av.Packet]) -> Iterator[np.ndarray]:
    """BGR uint8 frames, in presentation order, decoded from H.264 packets."""
    decoder = av.CodecContext.create("h264", "r")
    for packet in packets:
        for frame in decoder.decode(packet):
            yield frame.to_ndarray(format="bgr24")
    for frame in decoder.decode(None):
        yield frame.to_ndarray(format="bgr24")


def _pad_even(images: Iterable[np.ndarray], size: list[int]) -> Iterator[np.ndarray]:
    # yuv420p needs even sizes: odd ones get their last row / column repeated, cropped later
    for image in images:
        check_frame(image)
        height, width = image.shape[:2]
        if not size:
            size.extend((height, width))
        elif [height, width] != size:
            raise ValueError(f"expected every frame at {size[0]}x{size[1]}, got {height}x{width}")
        if height % 2 or width % 2:
            image = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        yield image


def h264_round_trip(
    images: Iterable[np.ndarray], crf: int, fps: float | Fraction
) -> Iterator[np.ndarray]:
    """BGR frames encoded with :func:`encode_h264` and decoded back, one out per frame in,
    same order and size (odd sizes are padded for the encoder and cropped back). Streams:
    memory holds only the encoder's look-ahead, not the clip."""
    return _round_trip(images, _check_crf(crf), _frame_rate(fps))


def _round_trip(images: Iterable[np.ndarray], crf: int, rate: Fraction) -> Iterator[np.ndarray]:
    fed = 0

    def counted(source: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        nonlocal fed
        for image in source:
            fed += 1
            yield image

    size: list[int] = []
    out = 0
    for image in decode_h264(_encode(counted(_pad_even(images, size)), crf, rate)):
        out += 1
        if out > fed:
            raise RuntimeError(f"H.264 round trip decoded frame {out} of {fed} encoded so far")
        if image.shape[:2] != tuple(size):
            image = np.ascontiguousarray(image[: size[0], : size[1]])
        yield image
    if out != fed:
        raise RuntimeError(f"H.264 round trip decoded {out} frames of {fed} encoded")


def perturb_frames(
    frames: Iterable[tuple[int, np.ndarray]],
    perturbation: Perturbation,
    rng: np.random.Generator | None = None,
    fps: float | Fraction | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, frame)`` pairs under ``perturbation``, with their indices, in input order.

    The per-frame types go frame by frame (BW and GNC draw from ``rng``, in frame order).
    VC encodes the given frames as one H.264 clip at ``fps`` and decodes them back
    (:func:`h264_round_trip`); when ``frames`` is a sparse subset of a video, only those
    frames make the clip, so inter-frame prediction sees other neighbours than in the full
    video: to follow the protocol exactly, compress the whole file with
    :func:`compress_video` first and take frames from the result. Both paths stream.
    """
    if not isinstance(perturbation, Perturbation):
        raise TypeError(f"expected a Perturbation, got {type(perturbation).__name__}")
    if perturbation.per_frame:
        if perturbation.type in ("BW", "GNC") and not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"{perturbation.name} is random: expected a numpy.random.Generator, got {rng!r}"
            )
        return _per_frame(frames, perturbation, rng)
    if fps is None:
        raise ValueError(f"{perturbation.name} re-encodes the clip: expected its fps, got None")
    return _compressed(frames, perturbation.param, _frame_rate(fps))


def _per_frame(
    frames: Iterable[tuple[int, np.ndarray]],
    perturbation: Perturbation,
    rng: np.random.Generator | None,
) -> Iterator[tuple[int, np.ndarray]]:
    for index, image in frames:
        yield index, apply_frame(image, perturbation, rng)


def _compressed(
    frames: Iterable[tuple[int, np.ndarray]], crf: int, rate: Fraction
) -> Iterator[tuple[int, np.ndarray]]:
    indices: deque[int] = deque()

    def images() -> Iterator[np.ndarray]:
        for index, image in frames:
            indices.append(index)
            yield image

    for image in _round_trip(images(), crf, rate):
        yield indices.popleft(), image


def compress_video(
    path_in: str | os.PathLike,
    path_out: str | os.PathLike,
    crf: int,
    *,
    keep_audio: bool = False,
    ffmpeg: str = "ffmpeg",
) -> Path:
    """Re-encode a whole video file with the ffmpeg command line, as the source's VC does:
    libx264 at ``crf``, default preset, yuv420p; the container follows ``path_out``'s
    extension. Audio is dropped unless ``keep_audio`` (then ffmpeg's default audio encoder
    re-encodes it, as in the source). ffmpeg applies any display rotation to the pixels.
    Returns ``path_out``."""
    crf = _check_crf(crf)
    source, target = Path(path_in), Path(path_out)
    if not source.is_file():
        raise FileNotFoundError(f"expected an input video file, found nothing at {source}")
    if source.resolve() == target.resolve():
        raise ValueError(f"expected different input and output paths, got {source} twice")
    binary = shutil.which(ffmpeg)
    if binary is None:
        raise FileNotFoundError(f"expected the ffmpeg executable {ffmpeg!r} on PATH")
    command = [binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    command += ["-c:v", ENCODER, "-crf", str(crf), "-pix_fmt", PIX_FMT]
    command += ["-threads", str(X264_THREADS)]
    command += [] if keep_audio else ["-an"]
    command.append(str(target))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"ffmpeg exited with {result.returncode} compressing {source} at CRF {crf}: "
            f"{result.stderr.strip()[-2000:]}"
        )
    return target
