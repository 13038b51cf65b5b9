"""Report: figures (ROC, calibration, score histograms, metrics, combiners, training curves,
manifests) and tables for Snakemake's report and for ``python -m rf_models.report``."""

from rf_models.report.build import write_report
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
from rf_models.report.inputs import (
    Scores,
    read_manifest_counts,
    read_metrics,
    read_scores,
    read_training_metrics,
)

__all__ = [
    "Scores",
    "manifest_summary_table",
    "metrics_html_table",
    "plot_combiners",
    "plot_manifest_summary",
    "plot_metrics_table",
    "plot_reliability",
    "plot_roc",
    "plot_score_histograms",
    "plot_training_curves",
    "read_manifest_counts",
    "read_metrics",
    "read_scores",
    "read_training_metrics",
    "write_report",
]
