"""Video decoding with PyAV: probe, and frames (1-based indices) as BGR arrays."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


class VideoError(Exception):
    """A video that cannot be opened or decoded; ``status`` is its manifest status."""

    def __init__(self, path: str | os.PathLike, status: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    declared_frames: int  # from the container; 0 when it does not say


def _open(path: Path):
    if not path.exists():
        raise VideoError(path, "missing", "file does not exist")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty_file", "file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoError(path, "unreadable", f"cannot open: {err}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "unreadable", "no video stream")
    return container


def probe_video(path: str | os.PathLike) -> VideoInfo:
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate else 0.0,
            declared_frames=int(stream.frames or 0),
        )


class FrameReader:
    """Decode a video once, yielding ``(frame index from 1, BGR array)``.

    After iteration, ``decoded`` is the number of frames decoded and ``error`` the
    reason decoding stopped early (None when the stream ended normally).
    """

    def __init__(self, path: str | os.PathLike, wanted: Iterable[int] | None = None) -> None:
        self.path = Path(path)
        self.wanted = None if wanted is None else set(wanted)
        self.decoded = 0
        self.error: str | None = None
        self.info = probe_video(self.path)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        self.decoded = 0
        self.error = None
        if self.wanted is not None and not self.wanted:
            return
        last_wanted = max(self.wanted) if self.wanted else None
        with _open(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for frame in container.decode(stream):
                    self.decoded += 1
                    index = self.decoded
                    if self.wanted is None or index in self.wanted:
                        yield index, frame.to_ndarray(format="bgr24")
                    if last_wanted is not None and index >= last_wanted:
                        return
            except av.error.FFmpegError as err:
                self.error = f"decoding stopped after {self.decoded} frames: {err}"
