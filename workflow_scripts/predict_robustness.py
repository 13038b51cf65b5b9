from pathlib import Path

from rf_models.infer.predict_split import predict_split
from rf_models.infer.scoring import load_trained_model
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    lm = load_trained_model(sm.input.best, sm.params.block, sm.params.model, sm.params.device)
    outputs = {Path(p).parent.parent.name: p for p in sm.output}
    for condition, inputs in sm.params.plan.items():
        summary = predict_split(
            lm,
            inputs["manifests"],
            inputs["crops"],
            outputs[condition],
            ext=sm.params.ext,
            max_faces=sm.params.sampling["max_faces"],
            max_frames=sm.params.sampling["max_frames"],
            frame_stride=sm.params.frame_stride,
            spacing=sm.params.sampling["spacing"],
        )
        log.info("%s under %s: %s", sm.params.model, condition, summary)
