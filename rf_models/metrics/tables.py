"""Metric rows at video and frame level, and their CSV / JSON files (written atomically)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rf_models.io_utils import atomic_write_text
from rf_models.metrics.binary import binary_metrics
from rf_models.metrics.bootstrap import bootstrap_intervals


def video_and_frame_metrics(
    video_labels: Mapping[str, int],
    video_scores: Mapping[str, float],
    frame_scores: Mapping[str, Sequence[float]] | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One metrics row for the video level, with 95% bootstrap intervals
    (``<metric>_ci_low`` / ``_ci_high``, see ``bootstrap``), and, given ``frame_scores``, one
    for the frame level (each frame carries its video's label; no intervals).

    Every labelled video must have a video score (a missing one is an error, never a silent
    drop); a video without frame scores (no face) adds no frames. Scores of unlabelled videos
    are not counted. ``context`` (e.g. model, split) leads each row.
    """
    missing = sorted(set(video_labels) - set(video_scores))
    if missing:
        raise ValueError(
            f"metrics: expected a score for each of the {len(video_labels)} labelled videos, "
            f"{len(missing)} have none, e.g. {missing[:5]}"
        )
    ids = sorted(video_labels)
    head = dict(context or {})
    y, p = [video_labels[v] for v in ids], [video_scores[v] for v in ids]
    rows = [{**head, "level": "video", **binary_metrics(y, p), **bootstrap_intervals(y, p)}]
    if frame_scores is not None:
        labels, scores = [np.zeros(0)], [np.zeros(0)]  # no labelled video: no frames, no crash
        for vid in ids:
            frames = np.asarray(frame_scores.get(vid, []), dtype=np.float64).reshape(-1)
            labels.append(np.full(frames.size, video_labels[vid]))
            scores.append(frames)
        rows.append(
            {
                **head,
                "level": "frame",
                **binary_metrics(np.concatenate(labels), np.concatenate(scores)),
            }
        )
    return rows


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN / inf to None (JSON has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_metrics_json(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows as a JSON list; undefined metrics (NaN) become null."""
    text = json.dumps(_plain(list(rows)), indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else repr(float(value))
    return value


def write_metrics_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows as CSV with the union of their keys as columns, in first-seen order; NaN is
    written as "NaN" (read back as NaN by pandas), a missing key as an empty cell."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())
