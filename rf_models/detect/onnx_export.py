"""Export RetinaFace to ONNX with dynamic batch, height and width."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from pathlib import Path

import torch

from rf_models.detect.retinaface import RetinaFace, default_weights_path, load_retinaface
from rf_models.io_utils import atomic_write_bytes

log = logging.getLogger(__name__)

ONNX_INPUT = "input"
ONNX_OUTPUTS = ("loc", "conf", "landms")
ONNX_OPSET = 18
# ONNX metadata key holding the sha256 of the weights an exported graph was made from.
ONNX_WEIGHTS_KEY = "rf_models.weights_sha256"
EXPORTERS = ("auto", "torchscript", "dynamo")


class OnnxExportError(RuntimeError):
    """Neither ONNX exporter could convert the network."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dummy_input() -> torch.Tensor:
    # Height and width not multiples of 32, so no shape is specialised to exact halving.
    return torch.zeros(2, 3, 75, 133, dtype=torch.float32)


def _export_torchscript(model: RetinaFace) -> bytes:
    buffer = io.BytesIO()
    dynamic = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated but exports this network in well under a
        # second, where the dynamo exporter takes over ten; dynamo is the fallback.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (_dummy_input(),),
            buffer,
            dynamo=False,
            input_names=[ONNX_INPUT],
            output_names=list(ONNX_OUTPUTS),
            dynamic_axes={
                ONNX_INPUT: dynamic,
                **{name: {0: "batch", 1: "anchors"} for name in ONNX_OUTPUTS},
            },
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def _export_dynamo(model: RetinaFace) -> bytes:
    dims = {
        0: torch.export.Dim("batch", min=1),
        2: torch.export.Dim("height", min=32, max=8192),
        3: torch.export.Dim("width", min=32, max=8192),
    }
    program = torch.onnx.export(
        model,
        (_dummy_input(),),
        dynamo=True,
        input_names=[ONNX_INPUT],
        output_names=list(ONNX_OUTPUTS),
        dynamic_shapes=(dims,),
        opset_version=ONNX_OPSET,
        verbose=False,
    )
    return program.model_proto.SerializeToString()


def export_onnx_bytes(model: RetinaFace, weights_sha256: str, exporter: str = "auto") -> bytes:
    """``model`` as a serialized ONNX graph, tagged with the sha256 of its weights file.

    exporter: "torchscript", "dynamo", or "auto" (TorchScript, then dynamo if it fails).
    """
    import onnx

    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    model = model.cpu().eval()
    try:
        if exporter == "dynamo":
            data = _export_dynamo(model)
        else:
            try:
                data = _export_torchscript(model)
            except Exception as exc:
                if exporter == "torchscript":
                    raise
                log.warning("TorchScript ONNX export failed (%s); trying the dynamo exporter", exc)
                data = _export_dynamo(model)
    except Exception as exc:
        raise OnnxExportError(f"could not export RetinaFace to ONNX ({exporter}): {exc}") from exc
    proto = onnx.load_from_string(data)
    entry = proto.metadata_props.add()
    entry.key, entry.value = ONNX_WEIGHTS_KEY, weights_sha256
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def export_onnx(
    weights_path: str | Path | None, out_path: str | Path, exporter: str = "auto"
) -> Path:
    """Export RetinaFace with ``weights_path`` (default: shipped file) to ``out_path`` atomically.

    The graph takes ``input`` (B, 3, H, W) float32 with B, H and W dynamic and returns
    ``loc`` (B, N, 4), ``conf`` (B, N, 2, softmaxed) and ``landms`` (B, N, 10).
    """
    weights = Path(weights_path) if weights_path is not None else default_weights_path()
    model = load_retinaface(weights, device="cpu")
    out = Path(out_path)
    atomic_write_bytes(out, export_onnx_bytes(model, file_sha256(weights), exporter))
    return out


def onnx_weights_hash(path: str | Path) -> str | None:
    """The weights sha256 recorded in an exported graph, or None if it has none."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ValueError(
            f"{path}: expected an ONNX model of RetinaFace, could not read it: {exc}"
        ) from exc
    return next((p.value for p in proto.metadata_props if p.key == ONNX_WEIGHTS_KEY), None)
