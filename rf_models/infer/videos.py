"""Score new videos end to end: sample frames, detect, track, crop, every model, the ensemble.

The same detector, tracking and policy code as the training half, in the seed's inference
variant (docs/reproduction.md §4, last paragraph, and section 7): every ceil(n/160)-th frame,
boxes as the detector's corners truncated to integers and kept at score >= 0.8, at most two
faces. A bad video gets the policy's default score (0.5) with a status and a reason; it never
stops the others.

Memory stays bounded whatever the resolution or length, as in align_faces: a first decode
streams the sampled frames through the detector and keeps only their boxes (tracking needs
every detection first); a second decode cuts each face's crops and shrinks them at once to the
sides the models see (299 and 256 px for the seed's), so the largest arrays held are those
crops, about 2 faces x 160 frames x 299 x 299 x 3 bytes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from rf_models.data.manifest import STATUSES as MANIFEST_STATUSES
from rf_models.data.manifest import USABLE
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.run import BatchDetector, detect_frames, detector_identity
from rf_models.infer.model_set import ModelSet, release_freed_memory
from rf_models.infer.policy import (
    EnsemblePolicy,
    ensemble_details,
    image_face_score,
    video_face_score,
)
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import (
    infer_size,
    resolve_device,
    score_image_faces,
    score_video_faces,
)
from rf_models.infer.submission import write_submission
from rf_models.io_utils import atomic_output_dir, atomic_write_text
from rf_models.progress import Progress
from rf_models.track.boxes import SCORE_THRESHOLD, Box
from rf_models.track.tracks import VideoTracks, track_video
from rf_models.video.decode import (
    VIDEO_EXTENSIONS,
    FrameReader,
    VideoError,
    VideoInfo,
    is_video_name,
    probe_video,
)
from rf_models.work_area import WorkArea, file_digest, file_identity, link_or_copy

log = logging.getLogger(__name__)

# The code a video's prediction depends on (rf_models.work_area.code_version).
PREDICT_CODE = (
    __name__,
    "rf_models.detect.backends",
    "rf_models.detect.postprocess",
    "rf_models.detect.run",
    "rf_models.infer.policy",
    "rf_models.infer.sampling",
    "rf_models.infer.scoring",
    "rf_models.models.factory",
    "rf_models.models.slowfast",
    "rf_models.report.video_sheet",
    "rf_models.track.boxes",
    "rf_models.track.tracks",
    "rf_models.video.decode",
)

MAX_FRAMES = 160
MAX_FACES = 2
# Statuses whose score came from the models; every other status carries the default score.
SCORED = USABLE
# A video's decode and face statuses are the preprocessing manifest's; scoring adds its own.
STATUSES = MANIFEST_STATUSES + ("no_score", "model_error", "error")
_KIND_INPUT = {"image": "frames", "video": "clip"}

FaceCrops = np.ndarray
"""One face's square BGR uint8 crops at one side, ``(n_frames, side, side, 3)``, frame order."""
ImageScorer = Callable[[Any, Sequence[FaceCrops]], Sequence[Any]]
"""``(model, per-face crops) -> per-face (n, 2) logits``, all faces in one call."""
VideoScorer = Callable[[Any, Sequence[FaceCrops]], Any]
"""``(model, per-face clips) -> (n_faces, 2) logits``, all faces in one call."""
# Crops held before models loaded one at a time score them: at the seed's sides (299 and 256 px,
# 160 frames) a video with two faces holds 142 MB.
CROP_MEMORY_MB = 256
THUMBNAIL = 64  # side of the crops kept for the per-video picture
JSON_FORMAT = "rf_models.predict/1"


class ModelConfigLike(Protocol):
    kind: str
    input_size: int
    infer_size: int | None


class ScoringModel(Protocol):
    """What scoring needs of a loaded model: its ensemble name, its kind (image | video) and
    its input side (``infer_size``, else ``input_size``)."""

    name: str
    cfg: ModelConfigLike


@dataclass(frozen=True)
class FaceDetail:
    """How one kept face was scored, for the JSON output and the per-video picture.

    ``frames`` are the sampled frames with a crop of this face; ``image_frames`` the subset
    the image models saw (every ceil(n/35)-th, as the policy's frame rule picks them);
    ``logits[model]`` is ``(len(image_frames), 2)`` for an image model, ``(2,)`` for a video
    model; ``thumbnails`` the face's crops at :data:`THUMBNAIL` px, one per frame (only
    while a picture is to be drawn)."""

    face: int
    frames: tuple[int, ...]
    image_frames: tuple[int, ...]
    logits: dict[str, np.ndarray] = field(default_factory=dict)
    thumbnails: np.ndarray | None = None


