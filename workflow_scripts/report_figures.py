from pathlib import Path

from rf_models.report.registry import draw_figures
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    sources = {
        "scores": sm.input.scores,
        "metrics": sm.input.metrics,
        "train_metrics": {Path(p).parent.name: p for p in sm.input.train_metrics},
        "manifests": list(sm.input.manifests),
    }
    draw_figures(sources, dict(sm.output.items()))
