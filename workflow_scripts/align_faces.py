# align_faces, and perturb_crops (its params add the frames' edit: a perturbation, the
# sampled frames only)
from rf_models.stages.align import align_part
from rf_models.stages.align_options import AlignOptions, FrameEdit
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    edit = sm.params.get("edit")
    align_part(
        sm.params.source,
        sm.input.tracks,
        sm.input.manifest,
        sm.output.faces,
        sm.output.manifest,
        AlignOptions(**sm.params.align),
        threads=sm.threads,
        work=sm.params.work,
        upstream_work=sm.params.upstream_work,
        detections_dir=sm.input.get("detections"),
        edit=None if edit is None else FrameEdit(**edit),
    )
