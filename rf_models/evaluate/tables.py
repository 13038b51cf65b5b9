"""The evaluation tables, from the ensemble stage's metrics of each test set or condition.

Each test set (or perturbed copy of one) is scored by :func:`rf_models.infer.ensemble_stage.
run_ensemble`, which writes ``metrics.csv``: per model and combiner a video-level row (with
95% bootstrap intervals) and, for image models, a frame-level row. This module gathers them:

- :func:`gather_metrics`: every row of every test set, with a ``test_set`` column (long form);
- :func:`cross_dataset_table`: one row per model and ensemble, per test set its videos (and
  those scored), the video-level ROC AUC, AP, EER and log loss with their intervals, and the
  frame-level AUC (DeepfakeBench's headline);
- :func:`robustness_rows`: per model and ensemble, per perturbation type and level (level 0:
  the clean test set), the video- and frame-level AUC and the log loss.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rf_models.io_utils import atomic_write_text

# Per test set, the columns of the cross-dataset table (video level unless "frame_"), each
# from its metrics row (column of the video row, or of the frame row for "frame_").
# n: labelled videos; n_scored: those some model scored (the others get the default score).
_TABLE_SOURCES = {
    "n": "n",
    "n_scored": "n_scored",
    "video_auc": "roc_auc",
    "video_auc_ci_low": "roc_auc_ci_low",
    "video_auc_ci_high": "roc_auc_ci_high",
    "frame_auc": "roc_auc",
    "average_precision": "average_precision",
    "average_precision_ci_low": "average_precision_ci_low",
    "average_precision_ci_high": "average_precision_ci_high",
    "eer": "eer",
    "eer_ci_low": "eer_ci_low",
    "eer_ci_high": "eer_ci_high",
    "log_loss": "log_loss",
    "log_loss_ci_low": "log_loss_ci_low",
    "log_loss_ci_high": "log_loss_ci_high",
}
TABLE_COLUMNS = tuple(_TABLE_SOURCES)
ROBUSTNESS_COLUMNS = (
    "name",
    "type",
    "perturbation",
    "level",
    "n",
    "video_auc",
    "video_auc_ci_low",
    "video_auc_ci_high",
    "frame_auc",
    "log_loss",
)


def read_metrics(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of an ensemble ``metrics.csv``; an error naming the file when it is not one."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    needed = {"name", "type", "level", "roc_auc", "log_loss"}
    if rows and not needed <= set(rows[0]):
        found = list(rows[0])
        raise ValueError(f"{path}: expected metrics columns {sorted(needed)}, found {found}")
    return rows


def _number(value: str | None) -> float:
    return float(value) if value not in (None, "") else math.nan


def _by_name(rows: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """(name, level) -> row."""
    return {(r["name"], r["level"]): dict(r) for r in rows}


def gather_metrics(metrics: Mapping[str, str | os.PathLike]) -> list[dict[str, Any]]:
    """Every row of every test set's metrics (``{test set: metrics.csv}``), ``test_set``
    first."""
    out = []
    for test_set, path in metrics.items():
        for row in read_metrics(path):
            out.append({"test_set": test_set, **row})
    return out


def cross_dataset_table(
    metrics: Mapping[str, str | os.PathLike],
) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of the cross-dataset table: a row per model and ensemble in the first
    test set's order (then any others), ``<test set>_<column>`` per :data:`TABLE_COLUMNS`;
    NaN where a test set cannot define a value (one class, no frame level)."""
    per_set = {name: _by_name(read_metrics(path)) for name, path in metrics.items()}
    names: list[tuple[str, str]] = []
    for rows in per_set.values():
        for (name, level), row in rows.items():
            if level == "video" and (name, row["type"]) not in names:
                names.append((name, row["type"]))
    columns = ["name", "type", *(f"{ts}_{c}" for ts in metrics for c in TABLE_COLUMNS)]
    table = []
    for name, kind in names:
        row: dict[str, Any] = {"name": name, "type": kind}
        for ts, rows in per_set.items():
            video = rows.get((name, "video"), {})
            frame = rows.get((name, "frame"), {})
            for column, source in _TABLE_SOURCES.items():
                value = _number((frame if column == "frame_auc" else video).get(source))
                if column in ("n", "n_scored") and not math.isnan(value):
                    value = int(value)
                row[f"{ts}_{column}"] = value
        table.append(row)
    return columns, table


CLEAN = "clean"  # the grid's parts unperturbed: level 0


def robustness_rows(conditions: Mapping[str, str | os.PathLike]) -> list[dict[str, Any]]:
    """Rows of :data:`ROBUSTNESS_COLUMNS` from ``{condition: metrics.csv}``: per model and
    ensemble, ``clean`` at level 0 (perturbation ``none``) and each perturbation at its
    level (``GB3``: Gaussian blur, level 3)."""
    from rf_models.perturb.protocol import parse_perturbation

    sources: list[tuple[str, int, str | os.PathLike]] = []
    for name, path in conditions.items():
        if name == CLEAN:
            sources.append(("none", 0, path))
        else:
            p = parse_perturbation(name)
            sources.append((p.type, p.level, path))
    out = []
    for perturbation, level, path in sources:
        rows = _by_name(read_metrics(path))
        for (name, lvl), video in rows.items():
            if lvl != "video":
                continue
            frame = rows.get((name, "frame"), {})
            out.append(
                {
                    "name": name,
                    "type": video["type"],
                    "perturbation": perturbation,
                    "level": level,
                    "n": int(_number(video.get("n"))),
                    "video_auc": _number(video.get("roc_auc")),
                    "video_auc_ci_low": _number(video.get("roc_auc_ci_low")),
                    "video_auc_ci_high": _number(video.get("roc_auc_ci_high")),
                    "frame_auc": _number(frame.get("roc_auc")),
                    "log_loss": _number(video.get("log_loss")),
                }
            )
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    return value


def write_rows(path: str | os.PathLike, columns: Sequence[str], rows: Sequence[Mapping]) -> None:
    """Rows as CSV with these columns (NaN written ``NaN``), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
