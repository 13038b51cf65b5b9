from dataclasses import replace
from pathlib import Path

from rf_models.infer.folder import predict_folder
from rf_models.infer.predict_options import PredictOptions, PredictOutputs
from rf_models.report.video_sheet import plot_video_sheet
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    checkpoints = {
        model: (path, sm.params.blocks[model])
        for model, path in zip(sm.params.models, sm.input.checkpoints, strict=True)
    }
    options = replace(
        PredictOptions(**sm.params.options),
        detector_weights=sm.input.weights,
        detector_threads=sm.threads,
        detector_onnx=sm.input.onnx,
    )
    outputs = PredictOutputs(
        submission=Path(sm.output.submission),
        details=Path(sm.output.details),
        predictions_json=Path(sm.output.predictions),
        pictures=Path(sm.output.pictures),
        draw_picture=plot_video_sheet,
    )
    results = predict_folder(
        sm.params.folder, checkpoints, sm.params.policy, outputs, options, sm.params.work
    )
    failed = sum(r.status not in ("ok", "partial") for r in results)
    log.info("%d videos scored, %d given the default score (reasons above)", len(results), failed)
