"""The report's figures, listed once: the rules, the workflow script, the report builder and
the tests all read this list. Importing it loads no plotting library (the workflow imports it
while it builds the DAG)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCES = ("scores", "metrics", "train_metrics", "manifests")


@dataclass(frozen=True)
class FigureSpec:
    name: str  # <name>.png; its caption is rules/report/<name>.rst
    source: str  # the input it draws, one of SOURCES
    title: str
    category: str  # its section in Snakemake's report
    draw: str  # the function of rf_models.report.figures that draws it


FIGURES = (
    FigureSpec("roc", "scores", "ROC curves", "Results", "plot_roc"),
    FigureSpec(
        "reliability",
        "scores",
        "Calibration (reliability diagram)",
        "Results",
        "plot_reliability",
    ),
    FigureSpec(
        "score_histograms",
        "scores",
        "Score histograms by class",
        "Results",
        "plot_score_histograms",
    ),
    FigureSpec("metrics_table", "metrics", "Metrics", "Results", "plot_metrics_table"),
    FigureSpec("combiners", "metrics", "Combiners compared", "Results", "plot_combiners"),
    FigureSpec(
        "training_curves",
        "train_metrics",
        "Training curves",
        "Training and data",
        "plot_training_curves",
    ),
    FigureSpec(
        "manifest_summary",
        "manifests",
        "Videos per part and status",
        "Training and data",
        "plot_manifest_summary",
    ),
)
FIGURE_NAMES = tuple(f.name for f in FIGURES)


def draw_figures(
    sources: Mapping[str, Any], out_paths: Mapping[str, str | os.PathLike]
) -> dict[str, Path]:
    """Draw every figure whose source is given (a scores or metrics CSV, ``{model: training
    metrics.csv}``, a list of manifests) into ``out_paths[name]``; returns what was drawn."""
    from rf_models.report import figures

    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ValueError(f"report: expected sources among {SOURCES}, found {unknown}")
    drawn = {}
    for spec in FIGURES:
        if sources.get(spec.source) and spec.name in out_paths:
            getattr(figures, spec.draw)(sources[spec.source], out_paths[spec.name])
            drawn[spec.name] = Path(out_paths[spec.name])
    return drawn
