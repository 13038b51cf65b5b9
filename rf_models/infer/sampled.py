"""The new-video pipeline's two decodes: sampled frames through the detector, then the kept
faces' crops.

Memory stays bounded whatever the resolution or length, as in align_faces: the first decode
streams the sampled frames through the detector and keeps only their boxes (tracking needs
every detection first); the second decode cuts each face's crops and shrinks them at once to
the sides the models see (299 and 256 px for the seed's), so the largest arrays held are those
crops, about 2 faces x 160 frames x 299 x 299 x 3 bytes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rf_models.detect.run import BatchDetector, detect_frames
from rf_models.track.boxes import SCORE_THRESHOLD, Box
from rf_models.track.tracks import VideoTracks
from rf_models.video.decode import FrameReader, VideoError, VideoInfo

FaceCrops = np.ndarray
"""One face's square BGR uint8 crops at one side, ``(n_frames, side, side, 3)``, frame order."""


def boxes_from_detections(
    detections: np.ndarray, score_threshold: float = SCORE_THRESHOLD
) -> list[Box]:
    """The detector's (n, 5) float [x1, y1, x2, y2, score] rows with score >= ``score_threshold``
    as integer corners (``int()`` truncation, as the seed's inference did), in row order."""
    table = np.asarray(detections, dtype=np.float64)
    if table.size == 0:
        return []
    if table.ndim != 2 or table.shape[1] != 5:
        raise ValueError(
            f"detections: expected shape (n, 5) [x1, y1, x2, y2, score], found {table.shape}"
        )
    if not np.isfinite(table).all():
        raise ValueError("detections: expected finite numbers, found NaN or infinity")
    return [
        (int(x1), int(y1), int(x2), int(y2))
        for x1, y1, x2, y2, score in table
        if score >= score_threshold
    ]


@dataclass(frozen=True)
class SampledDetections:
    """The first decode: kept boxes per decoded sampled frame, the frame size (width, height),
    why decoding stopped early (None if it did not) and the first frame of another size."""

    boxes: dict[int, list[Box]]
    size: tuple[int, int] | None
    error: str | None
    odd_frame: tuple[int, int, int] | None = None  # (frame, width, height)


def detect_sampled(
    path: str | os.PathLike,
    sampled: Sequence[int],
    detector: BatchDetector,
    batch_size: int = 8,
    score_threshold: float = SCORE_THRESHOLD,
    info: VideoInfo | None = None,
) -> SampledDetections:
    """Decode the sampled frames once and detect on them in batches as they come; no frame is
    kept, only its boxes (the detector's input is its own shrunk copy). ``info``: the video's
    probe, when the caller has it."""
    reader = FrameReader(path, wanted=sampled, info=info)
    sizes: dict[str, Any] = {"first": None, "odd": None}

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        for index, image in reader:
            height, width = image.shape[:2]
            if sizes["first"] is None:
                sizes["first"] = (width, height)
            elif sizes["odd"] is None and (width, height) != sizes["first"]:
                sizes["odd"] = (index, width, height)
            yield index, image

    boxes = {
        index: boxes_from_detections(found, score_threshold)
        for index, found in detect_frames(frames(), detector, batch_size=batch_size)
    }
    return SampledDetections(boxes, sizes["first"], reader.error, sizes["odd"])


@dataclass(frozen=True)
class CutFaces:
    """The second decode: per kept face, its frames and its crops at each side asked for."""

    frames: list[tuple[int, ...]]
    crops: list[dict[int, FaceCrops]]  # per face: side -> (n_frames, side, side, 3)
    thumbnails: list[np.ndarray | None]


def cut_faces(
    path: str | os.PathLike,
    tracks: VideoTracks,
    sides: Sequence[int],
    thumbnail: int | None = None,
    info: VideoInfo | None = None,
) -> CutFaces:
    """Decode the frames the kept faces' crops come from and cut every crop, shrunk at once to
    each of ``sides`` (bilinear, as the seed's ``cv2.resize``) and, with ``thumbnail``, to a
    thumbnail side (area). Faces whose tube never fell inside the frame (crop size 0) are
    left out, as in align_faces. :class:`VideoError` when a frame cannot be decoded again."""
    faces = [face for face in tracks.faces if face.crop_size > 0]
    sides = sorted(set(sides))
    # source frame -> [(face, position, left, top, size)]
    plan: dict[int, list[tuple[int, int, int, int, int]]] = defaultdict(list)
    for k, face in enumerate(faces):
        for position, c in enumerate(face.frames):
            plan[c.source_frame].append((k, position, c.left, c.top, c.size))
    crops = [{s: np.empty((len(face.frames), s, s, 3), np.uint8) for s in sides} for face in faces]
    thumbs = [
        np.empty((len(face.frames), thumbnail, thumbnail, 3), np.uint8) if thumbnail else None
        for face in faces
    ]
    reader = FrameReader(path, wanted=plan, info=info)
    done = set()
    for index, image in reader:
        for k, position, left, top, size in plan[index]:
            square = image[top : top + size, left : left + size]
            if square.shape[:2] != (size, size):
                raise VideoError(
                    path,
                    "unreadable",
                    f"frame {index} is {image.shape[1]}x{image.shape[0]} "
                    f"on the second decode, too small for its crop at ({left}, {top}) of {size}",
                )
            for s in sides:
                crops[k][s][position] = (
                    square
                    if s == size
                    else cv2.resize(square, (s, s), interpolation=cv2.INTER_LINEAR)
                )
            if thumbnail:
                thumbs[k][position] = cv2.resize(
                    square, (thumbnail, thumbnail), interpolation=cv2.INTER_AREA
                )
        done.add(index)
    lost = sorted(set(plan) - done)
    if lost:
        raise VideoError(
            path,
            "unreadable",
            f"frames {lost[:5]} could not be decoded again for their crops ({reader.error})",
        )
    frames = [tuple(c.frame for c in face.frames) for face in faces]
    return CutFaces(frames, crops, thumbs)
