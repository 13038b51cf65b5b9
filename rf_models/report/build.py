"""Every report figure and table into one folder, with an index.html that shows them."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rf_models.io_utils import atomic_write_text
from rf_models.report.figures import (
    manifest_summary_table,
    metrics_html_table,
    plot_combiners,
    plot_manifest_summary,
    plot_metrics_table,
    plot_reliability,
    plot_roc,
    plot_score_histograms,
    plot_training_curves,
)

# File name of each output, by the input it needs; the rst captions in rules/report/ share
# the figures' stems.
SCORE_FIGURES = {
    "roc": "roc.png",
    "reliability": "reliability.png",
    "score_histograms": "score_histograms.png",
}
METRIC_OUTPUTS = {
    "metrics_table": "metrics_table.png",
    "combiners": "combiners.png",
    "metrics_html": "metrics_table.html",
}
TRAINING_FIGURES = {"training_curves": "training_curves.png"}
MANIFEST_OUTPUTS = {
    "manifest_summary": "manifest_summary.png",
    "manifest_tsv": "manifest_summary.tsv",
    "manifest_html": "manifest_summary.html",
}

TITLES = {
    "roc": "ROC curves",
    "reliability": "Calibration (reliability diagram)",
    "score_histograms": "Score histograms by class",
    "metrics_table": "Metrics",
    "combiners": "Combiners compared",
    "training_curves": "Training curves",
    "manifest_summary": "Videos per part and status",
}

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}"
    "th{background:#eee}img{max-width:100%;border:1px solid #ddd}"
)


def write_report(
    out_dir: str | os.PathLike,
    scores: str | os.PathLike | None = None,
    metrics: str | os.PathLike | None = None,
    train_metrics: Mapping[str, str | os.PathLike] | None = None,
    manifests: Sequence[str | os.PathLike] | None = None,
) -> dict[str, Path]:
    """Write the figures and tables each given input allows, and index.html; returns the
    written files by key (``roc``, ``metrics_html``, ..., ``index``)."""
    if not (scores or metrics or train_metrics or manifests):
        raise ValueError(
            "report: expected at least one input (scores, metrics, training metrics or "
            "manifests), found none"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if scores:
        plot_roc(scores, out / SCORE_FIGURES["roc"])
        plot_reliability(scores, out / SCORE_FIGURES["reliability"], columns=None)
        plot_score_histograms(scores, out / SCORE_FIGURES["score_histograms"])
        written.update({k: out / v for k, v in SCORE_FIGURES.items()})
    if metrics:
        plot_metrics_table(metrics, out / METRIC_OUTPUTS["metrics_table"])
        plot_combiners(metrics, out / METRIC_OUTPUTS["combiners"])
        atomic_write_text(out / METRIC_OUTPUTS["metrics_html"], metrics_html_table(metrics))
        written.update({k: out / v for k, v in METRIC_OUTPUTS.items()})
    if train_metrics:
        plot_training_curves(train_metrics, out / TRAINING_FIGURES["training_curves"])
        written["training_curves"] = out / TRAINING_FIGURES["training_curves"]
    if manifests:
        plot_manifest_summary(manifests, out / MANIFEST_OUTPUTS["manifest_summary"])
        atomic_write_text(
            out / MANIFEST_OUTPUTS["manifest_tsv"], manifest_summary_table(manifests, fmt="tsv")
        )
        atomic_write_text(
            out / MANIFEST_OUTPUTS["manifest_html"], manifest_summary_table(manifests, fmt="html")
        )
        written.update({k: out / v for k, v in MANIFEST_OUTPUTS.items()})

    body = ["<h1>RobustForensics reproduction: report</h1>"]
    if "metrics_html" in written:
        body += ["<h2>Metrics</h2>", written["metrics_html"].read_text()]
    if "manifest_html" in written:
        body += ["<h2>Videos per part and status</h2>", written["manifest_html"].read_text()]
    for key, title in TITLES.items():
        if key in written:
            src = html.escape(written[key].name)
            body.append(f'<h2>{html.escape(title)}</h2>\n<img src="{src}" alt="{src}">')
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>rf-workflow report</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    atomic_write_text(out / "index.html", page)
    written["index"] = out / "index.html"
    return written
