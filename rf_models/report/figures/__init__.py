"""The report's figures and tables, by family; each function reads its inputs and writes one
file atomically. rf_models.report.registry lists them."""

from rf_models.report.figures.manifests import manifest_summary_table, plot_manifest_summary
from rf_models.report.figures.metrics import metrics_html_table, plot_combiners, plot_metrics_table
from rf_models.report.figures.scores import plot_reliability, plot_roc, plot_score_histograms
from rf_models.report.figures.training import plot_training_curves

__all__ = [
    "manifest_summary_table",
    "metrics_html_table",
    "plot_combiners",
    "plot_manifest_summary",
    "plot_metrics_table",
    "plot_reliability",
    "plot_roc",
    "plot_score_histograms",
    "plot_training_curves",
]
