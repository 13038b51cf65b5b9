from pathlib import Path

from rf_models.infer.ensemble_stage import FittedCombiners, run_ensemble
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    predictions = {Path(p).stem: p for p in sm.input.predictions}
    # an evaluation's ensembles: the learned combiners as the ensemble split fitted them
    fitted = None
    if "fitted" in sm.input.keys():
        fitted = FittedCombiners.load(sm.input.fitted, list(sm.input.fitted_on))
    elif "fitted_on" in sm.input.keys():
        fitted = FittedCombiners({}, frozenset())  # no ensemble split: nothing fitted
    summary = run_ensemble(
        predictions,
        list(sm.input.manifests),
        sm.params.policy,
        sm.params.combiners,
        Path(sm.output.scores).parent,
        primary=sm.params.primary,
        fitted=fitted,
    )
    log.info("ensemble: %s", summary)
