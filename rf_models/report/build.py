"""Every report figure and table into one folder, with an index.html that shows them."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rf_models.io_utils import atomic_write_text
from rf_models.report.figures import manifest_summary_table, metrics_html_table
from rf_models.report.registry import FIGURES, draw_figures

# The tables besides the figures (file names by key).
TABLES = {
    "metrics_html": ("metrics", "metrics_table.html"),
    "manifest_tsv": ("manifests", "manifest_summary.tsv"),
    "manifest_html": ("manifests", "manifest_summary.html"),
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
    sources = {
        "scores": scores,
        "metrics": metrics,
        "train_metrics": train_metrics,
        "manifests": manifests,
    }
    written = draw_figures(sources, {f.name: out / f"{f.name}.png" for f in FIGURES})
    if metrics:
        atomic_write_text(out / TABLES["metrics_html"][1], metrics_html_table(metrics))
    if manifests:
        atomic_write_text(out / TABLES["manifest_tsv"][1], manifest_summary_table(manifests, "tsv"))
        atomic_write_text(
            out / TABLES["manifest_html"][1], manifest_summary_table(manifests, "html")
        )
    written.update({k: out / name for k, (src, name) in TABLES.items() if sources[src]})

    body = ["<h1>RobustForensics reproduction: report</h1>"]
    if "metrics_html" in written:
        body += ["<h2>Metrics</h2>", written["metrics_html"].read_text()]
    if "manifest_html" in written:
        body += ["<h2>Videos per part and status</h2>", written["manifest_html"].read_text()]
    for spec in FIGURES:
        if spec.name in written:
            src = html.escape(written[spec.name].name)
            body.append(f'<h2>{html.escape(spec.title)}</h2>\n<img src="{src}" alt="{src}">')
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>rf-workflow report</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    atomic_write_text(out / "index.html", page)
    written["index"] = out / "index.html"
    return written
