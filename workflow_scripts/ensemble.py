from pathlib import Path

from rf_models.infer.ensemble_stage import run_ensemble
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    predictions = {Path(p).stem: p for p in sm.input.predictions}
    summary = run_ensemble(
        predictions,
        list(sm.input.manifests),
        sm.params.policy,
        sm.params.combiners,
        Path(sm.output.scores).parent,
        primary=sm.params.primary,
    )
    log.info("ensemble: %s", summary)
