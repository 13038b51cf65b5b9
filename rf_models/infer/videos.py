"""Score new videos end to end: sample frames, detect, track, crop, every model, the ensemble.

The same detector, tracking and policy code as the training half, in the seed's inference
variant (docs/reproduction.md §4, last paragraph, and section 7): every ceil(n/160)-th frame is
decoded once and kept in memory (the crops are cut after tracking, which needs every
detection first: about 160 x W x H x 3 bytes, 1 GB for a 1080p video), boxes are the
detector's corners truncated to integers and kept at score >= 0.8, at most two faces. A bad
video gets the policy's default score (0.5) with a status and a reason; it never stops the
others.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from rf_models.data.manifest import STATUSES as MANIFEST_STATUSES
from rf_models.data.manifest import USABLE
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.run import BatchDetector, detect_frames
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import (
    load_trained_model,
    resolve_device,
    score_image_face,
    score_video_face,
)
from rf_models.infer.submission import write_submission
from rf_models.io_utils import atomic_write_text
from rf_models.track.boxes import SCORE_THRESHOLD, Box
from rf_models.track.tracks import VideoTracks, track_video
from rf_models.video.decode import FrameReader, VideoError, probe_video

log = logging.getLogger(__name__)

MAX_FRAMES = 160
MAX_FACES = 2
# Statuses whose score came from the models; every other status carries the default score.
SCORED = USABLE
# A video's decode and face statuses are the preprocessing manifest's; scoring adds its own.
STATUSES = MANIFEST_STATUSES + ("no_score", "model_error", "error")
_KIND_INPUT = {"image": "frames", "video": "clip"}

Crops = Sequence[np.ndarray]
"""One face's square BGR uint8 crops, one per sampled frame in frame order."""
Scorer = Callable[[Any, Crops], Any]


class ModelConfigLike(Protocol):
    kind: str


class ScoringModel(Protocol):
    """What scoring needs of a loaded model: its ensemble name and its kind (image | video)."""

    name: str
    cfg: ModelConfigLike


@dataclass(frozen=True)
class VideoResult:
    """One video's outcome. ``status`` is one of :data:`STATUSES`; ``score`` is P(FAKE) (the
    policy's default score unless the status is in :data:`SCORED`); ``n_frames`` the video's
    frame count; ``model_scores`` each model's video score (None: no score)."""

    video: str
    score: float
    status: str
    reason: str
    n_frames: int
    num_faces: int
    model_scores: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0


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


def count_frames(path: str | os.PathLike) -> int:
    """Frames of a video whose container does not declare them: its video packets, counted
    without decoding."""
    path = Path(path)
    probe_video(path)  # the checks (missing, empty, no video stream) and their statuses
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoError(path, "unreadable", f"cannot count frames: {err}") from None


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


def face_crops(tracks: VideoTracks, frames: Mapping[int, np.ndarray]) -> list[list[np.ndarray]]:
    """Per kept face, its square crops (views into ``frames``) in frame order.

    Faces whose tube never fell inside the frame (crop size 0) are left out, as in align_faces.
    """
    out = []
    for face in tracks.faces:
        if face.crop_size <= 0:
            continue
        out.append(
            [
                frames[c.source_frame][c.top : c.top + c.size, c.left : c.left + c.size]
                for c in face.frames
            ]
        )
    return out


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


def _decode_and_detect(
    path: Path,
    sampled: Sequence[int],
    detector: BatchDetector,
    batch_size: int,
    score_threshold: float,
) -> tuple[dict[int, np.ndarray], dict[int, list[Box]], str | None]:
    """Decode the sampled frames once, detecting on them in batches as they come."""
    reader = FrameReader(path, wanted=sampled)
    frames: dict[int, np.ndarray] = {}

    def keep() -> Iterator[tuple[int, np.ndarray]]:
        for index, image in reader:
            frames[index] = image
            yield index, image

    boxes = {
        index: boxes_from_detections(found, score_threshold)
        for index, found in detect_frames(keep(), detector, batch_size=batch_size)
    }
    return frames, boxes, reader.error


