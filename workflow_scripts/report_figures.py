from pathlib import Path

from rf_models.report import figures
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    out = sm.output
    figures.plot_roc(sm.input.scores, out.roc)
    figures.plot_reliability(sm.input.scores, out.reliability)
    figures.plot_score_histograms(sm.input.scores, out.score_histograms)
    figures.plot_metrics_table(sm.input.metrics, out.metrics_table)
    figures.plot_combiners(sm.input.metrics, out.combiners)
    curves = {Path(p).parent.name: p for p in sm.input.train_metrics}
    figures.plot_training_curves(curves, out.training_curves)
    figures.plot_manifest_summary(list(sm.input.manifests), out.manifest_summary)
