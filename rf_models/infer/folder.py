"""A folder of new videos scored into ``submission.csv``: the ``predict`` rule and
``python -m rf_models.predict``.

:func:`predict_folder` sets a run up from checkpoints and ``PredictOptions`` (models,
detector, work area, log file); :func:`score_folder` scores the videos through the per-video
resume loop (rf_models/resume_loop.py). When the models are loaded one at a time, videos are
cut until their crops fill ``crop_memory_mb`` (at least one video), then each model in turn
scores that batch; resident models score each video as it is cut. The scores are the same
either way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.run import BatchDetector, detector_identity
from rf_models.infer.model_set import ModelSet, release_freed_memory
from rf_models.infer.policy import EnsemblePolicy
from rf_models.infer.predict_options import PictureDrawer, PredictOptions, PredictOutputs
from rf_models.infer.predict_outputs import (
    details_path,
    picture_name,
    result_from_record,
    result_record,
    write_details,
    write_predictions_json,
)
from rf_models.infer.scoring import clip_logits_by_face, image_logits_by_face, resolve_device
from rf_models.infer.submission import write_submission
from rf_models.infer.video_scoring import (
    SCORED,
    TRANSIENT,
    ClipScorer,
    ImageScorer,
    PendingVideo,
    ScoringModel,
    VideoResult,
    check_models,
    finish_video,
    prepare_video,
)
from rf_models.resume_loop import LoopRun, Planned, VideoLoop
from rf_models.video.decode import collect_videos
from rf_models.work_area import file_digest, file_identity
from rf_models.workflow import log_to_file

log = logging.getLogger(__name__)

STAGE = "predict_videos"
# The code a video's prediction depends on (rf_models.work_area.code_version); the module that
# draws the pictures is added when there are pictures.
PREDICT_CODE = (
    __name__,
    "rf_models.detect.backends",
    "rf_models.detect.postprocess",
    "rf_models.detect.run",
    "rf_models.infer.policy",
    "rf_models.infer.predict_outputs",
    "rf_models.infer.sampled",
    "rf_models.infer.sampling",
    "rf_models.infer.scoring",
    "rf_models.infer.video_scoring",
    "rf_models.models.factory",
    "rf_models.models.slowfast",
    "rf_models.track.boxes",
    "rf_models.track.tracks",
    "rf_models.video.decode",
)
PREDICT_LIBRARIES = ("cv2", "numpy", "torch")


def predict_work_params(
    checkpoints: Mapping[str, tuple[str | os.PathLike, Mapping[str, Any]]],
    policy: EnsemblePolicy,
    detector: Any,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """What a folder's predictions depend on besides each video and the code: every checkpoint
    and block, the policy, the detector and the options (pictures included)."""
    return {
        "models": {
            name: {"checkpoint": file_digest(path), "block": dict(block)}
            for name, (path, block) in checkpoints.items()
        },
        "policy": policy.to_config(),
        "detector": detector_identity(detector),
        "options": dict(options),
    }


def predict_loop(
    work_dir: str | os.PathLike | None,
    params: Mapping[str, Any],
    draw_picture: PictureDrawer | None = None,
) -> VideoLoop:
    """The resume loop of a folder's predictions (no work area when ``work_dir`` is None)."""
    modules = [*PREDICT_CODE, *([draw_picture.__module__] if draw_picture else [])]
    return VideoLoop(work_dir, STAGE, params, modules, PREDICT_LIBRARIES)


class _Batch:
    """Videos cut and waiting for the models (their crops held in memory): scored together,
    then each finished, drawn and committed to the work area in plan order."""

    def __init__(
        self,
        models: ModelSet,
        policy: EnsemblePolicy,
        run: LoopRun,
        outputs: PredictOutputs,
        image_scorer: ImageScorer,
        clip_scorer: ClipScorer,
    ) -> None:
        self.models, self.policy, self.run, self.outputs = models, policy, run, outputs
        self.image_scorer, self.clip_scorer = image_scorer, clip_scorer
        self.kinds = {lm.name: lm.cfg.kind for lm in models.models}
        self.items: list[tuple[Planned, PendingVideo | None]] = []
        self.held = 0

    def add(self, item: Planned, pending: PendingVideo | None) -> None:
        self.items.append((item, pending))
        self.held += 0 if pending is None else pending.held_bytes

    def flush(self) -> list[VideoResult]:
        waiting = [p for _, p in self.items if p is not None and p.done is None]
        if waiting:
            if not self.models.resident:  # decoding's freed buffers, before the models come
                release_freed_memory()
            self.models.for_each(
                lambda lm: [p.score([lm], self.image_scorer, self.clip_scorer) for p in waiting]
            )
        results = [self._finish(item, pending) for item, pending in self.items]
        self.items.clear()
        self.held = 0
        return results

    def _finish(self, item: Planned, pending: PendingVideo | None) -> VideoResult:
        if pending is None:
            return result_from_record(item.kept.record)
        with self.run.slot(item) as slot:
            r = finish_video(pending)
            draw = self.outputs.draw_picture
            if draw is not None and r.faces:
                draw(r, self.policy, self.kinds, slot.data / picture_name(r.video))
                r = replace(r, faces=tuple(replace(f, thumbnails=None) for f in r.faces))
            slot.record = result_record(r)
            slot.store = r.status not in TRANSIENT
        return r


