from rf_models.detect.onnx_export import export_onnx
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    export_onnx(sm.input.weights, sm.output.onnx)
    log.info("exported %s from %s", sm.output.onnx, sm.input.weights)
