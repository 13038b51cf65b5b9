"""What predict writes for a folder of videos: the details CSV, the JSON of every face and
model, and the per-video record its work area keeps (``submission.csv`` itself is
:mod:`rf_models.infer.submission`'s)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rf_models.infer.policy import EnsemblePolicy, image_face_score, video_face_score
from rf_models.infer.video_scoring import FaceDetail, ScoringModel, VideoResult
from rf_models.io_utils import atomic_write_text

JSON_FORMAT = "rf_models.predict/1"


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
