"""Report: figures (ROC, calibration, score histograms, metrics, combiners, training curves,
manifests) and tables for Snakemake's report and for ``python -m rf_models.report``.

Names are imported on first use (rf_models.lazy): the workflow reads the figure registry while
it builds the DAG, without loading matplotlib.
"""

from rf_models.lazy import lazy_exports

_SOURCES = {
    "write_report": "build",
    "manifest_summary_table": "figures",
    "metrics_html_table": "figures",
    "plot_combiners": "figures",
    "plot_manifest_summary": "figures",
    "plot_metrics_table": "figures",
    "plot_reliability": "figures",
    "plot_roc": "figures",
    "plot_score_histograms": "figures",
    "plot_training_curves": "figures",
    "Scores": "inputs",
    "read_manifest_counts": "inputs",
    "read_metrics": "inputs",
    "read_scores": "inputs",
    "read_training_metrics": "inputs",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
