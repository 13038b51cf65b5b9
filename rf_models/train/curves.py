"""Training metrics table and curves, rewritten atomically from the full history."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rf_models.io_utils import atomic_output_file, atomic_write_text  # noqa: E402

COLUMNS = (
    "iteration",
    "lr",
    "train_loss",
    "val_loss",
    "val_auc",
    "val_logloss",
    "skipped_train",
    "skipped_val",
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_metrics_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """One row per logged iteration; empty cells where a value was not measured."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_fmt(row.get(c, float("nan"))) for c in COLUMNS])
    atomic_write_text(path, buf.getvalue())


def plot_curves(rows: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> None:
    """Four panels: train and val loss, learning rate, val AUC, val log loss."""

    def series(key: str) -> tuple[list[int], list[float]]:
        pts = [(r["iteration"], r[key]) for r in rows if not math.isnan(r.get(key, math.nan))]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    ax.plot(*series("train_loss"), label="train (weighted CE)")
    ax.plot(*series("val_loss"), "o-", label="val (weighted CE)")
    ax.set_title("loss")
    ax.legend()
    axes[0, 1].plot(*series("lr"), drawstyle="steps-post")
    axes[0, 1].set_title("learning rate")
    axes[1, 0].plot(*series("val_auc"), "o-")
    axes[1, 0].set_title("val AUC")
    axes[1, 0].set_ylim(0, 1.02)
    axes[1, 1].plot(*series("val_logloss"), "o-")
    axes[1, 1].set_title("val log loss (unweighted)")
    for a in axes.flat:
        a.set_xlabel("iteration")
        a.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_output_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