@dataclass(frozen=True)
class VideoResult:
    """One video's outcome. ``status`` is one of :data:`STATUSES`; ``score`` is P(FAKE) (the
    policy's default score unless the status is in :data:`SCORED`); ``n_frames`` the video's
    frame count; ``model_scores`` each model's video score (None: no score); ``faces`` how
    each kept face was scored; ``timings`` seconds per step (decode_detect, track, crops,
    ``model:<name>``, ensemble)."""

    video: str
    score: float
    status: str
    reason: str
    n_frames: int
    num_faces: int
    model_scores: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0
    faces: tuple[FaceDetail, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    path: str = ""


def check_models(models: Sequence[ScoringModel], policy: EnsemblePolicy) -> None:
    """Every model is in the policy once, with a kind that matches its group's input."""
    if not models:
        raise ValueError("expected at least one model to score with, found none")
    seen: set[str] = set()
    for lm in models:
        if lm.name in seen:
            raise ValueError(f"model {lm.name!r}: expected each model once, found it twice")
        seen.add(lm.name)
        group = policy.group_of(lm.name)
        kind = lm.cfg.kind
        if _KIND_INPUT.get(kind) != group.input:
            raise ValueError(
                f"model {lm.name!r}: its kind is {kind!r}, but the policy's group "
                f"{group.name!r} takes input {group.input!r} "
                f"(expected kind {'image' if group.input == 'frames' else 'video'!r})"
            )


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


def crop_side(lm: ScoringModel) -> int:
    """The side of the crops a model sees: its ``infer_size``, else its input size."""
    return infer_size(lm.cfg)


def image_frame_step(n_crops: int, policy: EnsemblePolicy) -> int:
    """Stride over a face's crops that leaves the frames the policy's frame rule would pick
    (every ceil(n/35)-th), so image models only see those."""
    return max(1, math.ceil(n_crops / policy.frame_rule.max_frames))


def _check_logits(value: Any, shape: tuple[int, ...], model: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{model}: expected logits of shape {shape}, found {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{model}: expected finite logits, found NaN or infinity")
    return arr


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


class ModelError(RuntimeError):
    """A model failed on a video (the video gets the default score)."""


def score_faces(
    models: Sequence[ScoringModel],
    cut: CutFaces,
    policy: EnsemblePolicy,
    score_image: ImageScorer = score_image_faces,
    score_video: VideoScorer = score_video_faces,
    timings: dict[str, float] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Per model, per face logits: image models see every ceil(n/35)-th crop of each face,
    video models all of them; one call per model over every face. Errors name the model."""
    out: dict[str, list[np.ndarray]] = {}
    for lm in models:
        start = time.perf_counter()
        side = crop_side(lm)
        faces = [crops[side] for crops in cut.crops]
        try:
            if lm.cfg.kind == "image":
                picked = [f[:: image_frame_step(len(f), policy)] for f in faces]
                found = list(score_image(lm, picked))
                if len(found) != len(picked):
                    raise ValueError(f"expected logits for {len(picked)} faces, found {len(found)}")
                logits = [
                    _check_logits(v, (len(f), 2), lm.name)
                    for v, f in zip(found, picked, strict=True)
                ]
            else:
                found = _check_logits(score_video(lm, faces), (len(faces), 2), lm.name)
                logits = list(found)
        except Exception as err:  # the seed gave the whole video the default on any failure
            raise ModelError(f"{lm.name}: {type(err).__name__}: {err}") from err
        out[lm.name] = logits
        if timings is not None:
            timings[f"model:{lm.name}"] = time.perf_counter() - start
    return out


def face_details(
    cut: CutFaces,
    logits: Mapping[str, Sequence[np.ndarray]],
    policy: EnsemblePolicy,
    thumbnails: bool = False,
) -> tuple[FaceDetail, ...]:
    """What the JSON output and the picture show of each face: its frames, the frames the
    image models saw, every model's logits (and the thumbnails when asked for)."""
    details = []
    for k, frames in enumerate(cut.frames):
        step = image_frame_step(len(frames), policy)
        details.append(
            FaceDetail(
                face=k + 1,
                frames=frames,
                image_frames=frames[::step],
                logits={m: np.asarray(per_face[k], np.float32) for m, per_face in logits.items()},
                thumbnails=cut.thumbnails[k] if thumbnails else None,
            )
        )
    return tuple(details)


@dataclass
class PendingVideo:
    """One video on its way through :func:`prepare_video`, the models and
    :func:`finish_video`: what its result will report. ``done`` is set when the video
    finished early (it could not be decoded, had no face...); otherwise ``cut`` holds the
    crops waiting for the models."""

    path: Path
    names: list[str]
    policy: EnsemblePolicy
    thumbnails: bool = False
    start: float = field(default_factory=time.perf_counter)
    n_frames: int = 0
    num_faces: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    partial: bool = False
    cut: CutFaces | None = None
    faces: tuple[FaceDetail, ...] = ()
    done: VideoResult | None = None
    logits: dict[str, list[np.ndarray]] = field(default_factory=dict)
    error: ModelError | None = None  # the first model that failed on it: no other is asked

    def result(
        self, status: str, reason: str, score: float | None = None, scores=None
    ) -> VideoResult:
        return VideoResult(
            video=self.path.name,
            score=self.policy.default_score if score is None else score,
            status=status,
            reason=reason,
            n_frames=self.n_frames,
            num_faces=self.num_faces,
            model_scores={m: (scores or {}).get(m) for m in self.names},
            seconds=time.perf_counter() - self.start,
            faces=self.faces,
            timings=dict(self.timings),
            path=str(self.path),
        )

    def score(
        self,
        models: Sequence[ScoringModel],
        score_image: ImageScorer = score_image_faces,
        score_video: VideoScorer = score_video_faces,
    ) -> None:
        """Add ``models``' per-face logits (:func:`score_faces`), unless the video finished
        early or a model already failed on it."""
        if self.done is not None or self.error is not None:
            return
        try:
            found = score_faces(
                models, self.cut, self.policy, score_image, score_video, self.timings
            )
        except ModelError as err:
            self.error = err
        else:
            self.logits.update(found)

    def finish(self, status: str, reason: str) -> PendingVideo:
        self.done = self.result(status, reason)
        self.cut = None
        return self

    def lap(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - since
        return now

    @property
    def held_bytes(self) -> int:
        """Bytes of crops (and thumbnails) this video holds while it waits for the models."""
        if self.cut is None:
            return 0
        crops = sum(a.nbytes for face in self.cut.crops for a in face.values())
        return crops + sum(t.nbytes for t in self.cut.thumbnails if t is not None)


def prepare_video(
    path: str | os.PathLike,
    detector: BatchDetector,
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    *,
    max_frames: int = MAX_FRAMES,
    max_faces: int = MAX_FACES,
    detect_batch: int = 8,
    score_threshold: float = SCORE_THRESHOLD,
    thumbnails: bool = False,
) -> PendingVideo:
    """Everything before the models: probe, sample, detect, track and cut the kept faces'
    crops at the sides ``models`` see. Any failure of the video finishes it (``done``) with
    the default score and a reason; it never raises for a bad video."""
    pending = PendingVideo(Path(path), [lm.name for lm in models], policy, thumbnails)
    path = pending.path
    try:
        info = probe_video(path, count_frames=True)
        pending.n_frames = info.frames
        if pending.n_frames == 0:
            return pending.finish("unreadable", "the video has no frames")
        sampled = sample_frames(pending.n_frames, max_frames)
        t = time.perf_counter()
        found = detect_sampled(path, sampled, detector, detect_batch, score_threshold, info)
        t = pending.lap("decode_detect", t)
        if not found.boxes:
            return pending.finish("unreadable", found.error or "no frame could be decoded")
        pending.partial = found.error is not None or len(found.boxes) < len(sampled)
        if pending.partial:
            pending.notes.append(
                f"{len(found.boxes)} of {len(sampled)} sampled frames decoded"
                + (f" ({found.error})" if found.error else "")
            )
        indices = sorted(found.boxes)
        width, height = found.size
        if found.odd_frame:
            odd, odd_w, odd_h = found.odd_frame
            return pending.finish(
                "unreadable",
                f"frame size changes: frame {odd} is {odd_w}x{odd_h}, frame {indices[0]} "
                f"{width}x{height}",
            )
        tracks = track_video(found.boxes, indices, width, height, max_faces=max_faces)
        t = pending.lap("track", t)
        sides = [crop_side(lm) for lm in models]
        cut = cut_faces(path, tracks, sides, THUMBNAIL if thumbnails else None, info)
        pending.lap("crops", t)
        pending.num_faces = len(cut.frames)
        if not pending.num_faces:
            with_boxes = sum(1 for b in found.boxes.values() if b)
            return pending.finish(
                "no_face",
                f"no face kept ({with_boxes} of {len(indices)} sampled frames had a face at "
                f"score >= {score_threshold}; face-count vote {tracks.vote})",
            )
    except VideoError as err:
        return pending.finish(err.status, err.reason)
    except Exception as err:  # a bad video must not stop the folder
        return pending.finish("error", f"{type(err).__name__}: {err}")
    pending.cut = cut
    return pending


def finish_video(pending: PendingVideo) -> VideoResult:
    """The video's result from every model's per-face logits (or the model that failed on
    it): the seed's ensemble over them, with the per-face details."""
    if pending.done is not None:
        return pending.done
    if pending.error is not None:
        return pending.finish("model_error", str(pending.error)).done
    policy, name, logits = pending.policy, pending.path.name, pending.logits
    pending.faces = face_details(pending.cut, logits, policy, pending.thumbnails)
    t = time.perf_counter()
    details = ensemble_details({m: {name: v} for m, v in logits.items()}, policy, [name])[name]
    pending.lap("ensemble", t)
    pending.cut = None
    notes = pending.notes + list(details.notes)
    if details.status != "ok":
        return pending.result("no_score", "; ".join(notes) or "no model produced a score")
    status = "partial" if pending.partial else "ok"
    return pending.result(status, "; ".join(notes), details.score, details.model_scores)


def score_video_file(
    path: str | os.PathLike,
    detector: BatchDetector,
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    *,
    score_image: ImageScorer = score_image_faces,
    score_video: VideoScorer = score_video_faces,
    **options: Any,
) -> VideoResult:
    """Score one video; any failure of the video gives the default score with a reason.

    ``models`` are loaded models (``.name`` in the policy, ``.cfg`` with kind image or video
    and the input side); ``score_image(model, faces) -> per-face (n, 2)`` and
    ``score_video(model, faces) -> (n_faces, 2)`` logits default to
    :mod:`rf_models.infer.scoring`. Image models see every ceil(n/35)-th crop of a face,
    video models all of them. Models that do not fit the policy raise ValueError (a
    configuration error, not a bad video). ``options`` are :func:`prepare_video`'s
    (``thumbnails`` keeps small crops for a picture).
    """
    check_models(models, policy)
    pending = prepare_video(path, detector, models, policy, **options)
    pending.score(models, score_image, score_video)
    return finish_video(pending)


def list_videos(folder: str | os.PathLike) -> list[Path]:
    """The video files of ``folder`` (not its subfolders): every name with one of
    :data:`VIDEO_EXTENSIONS` in any case, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of videos, found no folder")
    videos = sorted(
        (p for p in folder.iterdir() if is_video_name(p.name) and not p.is_dir()),
        key=lambda p: p.name,
    )
    if not videos:
        raise FileNotFoundError(
            f"{folder}: expected video files ({', '.join(VIDEO_EXTENSIONS)}, any case), found none"
        )
    return videos


def details_path(out_csv: str | os.PathLike) -> Path:
    """Where the per-video details go by default: ``<name>.details.csv`` beside the submission."""
    out_csv = Path(out_csv)
    return out_csv.with_name(f"{out_csv.stem}.details.csv")


def write_details(
    results: Sequence[VideoResult], model_names: Sequence[str], path: str | os.PathLike
) -> None:
    """Per-video CSV: filename, label, status, reason, n_frames, num_faces, one column per model
    (empty where the model gave no score), sorted by file name; written atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["filename", "label", "status", "reason", "n_frames", "num_faces", *model_names]
    )
    for r in sorted(results, key=lambda r: r.video):
        scores = [
            "" if r.model_scores.get(m) is None else repr(float(r.model_scores[m]))
            for m in model_names
        ]
        writer.writerow(
            [r.video, repr(float(r.score)), r.status, r.reason, r.n_frames, r.num_faces, *scores]
        )
    atomic_write_text(path, buf.getvalue())


def picture_name(video: str) -> str:
    """File name of a video's picture: the video's name with ``.png`` added."""
    return f"{video}.png"


def _face_json(face: FaceDetail, kinds: Mapping[str, str], policy: EnsemblePolicy) -> dict:
    models = {}
    for name, logits in face.logits.items():
        if kinds[name] == "image":
            p = 1.0 / (1.0 + np.exp(logits[:, 0].astype(np.float64) - logits[:, 1]))
            models[name] = {
                "face_score": image_face_score(logits, policy),
                "frame_p_fake": [round(float(v), 6) for v in p],
            }
        else:
            models[name] = {"face_score": video_face_score(logits)}
    return {
        "face": face.face,
        "frames": list(face.frames),
        "image_frames": list(face.image_frames),
        "models": models,
    }


def result_record(r: VideoResult) -> dict[str, Any]:
    """A video's result as JSON-able data, thumbnails left out (kept in the work area)."""
    return {
        "video": r.video,
        "score": r.score,
        "status": r.status,
        "reason": r.reason,
        "n_frames": r.n_frames,
        "num_faces": r.num_faces,
        "model_scores": r.model_scores,
        "seconds": r.seconds,
        "faces": [
            {
                "face": f.face,
                "frames": list(f.frames),
                "image_frames": list(f.image_frames),
                "logits": {name: np.asarray(v).tolist() for name, v in f.logits.items()},
            }
            for f in r.faces
        ],
        "timings": r.timings,
        "path": r.path,
    }


def result_from_record(record: Mapping[str, Any]) -> VideoResult:
    """The inverse of :func:`result_record` (float32 logits come back bit for bit)."""
    faces = tuple(
        FaceDetail(
            face=f["face"],
            frames=tuple(f["frames"]),
            image_frames=tuple(f["image_frames"]),
            logits={name: np.asarray(v, np.float32) for name, v in f["logits"].items()},
        )
        for f in record["faces"]
    )
    return VideoResult(**{**record, "faces": faces})


# Failures that may not happen again (a model or the machine failing): scored again next time.
TRANSIENT = ("model_error", "error")


def predict_work_area(
    root: str | os.PathLike,
    checkpoints: Mapping[str, tuple[str | os.PathLike, Mapping[str, Any]]],
    policy: EnsemblePolicy,
    detector: Any,
    options: Mapping[str, Any],
) -> WorkArea:
    """The work area of a folder's predictions: a video's result is reused while the video
    (name, size, mtime), every checkpoint and block, the policy, the detector, the options
    (pictures included) and the code are unchanged."""
    params = {
        "models": {
            name: {"checkpoint": file_digest(path), "block": dict(block)}
            for name, (path, block) in checkpoints.items()
        },
        "policy": policy.to_config(),
        "detector": detector_identity(detector),
        "options": dict(options),
    }
    return WorkArea(root, "predict_videos", params, PREDICT_CODE, ("cv2", "numpy", "torch"))


def write_predictions_json(
    results: Sequence[VideoResult],
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    path: str | os.PathLike,
    pictures: Mapping[str, str] | None = None,
) -> None:
    """Every video's result as JSON: its P(FAKE), status and reason, each model's score, and
    per face the frames each model saw with their P(FAKE) and the face's score per model;
    ``pictures`` maps a video to its picture's path. Written atomically."""
    kinds = {lm.name: lm.cfg.kind for lm in models}
    videos = []
    for r in sorted(results, key=lambda r: r.video):
        videos.append(
            {
                "file": r.video,
                "path": r.path,
                "p_fake": r.score,
                "status": r.status,
                "reason": r.reason,
                "n_frames": r.n_frames,
                "num_faces": r.num_faces,
                "model_scores": r.model_scores,
                "seconds": round(r.seconds, 3),
                "faces": [_face_json(f, kinds, policy) for f in r.faces],
                "picture": (pictures or {}).get(r.video),
            }
        )
    doc = {"format": JSON_FORMAT, "models": [lm.name for lm in models], "videos": videos}
    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def score_videos(
    videos: Sequence[str | os.PathLike],
    detector: BatchDetector,
    models: Sequence[ScoringModel] | ModelSet,
    policy: EnsemblePolicy,
    out_csv: str | os.PathLike,
    *,
    details_csv: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    pictures_dir: str | os.PathLike | None = None,
    work: WorkArea | None = None,
    crop_memory_mb: float = CROP_MEMORY_MB,
    score_image: ImageScorer = score_image_faces,
    score_video: VideoScorer = score_video_faces,
    **options: Any,
) -> list[VideoResult]:
    """Score every video (``options`` go to :func:`prepare_video`), then write the details
    CSV and ``out_csv`` (``filename,label``), one row per video, sorted by file name; with
    ``json_path`` the per-face details as JSON, with ``pictures_dir`` one picture per scored
    video (:mod:`rf_models.report.video_sheet`, drawn as each video is done so that only
    one video's thumbnails are held; the folder is replaced as a whole). With ``work``
    (:func:`predict_work_area`), each video's result and picture are kept there and reused
    while the video and everything else is unchanged; progress lines go to the log.

    ``models``: loaded models, or a :class:`ModelSet`. When the set loads one model at a
    time, videos are cut until their crops reach ``crop_memory_mb`` (at least one video),
    then each model in turn scores that batch; resident models score each video as it is
    cut. The scores are the same either way."""
    model_set = models if isinstance(models, ModelSet) else ModelSet(models)
    models = model_set.models
    check_models(models, policy)
    names = [Path(v).name for v in videos]
    if len(set(names)) != len(names):
        raise ValueError("expected videos with distinct file names, found a name twice")
    kinds = {lm.name: lm.cfg.kind for lm in models}
    budget = 0 if model_set.resident else crop_memory_mb * 2**20
    results = []
    pictures: dict[str, str] = {}
    plan = []
    for video, name in zip(videos, names, strict=True):
        identity = file_identity(video)
        key = work.key(name, file=identity) if work is not None and identity else None
        plan.append((video, key, work.reusable(name, key) if key is not None else None))
    reused = sum(kept is not None for _, _, kept in plan)
    with contextlib.ExitStack() as stack:
        tmp_pictures = (
            stack.enter_context(atomic_output_dir(pictures_dir)) if pictures_dir else None
        )
        progress = stack.enter_context(Progress("predict_videos", len(plan), reused))
        # (number, video, work key, kept result, pending video) waiting for the models
        batch: list[tuple[int, Any, Any, Any, PendingVideo | None]] = []

        def score_batch() -> None:
            pending = [p for *_, p in batch if p is not None and p.done is None]

            def score_with(lm: ScoringModel) -> None:
                for p in pending:
                    p.score([lm], score_image, score_video)

            if pending:
                if not model_set.resident:  # decoding's freed buffers, before the models come
                    release_freed_memory()
                model_set.for_each(score_with)
            for number, video, key, kept, p in batch:
                name = Path(video).name
                picture = Path(tmp_pictures) / picture_name(name) if tmp_pictures else None
                if kept is not None:
                    r = result_from_record(kept.record)
                    if picture is not None:
                        kept.link_into(tmp_pictures)
                else:
                    r = finish_video(p)
                    if picture is not None and r.faces:
                        from rf_models.report.video_sheet import plot_video_sheet

                        plot_video_sheet(r, policy, kinds, picture)
                        r = replace(r, faces=tuple(replace(f, thumbnails=None) for f in r.faces))
                    if key is not None and r.status not in TRANSIENT:
                        with work.commit(name, key) as slot:
                            slot.record = result_record(r)
                            if picture is not None and picture.is_file():
                                link_or_copy(picture, slot.data / picture.name)
                    progress.advance()
                if picture is not None and picture.is_file():
                    pictures[r.video] = str(Path(pictures_dir) / picture.name)
                _log_result(r, number, len(plan))
                results.append(r)
            batch.clear()

        held = 0
        for number, (video, key, kept) in enumerate(plan, start=1):
            pending = None
            if kept is None:
                pending = prepare_video(
                    video, detector, models, policy, thumbnails=tmp_pictures is not None, **options
                )
                held += pending.held_bytes
            batch.append((number, video, key, kept, pending))
            if held >= budget:
                score_batch()
                held = 0
        score_batch()
    if work is not None:
        work.prune(names)
    model_names = [lm.name for lm in models]
    write_details(results, model_names, details_csv or details_path(out_csv))
    if json_path is not None:
        write_predictions_json(results, models, policy, json_path, pictures)
    write_submission({r.video: r.score for r in results}, out_csv, expected_files=names)
    failed = sum(1 for r in results if r.status not in SCORED)
    log.info(
        "scored %d videos (%d with the default score %s); wrote %s",
        len(results),
        failed,
        policy.default_score,
        out_csv,
    )
    return results


def _log_result(r: VideoResult, number: int, total: int) -> None:
    if r.status in SCORED and not r.reason:
        log.info("[%d/%d] %s: %.4f (%.2f s)", number, total, r.video, r.score, r.seconds)
    else:
        log.warning(
            "[%d/%d] %s: %s, score %.4f: %s", number, total, r.video, r.status, r.score, r.reason
        )


@contextlib.contextmanager
def _log_file(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Copy the package's log records (INFO and up) to ``log_path`` for the block's duration."""
    if log_path is None:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package = logging.getLogger("rf_models")
    level = package.level
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
        handler.close()


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


def score_folder(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    checkpoints: Mapping[str, tuple[str | os.PathLike, Mapping[str, Any]]],
    policy_cfg: Mapping[str, Any] | EnsemblePolicy,
    out_csv: str | os.PathLike,
    log_path: str | os.PathLike | None = None,
    *,
    details_csv: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    pictures_dir: str | os.PathLike | None = None,
    work_dir: str | os.PathLike | None = None,
    device: str = "auto",
    detector_weights: str | os.PathLike | None = None,
    detector_backend: str = "auto",
    detector_threads: int | None = None,
    detector_onnx: str | os.PathLike | None = None,
    detect_batch: int = 8,
    max_frames: int = MAX_FRAMES,
    max_faces: int = MAX_FACES,
    score_threshold: float = SCORE_THRESHOLD,
    models_in_memory: str = "auto",
    crop_memory_mb: float = CROP_MEMORY_MB,
) -> list[VideoResult]:
    """Score a folder of videos (or videos and folders, :func:`collect_videos`) into
    ``out_csv`` (``filename,label``), a details CSV and, when given, the JSON details and a
    picture per scored video: the ``predict`` rule and ``python -m rf_models.predict``.

    ``checkpoints`` maps each model's ensemble name to (its training checkpoint, its config
    block); ``policy_cfg`` is the ensemble policy (config.yaml's ensemble.policy). ``device`` runs
    the models and the detector (auto: CUDA when available). The detector options are those of
    :class:`RetinaFaceDetector` (default weights: the shipped file). With ``log_path``, the
    run's log, one line per video and every failure with its reason, is written there too.
    Bad configuration (unknown model, missing checkpoint, no videos) raises; a bad video never
    does. With ``work_dir``, each video's result survives a failed run there and is reused
    (:func:`predict_work_area`). ``models_in_memory`` (auto, all, one) and ``crop_memory_mb``:
    :mod:`rf_models.infer.model_set` and :func:`score_videos`.
    """
    with _log_file(log_path):
        videos = collect_videos(sources)
        policy = (
            policy_cfg
            if isinstance(policy_cfg, EnsemblePolicy)
            else EnsemblePolicy.from_config(policy_cfg)
        )
        resolved = resolve_device(device)
        models = ModelSet.from_checkpoints(checkpoints, resolved, models_in_memory)
        check_models(models.models, policy)
        detector = RetinaFaceDetector(
            weights=detector_weights,
            backend=detector_backend,
            device="cuda" if resolved.type == "cuda" else "cpu",
            threads=detector_threads,
            onnx_path=detector_onnx,
            memory_arena=models.resident,  # models one at a time: the memory-lean mode
        )
        log.info(
            "%d videos; models %s on %s (%s); RetinaFace %s on %s",
            len(videos),
            ", ".join(lm.name for lm in models.models),
            resolved,
            "all in memory" if models.resident else "loaded one at a time",
            detector.backend,
            detector.device,
        )
        options = {
            "max_frames": max_frames,
            "max_faces": max_faces,
            "detect_batch": detect_batch,
            "score_threshold": score_threshold,
        }
        work = (
            predict_work_area(
                work_dir, checkpoints, policy, detector, {**options, "pictures": bool(pictures_dir)}
            )
            if work_dir is not None
            else None
        )
        return score_videos(
            videos,
            detector,
            models,
            policy,
            out_csv,
            details_csv=details_csv,
            json_path=json_path,
            pictures_dir=pictures_dir,
            work=work,
            crop_memory_mb=crop_memory_mb,
            **options,
        )
