from rf_models.infer.videos import score_folder
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
detect = sm.params.detect
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
        device=sm.params.device,
        detector_weights=sm.input.weights,
        detector_backend=detect["backend"],
        detector_threads=sm.threads,
        detector_onnx=sm.input.onnx,
        detect_batch=detect["batch_size"],
        max_frames=sm.params.sampling["max_frames"],
        max_faces=sm.params.sampling["max_faces"],
    )
    failed = sum(r.status != "ok" for r in results)
    log.info("%d videos scored, %d given 0.5 (reasons above)", len(results), failed)