def score_video_file(
    path: str | os.PathLike,
    detector: BatchDetector,
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    *,
    max_frames: int = MAX_FRAMES,
    max_faces: int = MAX_FACES,
    detect_batch: int = 8,
    score_threshold: float = SCORE_THRESHOLD,
    score_image: Scorer = score_image_face,
    score_video: Scorer = score_video_face,
) -> VideoResult:
    """Score one video; any failure of the video gives the default score with a reason.

    ``models`` are loaded models (``.name`` in the policy, ``.cfg.kind`` image or video);
    ``score_image(model, crops) -> (n, 2)`` and ``score_video(model, crops) -> (2,)`` logits
    default to :mod:`rf_models.infer.scoring`. Image models see every ceil(n/35)-th crop of
    a face, video models all of them. Models that do not fit the policy raise ValueError (a
    configuration error, not a bad video).
    """
    start = time.perf_counter()
    path = Path(path)
    check_models(models, policy)
    names = [lm.name for lm in models]
    n_frames = 0
    num_faces = 0

    def result(status: str, reason: str, score: float | None = None, scores=None) -> VideoResult:
        return VideoResult(
            video=path.name,
            score=policy.default_score if score is None else score,
            status=status,
            reason=reason,
            n_frames=n_frames,
            num_faces=num_faces,
            model_scores={m: (scores or {}).get(m) for m in names},
            seconds=time.perf_counter() - start,
        )

    try:
        n_frames = probe_video(path).declared_frames or count_frames(path)
        if n_frames == 0:
            return result("unreadable", "the video has no frames")
        sampled = sample_frames(n_frames, max_frames)
        frames, boxes, decode_error = _decode_and_detect(
            path, sampled, detector, detect_batch, score_threshold
        )
        if not frames:
            return result("unreadable", decode_error or "no frame could be decoded")
        notes = []
        partial = decode_error is not None or len(frames) < len(sampled)
        if partial:
            notes.append(
                f"{len(frames)} of {len(sampled)} sampled frames decoded"
                + (f" ({decode_error})" if decode_error else "")
            )
        indices = sorted(frames)
        height, width = frames[indices[0]].shape[:2]
        odd = [i for i in indices if frames[i].shape[:2] != (height, width)]
        if odd:
            return result(
                "unreadable",
                f"frame size changes: frame {odd[0]} is {frames[odd[0]].shape[1]}x"
                f"{frames[odd[0]].shape[0]}, frame {indices[0]} {width}x{height}",
            )
        tracks = track_video(boxes, indices, width, height, max_faces=max_faces)
        faces = face_crops(tracks, frames)
        num_faces = len(faces)
        if not faces:
            with_boxes = sum(1 for b in boxes.values() if b)
            return result(
                "no_face",
                f"no face kept ({with_boxes} of {len(indices)} sampled frames had a face at "
                f"score >= {score_threshold}; face-count vote {tracks.vote})",
            )
    except VideoError as err:
        return result(err.status, err.reason)
    except Exception as err:  # a bad video must not stop the folder
        return result("error", f"{type(err).__name__}: {err}")

    per_model: dict[str, dict[str, list[np.ndarray]]] = {}
    for lm in models:
        try:
            if lm.cfg.kind == "image":
                logits = []
                for crops in faces:
                    picked = crops[:: image_frame_step(len(crops), policy)]
                    logits.append(_check_logits(score_image(lm, picked), (len(picked), 2), lm.name))
            else:
                logits = [_check_logits(score_video(lm, crops), (2,), lm.name) for crops in faces]
        except Exception as err:  # the seed gave the whole video the default on any failure
            return result("model_error", f"{lm.name}: {type(err).__name__}: {err}")
        per_model[lm.name] = {path.name: logits}
    details = ensemble_details(per_model, policy, [path.name])[path.name]
    notes.extend(details.notes)
    if details.status != "ok":
        return result("no_score", "; ".join(notes) or "no model produced a score")
    return result(
        "partial" if partial else "ok", "; ".join(notes), details.score, details.model_scores
    )


