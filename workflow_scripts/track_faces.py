from rf_models.stages.track import track_part
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    track_part(
        sm.input.detections,
        sm.input.manifest,
        sm.output.tracks,
        sm.output.manifest,
        sm.params.track,
        frame_stride=sm.params.frame_stride,
        work=sm.params.work,
        upstream_work=sm.params.upstream_work,
    )
