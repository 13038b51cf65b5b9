"""Figures of the evaluation: the cross-dataset heat map (models and ensembles by test set)
and the robustness curves (AUC against perturbation level, one line per type)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from rf_models.report.figures.common import message, save

TYPE_COLORS = {
    "CS": "#1f77b4",
    "CC": "#2ca02c",
    "BW": "#d62728",
    "GNC": "#8c564b",
    "GB": "#e377c2",
    "JPEG": "#17becf",
    "VC": "#bcbd22",
}


def _value(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def plot_cross_dataset_heatmap(
    rows: Sequence[Mapping[str, Any]],
    test_sets: Sequence[str],
    out_png: str | os.PathLike,
    column: str = "video_auc",
) -> None:
    """Rows of :func:`rf_models.evaluate.tables.cross_dataset_table` as a heat map of
    ``column`` (video-level ROC AUC by default): one row per model and ensemble, one column
    per test set, each cell written; undefined cells are grey."""
    names = [str(r["name"]) for r in rows]
    values = np.array(
        [[_value(r.get(f"{ts}_{column}")) for ts in test_sets] for r in rows], dtype=float
    ).reshape(len(rows), len(test_sets))
    fig = Figure(figsize=(2.0 + 1.6 * max(1, len(test_sets)), 1.2 + 0.38 * max(1, len(rows))))
    ax = fig.add_subplot()
    if not rows or not test_sets:
        message(ax, "no model was scored on any test set")
        save(fig, out_png)
        return
    masked = np.ma.masked_invalid(values)
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#d5d8dc")
    image = ax.imshow(masked, cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = "n/a" if math.isnan(values[i, j]) else f"{values[i, j]:.3f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(test_sets)), labels=list(test_sets), rotation=20, ha="right")
    ax.set_yticks(range(len(names)), labels=names)
    label = "video-level ROC AUC" if column == "video_auc" else column.replace("_", " ")
    ax.set_title(f"Cross-dataset {label}")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    save(fig, out_png)


def plot_robustness_curves(
    rows: Sequence[Mapping[str, Any]], out_png: str | os.PathLike, column: str = "video_auc"
) -> None:
    """Rows of :func:`rf_models.evaluate.tables.robustness_rows` as one panel per model and
    ensemble (ensembles first): ``column`` against the perturbation level, one line per type,
    each starting from the clean score at level 0."""
    names: list[str] = []
    kinds: dict[str, str] = {}
    for r in rows:
        if r["name"] not in names:
            names.append(str(r["name"]))
            kinds[str(r["name"])] = str(r["type"])
    order = {n: i for i, n in enumerate(names)}
    names.sort(key=lambda n: (kinds[n] != "combiner", order[n]))
    types = [t for t in TYPE_COLORS if any(r["perturbation"] == t for r in rows)]
    cols = min(4, max(1, len(names)))
    grid = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(3.4 * cols, 2.8 * grid + 0.6))
    if not names:
        message(fig.add_subplot(), "no robustness scores")
        save(fig, out_png)
        return
    for k, name in enumerate(names):
        ax = fig.add_subplot(grid, cols, k + 1)
        mine = [r for r in rows if r["name"] == name]
        clean = [_value(r[column]) for r in mine if int(r["level"]) == 0]
        for kind in types:
            points = sorted(
                (int(r["level"]), _value(r[column])) for r in mine if r["perturbation"] == kind
            )
            xs = [0, *(p[0] for p in points)] if clean else [p[0] for p in points]
            ys = [clean[0], *(p[1] for p in points)] if clean else [p[1] for p in points]
            ax.plot(xs, ys, marker="o", ms=3, lw=1.2, color=TYPE_COLORS[kind], label=kind)
        ax.set_title(name, fontsize=10, fontweight="bold" if kinds[name] == "combiner" else None)
        ax.set_xticks(range(0, 6))
        ax.set_ylim(0.0, 1.02)
        ax.axhline(0.5, color="#7f8c8d", lw=0.6, ls=":")
        ax.grid(alpha=0.3)
        if k % cols == 0:
            ax.set_ylabel("video ROC AUC" if column == "video_auc" else column)
        if k >= len(names) - cols:
            ax.set_xlabel("level (0: clean)")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(types), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    save(fig, out_png)