def list_videos(folder: str | os.PathLike) -> list[Path]:
    """The ``.mp4`` files of ``folder`` (not its subfolders), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of .mp4 videos, found no folder")
    videos = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() == ".mp4" and not p.is_dir()),
        key=lambda p: p.name,
    )
    if not videos:
        raise FileNotFoundError(f"{folder}: expected .mp4 videos, found none")
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


def score_videos(
    videos: Sequence[str | os.PathLike],
    detector: BatchDetector,
    models: Sequence[ScoringModel],
    policy: EnsemblePolicy,
    out_csv: str | os.PathLike,
    *,
    details_csv: str | os.PathLike | None = None,
    **options: Any,
) -> list[VideoResult]:
    """Score every video (``options`` go to :func:`score_video_file`), then write the details
    CSV and ``out_csv`` (``filename,label``), one row per video, sorted by file name."""
    check_models(models, policy)
    names = [Path(v).name for v in videos]
    if len(set(names)) != len(names):
        raise ValueError("expected videos with distinct file names, found a name twice")
    results = []
    for number, video in enumerate(videos, start=1):
        r = score_video_file(video, detector, models, policy, **options)
        if r.status in SCORED and not r.reason:
            log.info("[%d/%d] %s: %.4f (%.2f s)", number, len(videos), r.video, r.score, r.seconds)
        else:
            log.warning(
                "[%d/%d] %s: %s, score %.4f: %s",
                number,
                len(videos),
                r.video,
                r.status,
                r.score,
                r.reason,
            )
        results.append(r)
    model_names = [lm.name for lm in models]
    write_details(results, model_names, details_csv or details_path(out_csv))
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


def score_folder(
    folder: str | os.PathLike,
    checkpoints: Mapping[str, tuple[str | os.PathLike, Mapping[str, Any]]],
    policy_cfg: Mapping[str, Any] | EnsemblePolicy | None,
    out_csv: str | os.PathLike,
    log_path: str | os.PathLike | None = None,
    *,
    details_csv: str | os.PathLike | None = None,
    device: str = "auto",
    detector_weights: str | os.PathLike | None = None,
    detector_backend: str = "auto",
    detector_threads: int | None = None,
    detector_onnx: str | os.PathLike | None = None,
    detect_batch: int = 8,
    max_frames: int = MAX_FRAMES,
    max_faces: int = MAX_FACES,
    score_threshold: float = SCORE_THRESHOLD,
) -> list[VideoResult]:
    """Score every ``.mp4`` of ``folder`` into ``out_csv`` (``filename,label``) and a details CSV.

    ``checkpoints`` maps each model's ensemble name to (its training checkpoint, its config
    block); ``policy_cfg`` is the ensemble policy mapping (None: the seed's). ``device`` runs
    the models and the detector (auto: CUDA when available). The detector options are those of
    :class:`RetinaFaceDetector` (default weights: the shipped file). With ``log_path``, the
    run's log, one line per video and every failure with its reason, is written there too.
    Bad configuration (unknown model, missing checkpoint, no videos) raises; a bad video never
    does.
    """
    with _log_file(log_path):
        videos = list_videos(folder)
        policy = (
            policy_cfg
            if isinstance(policy_cfg, EnsemblePolicy)
            else EnsemblePolicy.from_config(policy_cfg)
        )
        resolved = resolve_device(device)
        models = [
            load_trained_model(path, block, name, resolved)
            for name, (path, block) in checkpoints.items()
        ]
        check_models(models, policy)
        detector = RetinaFaceDetector(
            weights=detector_weights,
            backend=detector_backend,
            device="cuda" if resolved.type == "cuda" else "cpu",
            threads=detector_threads,
            onnx_path=detector_onnx,
        )
        log.info(
            "%d videos in %s; models %s on %s; RetinaFace %s on %s",
            len(videos),
            folder,
            ", ".join(lm.name for lm in models),
            resolved,
            detector.backend,
            detector.device,
        )
        return score_videos(
            videos,
            detector,
            models,
            policy,
            out_csv,
            details_csv=details_csv,
            max_frames=max_frames,
            max_faces=max_faces,
            detect_batch=detect_batch,
            score_threshold=score_threshold,
        )
