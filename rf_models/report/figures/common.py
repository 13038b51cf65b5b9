"""What every report figure shares: colours, metric display, saving, empty-panel messages.

Figures are built on :class:`matplotlib.figure.Figure` (rendered by Agg), never through
pyplot, so no global figure state or GUI backend is involved. A figure whose data cannot
define what it shows (one class, no scores, no rows) says so on the figure instead of
failing: the report still builds and the reader sees why a panel is empty.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rf_models.io_utils import atomic_output_file
from rf_models.report.inputs import (
    Scores,
)

DPI = 100
FAKE_COLOR, REAL_COLOR, UNLABELLED_COLOR = "#c0392b", "#2471a3", "#7f8c8d"
# Combiners keep one colour in every figure; calibrated variants are dashed.
COMBINER_COLORS = {"seed_policy": "black", "mean": "#8e44ad", "stacking": "#d35400"}
STATUS_COLORS = {
    "ok": "#27ae60",
    "partial": "#a9dfbf",
    "no_face": "#f39c12",
    "unreadable": "#c0392b",
    "empty_file": "#8e44ad",
    "missing": "#7f8c8d",
    "not_in_metadata": "#6e2c00",
    "bad_metadata": "#e74c3c",
}
# Metric columns of the tables: header, formatter, which way is better.
METRIC_DISPLAY = {
    "n": ("n", "{:.0f}", None),
    "n_fake": ("FAKE", "{:.0f}", None),
    "n_real": ("REAL", "{:.0f}", None),
    "log_loss": ("log loss ↓", "{:.4f}", "min"),
    "roc_auc": ("ROC AUC ↑", "{:.4f}", "max"),
    "average_precision": ("AP ↑", "{:.4f}", "max"),
    "eer": ("EER ↓", "{:.4f}", "min"),
    "accuracy": ("accuracy ↑", "{:.4f}", "max"),
}
CHANCE_LOG_LOSS = math.log(2.0)  # every video scored 0.5


def save(fig: Figure, out_png: str | os.PathLike) -> None:
    with atomic_output_file(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def message(ax: Axes, text: str, fontsize: int = 12) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=fontsize,
        wrap=True,
        bbox={"boxstyle": "round", "facecolor": "#fdf2e9", "edgecolor": "#e59866"},
    )


def line_styles(
    names: Sequence[str], combiners: Collection[str] = (), models: Sequence[str] | None = None
) -> dict[str, dict]:
    """Line style per column: combiners bold in their base combiner's colour (variants such
    as calibrated ones dashed), models thin from a palette. A model's colour is its place
    among ``models`` (default: the models of ``names``) sorted by name, so figures that draw
    different subsets of one report's models agree on every model's colour."""
    # tab10/tab20b without the purples, oranges and greys the combiners use
    palette = [
        "#1f77b4", "#2ca02c", "#d62728", "#8c564b", "#e377c2", "#17becf",
        "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#6baed6",
        "#74c476",
    ]  # fmt: skip
    extra = ["#5d6d7e", "#b7950b", "#1abc9c", "#922b21"]  # combiners of no known base
    order = sorted({n for n in (names if models is None else models) if n not in combiners})
    out, e = {}, 0
    for name in names:
        if name in combiners:
            base = max((c for c in COMBINER_COLORS if name.startswith(c)), key=len, default=None)
            if base is None:
                color, e = extra[e % len(extra)], e + 1
            else:
                color = COMBINER_COLORS[base]
            out[name] = {"color": color, "lw": 2.6, "ls": "-" if name == base else "--"}
        else:
            place = order.index(name) if name in order else len(order)
            out[name] = {"color": palette[place % len(palette)], "lw": 1.3, "ls": "-"}
    return out


def pick_columns(scores: Scores, columns: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(present, absent) of the requested columns; all columns, combiners first, by default."""
    if columns is None:
        return [*scores.combiners, *scores.models], []
    if isinstance(columns, str):
        columns = [columns]
    present = [c for c in columns if c in scores.columns]
    return present, [c for c in columns if c not in scores.columns]


def class_text(y: np.ndarray) -> str:
    n_fake = int(np.sum(y == 1))
    return f"{len(y)} labelled videos: {n_fake} FAKE, {len(y) - n_fake} REAL"


def absent_note(absent: Sequence[str], path: Path) -> str:
    return f"\nnot in {path.name}: {', '.join(absent)}" if absent else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
