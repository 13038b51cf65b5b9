"""Shared fixtures of the detector tests: one model, one exported ONNX graph, one photo."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from rf_models.detect import RetinaFaceDetector, export_onnx


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # The test machine is shared: keep PyTorch to one thread.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def t1_image() -> np.ndarray:
    """insightface's group photo (886x1280 BGR): six faces at RetinaFace score >= 0.8."""
    insightface = pytest.importorskip("insightface")
    path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    assert image is not None, f"could not read {path}"
    return image


@pytest.fixture(scope="session")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(None, tmp_path_factory.mktemp("onnx") / "retinaface.onnx")


@pytest.fixture(scope="session")
def torch_detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="torch", device="cpu")


@pytest.fixture(scope="session")
def onnx_detector(onnx_file: Path) -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="onnx", device="cpu", threads=1, onnx_path=onnx_file)
