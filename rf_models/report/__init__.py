"""Report: figures (ROC, calibration, score histograms, metrics, combiners, training curves,
manifests) and tables for Snakemake's report and for ``python -m rf_models.report``.

Names are imported on first use (lazy_loader): the workflow reads the figure registry while
it builds the DAG, without loading matplotlib.
"""

import lazy_loader

_EXPORTS = {
    "build": ["write_report"],
    "figures": [
        "manifest_summary_table",
        "metrics_html_table",
        "plot_combiners",
        "plot_manifest_summary",
        "plot_metrics_table",
        "plot_reliability",
        "plot_roc",
        "plot_score_histograms",
        "plot_training_curves",
    ],
    "inputs": [
        "Scores",
        "read_manifest_counts",
        "read_metrics",
        "read_scores",
        "read_training_metrics",
    ],
}

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)
