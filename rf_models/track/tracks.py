"""Per-video face tracks and crop squares (docs/reproduction.md §4), and their JSON form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Literal

from rf_models.track.boxes import (
    CROP_SCALE,
    Box,
    as_box,
    check_frame_size,
    check_positive_real,
    crop_size_of,
    square_crop_origin,
    tube_crop_size,
)
from rf_models.track.tubes import (
    IOU_THRESHOLD,
    build_tubes,
    check_increasing,
    count_faces,
    longest_tubes,
    nearest_entries,
)

FORMAT_VERSION = 1
CropSource = Literal["borrowed", "current"]
CROP_SOURCES: tuple[str, ...] = ("borrowed", "current")
Status = Literal["ok", "no_face"]
STATUSES: tuple[str, ...] = ("ok", "no_face")


class TracksFormatError(ValueError):
    """A tracks record (JSON) that does not have the expected shape."""


@dataclass(frozen=True)
class FrameCrop:
    """The square to cut for one face in one frame.

    `entry_frame` is the frame of the tube entry used (the frame itself when the tube has a
    box there); `source_frame` is the frame whose image is cropped; `box` is the tube's own
    box in this frame, or None when the entry was borrowed from another frame.
    """

    frame: int
    source_frame: int
    entry_frame: int
    left: int
    top: int
    size: int
    box: Box | None


@dataclass(frozen=True)
class FaceTrack:
    """One kept tube: face number `face` (from 1), its square size and one crop per frame.

    A `crop_size` of 0 means every box of the tube lay outside the frame: nothing to cut.
    """

    face: int
    crop_size: int
    frames: list[FrameCrop]


@dataclass(frozen=True)
class VideoTracks:
    """Tracking result of one video: status "ok" with faces, or "no_face" with none.

    `vote` is the face count most frames agreed on; `num_faces` the number of faces kept
    (the vote, limited by the number of tubes and by `max_faces`).
    """

    status: Status
    num_faces: int
    vote: int
    num_frames: int
    width: int
    height: int
    faces: list[FaceTrack] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "status": self.status,
            "num_faces": self.num_faces,
            "vote": self.vote,
            "num_frames": self.num_frames,
            "width": self.width,
            "height": self.height,
            "faces": [
                {
                    "face": face.face,
                    "crop_size": face.crop_size,
                    "frames": [
                        {
                            "frame": crop.frame,
                            "source_frame": crop.source_frame,
                            "entry_frame": crop.entry_frame,
                            "left": crop.left,
                            "top": crop.top,
                            "size": crop.size,
                            "box": None if crop.box is None else list(crop.box),
                        }
                        for crop in face.frames
                    ],
                }
                for face in self.faces
            ],
        }

    @classmethod
    def from_json_dict(cls, data: object) -> VideoTracks:
        """Rebuild a record from `to_json_dict` output; raise TracksFormatError when malformed."""
        return _parse_video(data)


def track_video(
    detections: Mapping[int, Sequence[Box]],
    frame_indices: Sequence[int],
    width: int,
    height: int,
    *,
    iou_threshold: float = IOU_THRESHOLD,
    crop_scale: float = CROP_SCALE,
    max_faces: int | None = None,
    crop_source: CropSource = "borrowed",
) -> VideoTracks:
    """Vote the number of faces, link boxes into tubes and place each face's crop per frame.

    `detections` maps a frame index to its kept boxes in file order (frames without boxes
    may be missing); `frame_indices` lists every frame of the video in increasing order
    (1..N in training, the sampled frames in inference). `max_faces` caps the kept faces
    (inference uses 2); without it the vote decides, limited by the number of tubes.
    `crop_source` "borrowed" crops, for a frame without its own box, the image of the
    frame whose entry it borrowed (the seed); "current" crops the frame itself.
    """
    frames = check_increasing("frame indices", frame_indices)
    width, height = check_frame_size(width, height)
    iou_threshold = check_positive_real("iou_threshold", iou_threshold)
    crop_scale = check_positive_real("crop_scale", crop_scale)
    if max_faces is not None and (
        not isinstance(max_faces, Integral) or isinstance(max_faces, bool) or max_faces < 1
    ):
        raise ValueError(f"max_faces: expected None or an integer >= 1, found {max_faces!r}")
    if crop_source not in CROP_SOURCES:
        raise ValueError(f"crop_source: expected one of {CROP_SOURCES}, found {crop_source!r}")
    extra = sorted(set(detections) - set(frames), key=repr)
    if extra:
        raise ValueError(
            f"detections: expected frames among the video's frame indices, found {extra[:5]}"
        )
    boxes_by_frame = {
        frame: [as_box(box, f"frame {frame} box {i}") for i, box in enumerate(detections[frame])]
        for frame in frames
        if frame in detections
    }

    vote = count_faces([len(boxes_by_frame.get(frame, ())) for frame in frames])
    if vote == 0:
        return VideoTracks("no_face", 0, 0, len(frames), width, height, [])

    tubes = build_tubes(boxes_by_frame, iou_threshold)
    keep = min(vote, len(tubes)) if max_faces is None else min(vote, len(tubes), max_faces)
    faces: list[FaceTrack] = []
    for number, tube in enumerate(longest_tubes(tubes, keep), start=1):
        used = [tube.entries[pos] for pos in nearest_entries(tube.frames, frames)]
        size = tube_crop_size(
            [crop_size_of(entry.box, width, height, crop_scale) for entry in used], width, height
        )
        crops = []
        for frame, entry in zip(frames, used, strict=True):
            left, top = square_crop_origin(entry.box, size, width, height)
            crops.append(
                FrameCrop(
                    frame=frame,
                    source_frame=entry.frame if crop_source == "borrowed" else frame,
                    entry_frame=entry.frame,
                    left=left,
                    top=top,
                    size=size,
                    box=entry.box if entry.frame == frame else None,
                )
            )
        faces.append(FaceTrack(face=number, crop_size=size, frames=crops))
    return VideoTracks("ok", len(faces), vote, len(frames), width, height, faces)


def _keys(data: object, where: str, expected: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TracksFormatError(f"{where}: expected an object, found {type(data).__name__}")
    missing = [key for key in expected if key not in data]
    unknown = sorted(set(data) - set(expected))
    if missing or unknown:
        raise TracksFormatError(
            f"{where}: expected keys {list(expected)}, missing {missing}, unexpected {unknown}"
        )
    return data


def _int(data: dict[str, Any], key: str, where: str, minimum: int | None = None) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TracksFormatError(f"{where}.{key}: expected an integer, found {value!r}")
    if minimum is not None and value < minimum:
        raise TracksFormatError(f"{where}.{key}: expected an integer >= {minimum}, found {value}")
    return value


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise TracksFormatError(f"{where}.{key}: expected a list, found {type(value).__name__}")
    return value


_VIDEO_KEYS = ("version", "status", "num_faces", "vote", "num_frames", "width", "height", "faces")
_FACE_KEYS = ("face", "crop_size", "frames")
_CROP_KEYS = ("frame", "source_frame", "entry_frame", "left", "top", "size", "box")


def _parse_crop(data: object, where: str, crop_size: int) -> FrameCrop:
    item = _keys(data, where, _CROP_KEYS)
    size = _int(item, "size", where)
    if size != crop_size:
        raise TracksFormatError(
            f"{where}.size: expected the face's crop_size {crop_size}, found {size}"
        )
    raw_box = item["box"]
    try:
        box = None if raw_box is None else as_box(raw_box, f"{where}.box")
    except ValueError as err:
        raise TracksFormatError(str(err)) from err
    return FrameCrop(
        frame=_int(item, "frame", where),
        source_frame=_int(item, "source_frame", where),
        entry_frame=_int(item, "entry_frame", where),
        left=_int(item, "left", where, 0),
        top=_int(item, "top", where, 0),
        size=size,
        box=box,
    )


def _parse_video(data: object) -> VideoTracks:
    root = _keys(data, "tracks", _VIDEO_KEYS)
    version = _int(root, "version", "tracks")
    if version != FORMAT_VERSION:
        raise TracksFormatError(f"tracks.version: expected {FORMAT_VERSION}, found {version}")
    status = root["status"]
    if status not in STATUSES:
        raise TracksFormatError(f"tracks.status: expected one of {STATUSES}, found {status!r}")
    num_faces = _int(root, "num_faces", "tracks", 0)
    faces_raw = _list(root, "faces", "tracks")
    if num_faces != len(faces_raw):
        raise TracksFormatError(
            f"tracks.num_faces: expected the number of faces listed ({len(faces_raw)}), "
            f"found {num_faces}"
        )
    if (status == "no_face") != (num_faces == 0):
        raise TracksFormatError(
            f"tracks.status: expected 'no_face' exactly when there are no faces, "
            f"found {status!r} with {num_faces} face(s)"
        )
    num_frames = _int(root, "num_frames", "tracks", 0)
    faces = []
    for position, raw_face in enumerate(faces_raw):
        where = f"tracks.faces[{position}]"
        face = _keys(raw_face, where, _FACE_KEYS)
        number = _int(face, "face", where)
        if number != position + 1:
            raise TracksFormatError(f"{where}.face: expected {position + 1}, found {number}")
        crop_size = _int(face, "crop_size", where, 0)
        crops_raw = _list(face, "frames", where)
        if len(crops_raw) != num_frames:
            raise TracksFormatError(
                f"{where}.frames: expected num_frames ({num_frames}) crops, found {len(crops_raw)}"
            )
        crops = [
            _parse_crop(raw, f"{where}.frames[{i}]", crop_size) for i, raw in enumerate(crops_raw)
        ]
        try:
            check_increasing(f"{where}.frames[].frame", [crop.frame for crop in crops])
        except ValueError as err:
            raise TracksFormatError(str(err)) from err
        faces.append(FaceTrack(face=number, crop_size=crop_size, frames=crops))
    return VideoTracks(
        status=status,
        num_faces=num_faces,
        vote=_int(root, "vote", "tracks", 0),
        num_frames=num_frames,
        width=_int(root, "width", "tracks", 1),
        height=_int(root, "height", "tracks", 1),
        faces=faces,
    )
