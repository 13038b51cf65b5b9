from pathlib import Path

from rf_models.evaluate.tables import ROBUSTNESS_COLUMNS, robustness_rows, write_rows
from rf_models.report.figures.evaluation import plot_robustness_curves
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    metrics = dict(zip(sm.params.conditions, sm.input.metrics, strict=True))
    rows = robustness_rows(metrics)
    write_rows(sm.output.table, ROBUSTNESS_COLUMNS, rows)
    plot_robustness_curves(rows, Path(sm.output.figure))
    log.info("%d conditions, %d rows", len(metrics), len(rows))
