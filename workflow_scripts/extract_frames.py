from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    extract_part(
        sm.params.source,
        sm.output.frames,
        sm.output.manifest,
        FrameOptions(**sm.params.frames),
        threads=sm.threads,
        work=sm.params.work,
        # not a param: where frames are kept between runs, not what the output holds
        keep_frames=not sm.config["frames"]["temp"],
        downstream_work=sm.params.downstream_work,
    )
