"""Shared fixtures of the detector tests: one model and one exported ONNX graph (the photo is
tests/conftest.py's t1_image)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rf_models.detect import RetinaFaceDetector, export_onnx


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # The test machine is shared: keep PyTorch to one thread.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(None, tmp_path_factory.mktemp("onnx") / "retinaface.onnx")


@pytest.fixture(scope="session")
def torch_detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="torch", device="cpu")


@pytest.fixture(scope="session")
def onnx_detector(onnx_file: Path) -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="onnx", device="cpu", threads=1, onnx_path=onnx_file)
