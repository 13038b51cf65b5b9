from rf_models.infer.videos import score_folder
from rf_models.predict import score_options
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    checkpoints = {
        model: (path, sm.params.blocks[model])
        for model, path in zip(sm.params.models, sm.input.checkpoints, strict=True)
    }
    results = score_folder(
        sm.params.folder,
        checkpoints,
        sm.params.policy,
        sm.output.submission,
        details_csv=sm.output.details,
        json_path=sm.output.predictions,
        pictures_dir=sm.output.pictures,
        work_dir=sm.params.work,
        device=sm.params.device,
        detector_weights=sm.input.weights,
        detector_threads=sm.threads,
        detector_onnx=sm.input.onnx,
        **score_options(sm.params.detect, sm.params.sampling),
    )
    failed = sum(r.status not in ("ok", "partial") for r in results)
    log.info("%d videos scored, %d given the default score (reasons above)", len(results), failed)
