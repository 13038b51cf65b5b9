from pathlib import Path

from rf_models.evaluate.tables import cross_dataset_table, gather_metrics, write_rows
from rf_models.report.figures.evaluation import plot_cross_dataset_heatmap
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    metrics = dict(zip(sm.params.test_sets, sm.input.metrics, strict=True))
    columns, rows = cross_dataset_table(metrics)
    write_rows(sm.output.table, columns, rows)
    long = gather_metrics(metrics)
    write_rows(sm.output.metrics, list(dict.fromkeys(k for r in long for k in r)), long)
    plot_cross_dataset_heatmap(rows, sm.params.test_sets, Path(sm.output.heatmap))
    log.info("%d models and ensembles on %d test sets", len(rows), len(metrics))
