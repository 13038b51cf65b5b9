from rf_models.evaluate.robustness import perturb_part_videos
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    skipped = perturb_part_videos(
        sm.params.source, sm.output.videos, sm.wildcards.condition, sm.params.seed
    )
    log.info(
        "%s under %s: %d videos without a file",
        sm.wildcards.part,
        sm.wildcards.condition,
        len(skipped),
    )
