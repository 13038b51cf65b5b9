from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.postprocess import PostprocessConfig
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
opts = sm.params.detect
with rule_logging(sm.log[0]) as log:
    detector = RetinaFaceDetector(
        weights=sm.input.weights,
        backend=opts["backend"],
        device=opts["device"],
        threads=sm.threads,
        onnx_path=sm.input.onnx,
        config=PostprocessConfig(
            conf_threshold=opts["confidence_threshold"], nms_threshold=opts["nms_threshold"]
        ),
    )
    log.info("RetinaFace backend %s on %s", detector.backend, detector.device)
    detect_part(
        sm.input.frames,
        sm.input.manifest,
        sm.output.detections,
        detector,
        batch_size=opts["batch_size"],
        already_resized=sm.params.frames["scale"] == "detect",
        work=sm.params.work,
        upstream_work=sm.params.upstream_work,
        part=sm.params.source,
        frame_options=FrameOptions(**sm.params.frames),
    )
