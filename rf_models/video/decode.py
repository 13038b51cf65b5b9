"""Video decoding with PyAV: probe, and frames (1-based indices) as BGR arrays.

Frames come out as a player shows them: a display rotation (the rotate tag of phone videos,
stored as a display matrix) is applied as the ffmpeg command line does by default, the tool
the seed extracted frames with. Sizes are the displayed ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# Containers PyAV (FFmpeg) opens that cameras and phones write; matched case-insensitively.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")


def is_video_name(name: str) -> bool:
    """Whether a file name has one of :data:`VIDEO_EXTENSIONS`, in any case (``A.MP4``)."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def scan_videos(folder: str | os.PathLike) -> list[os.DirEntry]:
    """The video files of ``folder`` (not its subfolders; a dangling link is kept, as a file
    that is missing), sorted by name: the one listing every reader of a folder uses."""
    with os.scandir(folder) as it:
        found = [e for e in it if is_video_name(e.name) and not e.is_dir()]
    return sorted(found, key=lambda e: e.name)


def list_videos(folder: str | os.PathLike) -> list[Path]:
    """The video files of ``folder`` (:func:`scan_videos`) as paths; an error when it is not a
    folder or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of videos, found no folder")
    videos = [Path(e.path) for e in scan_videos(folder)]
    if not videos:
        raise FileNotFoundError(
            f"{folder}: expected video files ({', '.join(VIDEO_EXTENSIONS)}, any case), found none"
        )
    return videos


def collect_videos(sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The videos of ``sources``, in order: a folder gives its video files
    (:func:`list_videos`), anything else is taken as a video file, whatever its extension (a
    file that does not exist is scored as missing)."""
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    if not sources:
        raise FileNotFoundError("expected at least one video or folder of videos, found none")
    videos: list[Path] = []
    for source in sources:
        path = Path(source)
        videos.extend(list_videos(path) if path.is_dir() else [path])
    return videos


class VideoError(Exception):
    """A video that cannot be opened or decoded; ``status`` is its manifest status."""

    def __init__(self, path: str | os.PathLike, status: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed, after the rotation
    height: int
    fps: float
    declared_frames: int  # from the container; 0 when it does not say
    rotation: int = 0  # display rotation applied to every frame: 0, 90, 180 or 270 (ccw)
    counted_frames: int | None = None  # video packets, when asked for and none was declared

    @property
    def frames(self) -> int:
        """The declared frame count, else the counted one (0 when neither is known)."""
        return self.declared_frames or self.counted_frames or 0


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns (0-3) for a display rotation in degrees (PyAV's
    ``frame.rotation``, counter-clockwise); other angles go to the nearest quarter turn."""
    return int(round(float(rotation) / 90.0)) % 4


def upright(image: np.ndarray, rotation: float) -> np.ndarray:
    """``image`` turned as ffmpeg's command line turns a frame with this display rotation."""
    turns = quarter_turns(rotation)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _first_frame_rotation(container) -> int:
    """The display rotation of the first decodable frame (0 when none decodes: the frame loop
    then reports the failure with its status)."""
    try:
        for frame in container.decode(container.streams.video[0]):
            return 90 * quarter_turns(frame.rotation)
    except (av.error.FFmpegError, ValueError):
        pass
    return 0


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


def _count_packets(path: Path) -> int:
    """Frames of a container that does not declare them: its video packets, not decoded."""
    try:
        with _open(path) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoError(path, "unreadable", f"cannot count frames: {err}") from None


def probe_video(path: str | os.PathLike, count_frames: bool = False) -> VideoInfo:
    """Size (as displayed), frame rate, declared frame count and display rotation; with
    ``count_frames``, the frames are counted when the container does not declare them.

    PyAV exposes the rotation on frames only, so the first frame is decoded."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = _first_frame_rotation(container)
        if rotation in (90, 270):
            width, height = height, width
        declared = int(stream.frames or 0)
    return VideoInfo(
        width=width,
        height=height,
        fps=float(rate) if rate else 0.0,
        declared_frames=declared,
        rotation=rotation,
        counted_frames=_count_packets(path) if count_frames and not declared else None,
    )


class FrameReader:
    """Decode a video once, yielding ``(frame index from 1, BGR array)``, each frame turned
    upright by its display rotation.

    After iteration, ``decoded`` is the number of frames decoded and ``error`` the
    reason decoding stopped early (None when the stream ended normally).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        wanted: Iterable[int] | None = None,
        info: VideoInfo | None = None,
    ) -> None:
        self.path = Path(path)
        self.wanted = None if wanted is None else set(wanted)
        self.decoded = 0
        self.error: str | None = None
        # a caller that probed already passes its result: one probe per video
        self.info = probe_video(self.path) if info is None else info

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
                        yield index, upright(frame.to_ndarray(format="bgr24"), frame.rotation)
                    if last_wanted is not None and index >= last_wanted:
                        return
            except av.error.FFmpegError as err:
                self.error = f"decoding stopped after {self.decoded} frames: {err}"