def score_folder(
    videos: Sequence[str | os.PathLike],
    detector: BatchDetector,
    models: Sequence[ScoringModel] | ModelSet,
    policy: EnsemblePolicy,
    outputs: PredictOutputs,
    *,
    options: PredictOptions | None = None,
    loop: VideoLoop | None = None,
    image_scorer: ImageScorer = image_logits_by_face,
    clip_scorer: ClipScorer = clip_logits_by_face,
) -> list[VideoResult]:
    """Score every video, then write the details CSV and the submission (one row per video,
    sorted by file name), the JSON details and a picture per scored video when ``outputs``
    asks for them (drawn as each video is done, so that only one video's thumbnails are held;
    the pictures folder is replaced as a whole). With ``loop`` (:func:`predict_loop`), each
    video's result and picture are kept in its work area and reused while the video and
    everything else is unchanged.

    ``models``: loaded models, or a :class:`ModelSet`; ``options`` gives the sampling and the
    crop memory budget (:class:`PredictOptions`)."""
    options = options or PredictOptions()
    model_set = models if isinstance(models, ModelSet) else ModelSet(models)
    check_models(model_set.models, policy)
    names = [Path(v).name for v in videos]
    if len(set(names)) != len(names):
        raise ValueError("expected videos with distinct file names, found a name twice")
    loop = loop or predict_loop(None, {})
    budget = 0 if model_set.resident else options.crop_memory_mb * 2**20
    items = []
    for video, name in zip(videos, names, strict=True):
        identity = file_identity(video) if loop.keeps else None
        items.append(loop.plan(name, Path(video), {"file": identity} if identity else None))
    results: list[VideoResult] = []
    thumbnails = outputs.pictures is not None
    with loop.run(items, outputs.pictures, STAGE) as run:
        batch = _Batch(model_set, policy, run, outputs, image_scorer, clip_scorer)

        def flush() -> None:
            for r in batch.flush():
                results.append(r)
                _log_result(r, len(results), len(items))

        for item in items:
            pending = None
            if not item.reused:
                pending = prepare_video(
                    item.payload,
                    detector,
                    model_set.models,
                    policy,
                    thumbnails=thumbnails,
                    **options.sampling(),
                )
            batch.add(item, pending)
            if batch.held >= budget:
                flush()
        flush()
    pictures = {}
    if outputs.pictures is not None:
        for r in results:
            path = Path(outputs.pictures) / picture_name(r.video)
            if path.is_file():
                pictures[r.video] = str(path)
    model_names = [lm.name for lm in model_set.models]
    write_details(results, model_names, outputs.details or details_path(outputs.submission))
    if outputs.predictions_json is not None:
        write_predictions_json(
            results, model_set.models, policy, outputs.predictions_json, pictures
        )
    write_submission({r.video: r.score for r in results}, outputs.submission, expected_files=names)
    failed = sum(1 for r in results if r.status not in SCORED)
    log.info(
        "scored %d videos (%d with the default score %s); wrote %s",
        len(results),
        failed,
        policy.default_score,
        outputs.submission,
    )
    return results


def _log_result(r: VideoResult, number: int, total: int) -> None:
    if r.status in SCORED and not r.reason:
        log.info("[%d/%d] %s: %.4f (%.2f s)", number, total, r.video, r.score, r.seconds)
    else:
        log.warning(
            "[%d/%d] %s: %s, score %.4f: %s", number, total, r.video, r.status, r.score, r.reason
        )


def predict_folder(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    checkpoints: Mapping[str, tuple[str | os.PathLike, Mapping[str, Any]]],
    policy_cfg: Mapping[str, Any] | EnsemblePolicy,
    outputs: PredictOutputs,
    options: PredictOptions | None = None,
    work_dir: str | os.PathLike | None = None,
) -> list[VideoResult]:
    """Score a folder of videos (or videos and folders, :func:`rf_models.video.decode.
    collect_videos`) into ``outputs``.

    ``checkpoints`` maps each model's ensemble name to (its training checkpoint, its config
    block); ``policy_cfg`` is the ensemble policy (config.yaml's ensemble.policy). The run's
    log, one line per video and every failure with its reason, goes to ``outputs.log`` too.
    Bad configuration (unknown model, missing checkpoint, no videos) raises; a bad video never
    does. With ``work_dir``, each video's result survives a failed run there and is reused.
    """
    options = options or PredictOptions()
    with log_to_file(outputs.log):
        videos = collect_videos(sources)
        policy = (
            policy_cfg
            if isinstance(policy_cfg, EnsemblePolicy)
            else EnsemblePolicy.from_config(policy_cfg)
        )
        resolved = resolve_device(options.device)
        models = ModelSet.from_checkpoints(checkpoints, resolved, options.models_in_memory)
        check_models(models.models, policy)
        detector = RetinaFaceDetector(
            weights=options.detector_weights,
            backend=options.detector_backend,
            device="cuda" if resolved.type == "cuda" else "cpu",
            threads=options.detector_threads,
            onnx_path=options.detector_onnx,
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
        recorded = {**options.sampling(), "pictures": outputs.pictures is not None}
        params = predict_work_params(checkpoints, policy, detector, recorded)
        loop = predict_loop(work_dir, params, outputs.draw_picture)
        return score_folder(videos, detector, models, policy, outputs, options=options, loop=loop)
