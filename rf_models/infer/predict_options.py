"""How predict runs and where it writes (plain data the ``predict`` rule builds while the
workflow parses, so nothing here loads PyTorch)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rf_models.infer.sampling import MAX_FRAMES
from rf_models.track.boxes import SCORE_THRESHOLD

if TYPE_CHECKING:
    from rf_models.infer.policy import EnsemblePolicy
    from rf_models.infer.video_scoring import VideoResult

MAX_FACES = 2
# Crops held before models loaded one at a time score them: at the seed's sides (299 and 256 px,
# 160 frames) a video with two faces holds 142 MB.
CROP_MEMORY_MB = 256

PictureDrawer = Callable[["VideoResult", "EnsemblePolicy", Mapping[str, str], Path], None]
"""``(result, policy, model kinds, path)``: draws a scored video's picture (the report side's
:func:`rf_models.report.video_sheet.plot_video_sheet`)."""


@dataclass(frozen=True)
class PredictOptions:
    """How predict runs: the device of the models and the detector, the detector's weights,
    backend, threads and exported graph, the sampling (frames, faces, detection batch, box
    threshold) and the models' memory (``models_in_memory``: auto, all, one; and
    ``crop_memory_mb``, :mod:`rf_models.infer.model_set`)."""

    device: str = "auto"
    detector_weights: str | None = None
    detector_backend: str = "auto"
    detector_threads: int | None = None
    detector_onnx: str | None = None
    detect_batch: int = 8
    max_frames: int = MAX_FRAMES
    max_faces: int = MAX_FACES
    score_threshold: float = SCORE_THRESHOLD
    models_in_memory: str = "auto"
    crop_memory_mb: float = CROP_MEMORY_MB

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **run: Any) -> PredictOptions:
        """The options a workflow configuration gives (its ``detect``, ``predict`` and
        ``train.device`` keys), the one place both the rule and the command read them;
        ``run`` replaces what only the running job knows (threads, the exported graph)."""
        detect, predict = config["detect"], config["predict"]
        options = cls(
            device=config["train"]["device"],
            detector_weights=detect["weights"],
            detector_backend=detect["backend"],
            detect_batch=detect["batch_size"],
            max_frames=predict["max_frames"],
            max_faces=predict["max_faces"],
            models_in_memory=predict["models_in_memory"],
            crop_memory_mb=predict["crop_memory_mb"],
        )
        return replace(options, **run)

    def sampling(self) -> dict[str, Any]:
        """What :func:`rf_models.infer.video_scoring.prepare_video` takes."""
        return {
            "max_frames": self.max_frames,
            "max_faces": self.max_faces,
            "detect_batch": self.detect_batch,
            "score_threshold": self.score_threshold,
        }


@dataclass(frozen=True)
class PredictOutputs:
    """Where a folder's results go: ``submission`` (``filename,label``), ``details`` (the
    per-video CSV; default ``<name>.details.csv`` beside it), ``predictions_json`` (every face
    and model), ``pictures`` (a folder of ``<video>.png``, drawn by ``draw_picture``) and the
    run's ``log``."""

    submission: Path
    details: Path | None = None
    predictions_json: Path | None = None
    pictures: Path | None = None
    draw_picture: PictureDrawer | None = None
    log: Path | None = None

    def __post_init__(self) -> None:
        if (self.pictures is None) != (self.draw_picture is None):
            raise ValueError("PredictOutputs: pictures and draw_picture go together")

    @classmethod
    def under(
        cls, folder: str | os.PathLike, draw_picture: PictureDrawer | None = None
    ) -> PredictOutputs:
        """The command's layout: everything under ``folder``, pictures when a drawer is given."""
        folder = Path(folder)
        return cls(
            submission=folder / "submission.csv",
            details=folder / "details.csv",
            predictions_json=folder / "predictions.json",
            pictures=folder / "pictures" if draw_picture is not None else None,
            draw_picture=draw_picture,
            log=folder / "predict.log",
        )
