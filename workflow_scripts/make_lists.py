from rf_models.data.lists import make_list
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    for kind, out in sm.output.items():
        subset, model_kind = kind.split("_")
        stride = sm.params.image_stride if model_kind == "image" else sm.params.video_stride
        files = sm.input[subset]
        files = [files] if isinstance(files, str) else list(files)
        n = make_list(files, out, stride, sm.params.frame_stride, sm.params.ext)
        log.info("%s: %d face tubes", out, n)
