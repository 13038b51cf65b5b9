"""One new video scored end to end: sample, detect, track, crop, every model, the ensemble.

The same detector, tracking and policy code as the training half, in the seed's inference
variant (docs/reproduction.md §4, last paragraph, and section 7): every ceil(n/160)-th frame,
boxes as the detector's corners truncated to integers and kept at score >= 0.8, at most two
faces. A bad video gets the policy's default score (0.5) with a status and a reason; it never
stops the others. Levels: :func:`score_crops` (every model over one video's cut crops) and
:func:`score_video` (one video file); :mod:`rf_models.infer.folder` scores a folder.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rf_models.data.manifest import STATUSES as MANIFEST_STATUSES
from rf_models.data.manifest import USABLE
from rf_models.detect.run import BatchDetector
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.predict_options import MAX_FACES
from rf_models.infer.sampled import CutFaces, FaceCrops, cut_faces, detect_sampled
from rf_models.infer.sampling import MAX_FRAMES, sample_frames
from rf_models.infer.scoring import clip_logits_by_face, image_logits_by_face, infer_size
from rf_models.track.boxes import SCORE_THRESHOLD
from rf_models.track.tracks import track_video
from rf_models.video.decode import VideoError, probe_video

# Statuses whose score came from the models; every other status carries the default score.
SCORED = USABLE
# A video's decode and face statuses are the preprocessing manifest's; scoring adds its own.
STATUSES = MANIFEST_STATUSES + ("no_score", "model_error", "error")
# Failures that may not happen again (a model or the machine failing): scored again next time.
TRANSIENT = ("model_error", "error")
_KIND_INPUT = {"image": "frames", "video": "clip"}

ImageScorer = Callable[[Any, Sequence[FaceCrops]], Sequence[Any]]
"""``(model, per-face crops) -> per-face (n, 2) logits``, all faces in one call."""
ClipScorer = Callable[[Any, Sequence[FaceCrops]], Any]
"""``(model, per-face clips) -> (n_faces, 2) logits``, all faces in one call."""
THUMBNAIL = 64  # side of the crops kept for the per-video picture


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


class ModelError(RuntimeError):
    """A model failed on a video (the video gets the default score)."""


def score_crops(
    models: Sequence[ScoringModel],
    cut: CutFaces,
    policy: EnsemblePolicy,
    image_scorer: ImageScorer = image_logits_by_face,
    clip_scorer: ClipScorer = clip_logits_by_face,
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
                found = list(image_scorer(lm, picked))
                if len(found) != len(picked):
                    raise ValueError(f"expected logits for {len(picked)} faces, found {len(found)}")
                logits = [
                    _check_logits(v, (len(f), 2), lm.name)
                    for v, f in zip(found, picked, strict=True)
                ]
            else:
                found = _check_logits(clip_scorer(lm, faces), (len(faces), 2), lm.name)
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
        image_scorer: ImageScorer = image_logits_by_face,
        clip_scorer: ClipScorer = clip_logits_by_face,
    ) -> None:
        """Add ``models``' per-face logits (:func:`score_crops`), unless the video finished
        early or a model already failed on it."""
        if self.done is not None or self.error is not None:
            return
        try:
            found = score_crops(
                models, self.cut, self.policy, image_scorer, clip_scorer, self.timings
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


def score_video(
    path: str | os.PathLike,
    detector: BatchDetector,
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    *,
    image_scorer: ImageScorer = image_logits_by_face,
    clip_scorer: ClipScorer = clip_logits_by_face,
    **options: Any,
) -> VideoResult:
    """Score one video; any failure of the video gives the default score with a reason.

    ``models`` are loaded models (``.name`` in the policy, ``.cfg`` with kind image or video
    and the input side); ``image_scorer(model, faces) -> per-face (n, 2)`` and
    ``clip_scorer(model, faces) -> (n_faces, 2)`` logits default to
    :mod:`rf_models.infer.scoring`. Image models see every ceil(n/35)-th crop of a face,
    video models all of them. Models that do not fit the policy raise ValueError (a
    configuration error, not a bad video). ``options`` are :func:`prepare_video`'s
    (``thumbnails`` keeps small crops for a picture).
    """
    check_models(models, policy)
    pending = prepare_video(path, detector, models, policy, **options)
    pending.score(models, image_scorer, clip_scorer)
    return finish_video(pending)
