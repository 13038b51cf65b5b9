from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from rf_models.detect import backends, onnx_export
from rf_models.detect.onnx_export import (
    ONNX_WEIGHTS_KEY,
    OnnxExportError,
    export_onnx,
    export_onnx_bytes,
    file_sha256,
    onnx_weights_hash,
)
from rf_models.detect.retinaface import default_weights_path, load_retinaface


def _run(data: bytes | str, batch: np.ndarray) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": batch})


def test_export_writes_tagged_graph(onnx_file: Path) -> None:
    assert onnx_weights_hash(onnx_file) == file_sha256(default_weights_path())
    assert not [p for p in onnx_file.parent.iterdir() if p != onnx_file]  # no temporaries


def test_dynamo_exporter_matches_torch() -> None:
    # The fallback for a torch without the TorchScript exporter (takes ~10 s).
    model = load_retinaface()
    data = export_onnx_bytes(model, "ab" * 32, exporter="dynamo")
    meta = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    assert meta[ONNX_WEIGHTS_KEY] == "ab" * 32
    batch = np.random.default_rng(1).uniform(-100, 100, (3, 3, 57, 90)).astype(np.float32)
    loc, conf, landms = _run(data, batch)
    with torch.inference_mode():
        ref = [t.numpy() for t in model(torch.from_numpy(batch))]
    for got, want in zip((loc, conf, landms), ref, strict=True):
        np.testing.assert_allclose(got, want, atol=2e-4, rtol=1e-4)


def test_auto_falls_back_to_dynamo(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    legacy = onnx_export._export_torchscript(load_retinaface())

    def broken(model):
        raise RuntimeError("no TorchScript exporter")

    monkeypatch.setattr(onnx_export, "_export_torchscript", broken)
    monkeypatch.setattr(onnx_export, "_export_dynamo", lambda model: legacy)
    with caplog.at_level(logging.WARNING):
        data = export_onnx_bytes(load_retinaface(), "0" * 64)
    assert "trying the dynamo exporter" in caplog.text
    assert onnx.load_from_string(data).graph.input[0].name == "input"
    with pytest.raises(OnnxExportError, match="no TorchScript exporter"):
        export_onnx_bytes(load_retinaface(), "0" * 64, exporter="torchscript")


def test_export_rejects_unknown_exporter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exporter must be one of"):
        export_onnx(None, tmp_path / "x.onnx", exporter="tensorrt")
    assert not list(tmp_path.iterdir())


def test_export_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        export_onnx(tmp_path / "absent.pth", tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_auto_backend_falls_back_to_torch(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def broken(model, sha):
        raise OnnxExportError("exporter unavailable")

    monkeypatch.setattr(backends, "export_onnx_bytes", broken)
    with caplog.at_level(logging.WARNING):
        detector = backends.RetinaFaceDetector(backend="auto", device="cpu")
    assert detector.backend == "torch"
    assert "exporter unavailable" in caplog.text
    with pytest.raises(OnnxExportError):
        backends.RetinaFaceDetector(backend="onnx", device="cpu")
