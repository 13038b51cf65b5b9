from rf_models.demo.synth import build_demo_dataset
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    summary = build_demo_dataset(sm.params.root, n_parts=sm.params.n_parts, **sm.params.demo)
    log.info(
        "demo dataset: %d parts, %d videos in %s",
        len(summary.parts),
        len(summary.videos),
        sm.params.root,
    )
