"""Byte-reproducible H.264 MP4 writing with PyAV."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from rf_models.io_utils import atomic_output_file

# fflags +bitexact drops the muxer's "encoder" tag and zeroes creation times; the
# filter_units pass removes SEI NAL units (type 6), where x264 writes its version and options.
_CONTAINER_OPTIONS = {"fflags": "+bitexact", "movflags": "+faststart"}
_STRIP_SEI = "filter_units=remove_types=6"
# With macroblock-tree rate control on, the first encode in a process sometimes differed from
# later encodes of the same frames (seen with x264 core 165, preset veryfast, one thread);
# without it, repeated encodes in and across processes matched.
_X264_PARAMS = "mbtree=0"


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int,
    crf: int = 20,
    preset: str = "veryfast",
) -> int:
    """Encode RGB uint8 frames (all the same even size) to ``path``; returns the frame count.

    H.264 (libx264, yuv420p, one thread) in MP4 with the index at the front. The same frames
    give the same bytes. The file appears at ``path`` only once complete.
    """
    if fps < 1:
        raise ValueError(f"fps must be a positive integer, got {fps}")
    path = Path(path)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError(f"{path}: no frames to encode")
    h, w = _check_frame(path, first, 0).shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"{path}: yuv420p needs an even frame size, got {w}x{h}")
    count = 0
    with atomic_output_file(path, suffix=".mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4", options=dict(_CONTAINER_OPTIONS)) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = w, h
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.codec_context.options = {
                "crf": str(crf),
                "preset": preset,
                "threads": "1",
                "x264-params": _X264_PARAMS,
            }
            bsf = None

            def mux(packets) -> None:
                nonlocal bsf
                for packet in packets:
                    if bsf is None:
                        # Created after the encoder opened, so it sees the real parameters.
                        bsf = av.BitStreamFilterContext(_STRIP_SEI, stream)
                    for out in bsf.filter(packet):
                        out.stream = stream
                        container.mux(out)

            for frame in itertools.chain([first], iterator):
                if frame.shape[:2] != (h, w):
                    raise ValueError(
                        f"{path}: frame {count} is {frame.shape[1]}x{frame.shape[0]}, "
                        f"earlier frames were {w}x{h}"
                    )
                video_frame = av.VideoFrame.from_ndarray(
                    _check_frame(path, frame, count), format="rgb24"
                )
                video_frame.pts = count
                mux(stream.encode(video_frame))
                count += 1
            mux(stream.encode(None))
            if bsf is not None:
                for out in bsf.filter(None):
                    out.stream = stream
                    container.mux(out)
    return count


def _check_frame(path: Path, frame: np.ndarray, index: int) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"{path}: frame {index}: expected RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}"
        )
    return frame
