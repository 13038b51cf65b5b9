"""Inference tests' fixtures: one CPU thread, a folder of awkward videos, the detector."""

from pathlib import Path

import pytest
import torch

from rf_models.detect import RetinaFaceDetector
from tests.support.predict_fakes import write_awkward_folder


@pytest.fixture(autouse=True)
def _one_thread():
    # The machine's cores are shared; exact-equality checks also need a fixed thread count.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four videos (good, no face, truncated, zero bytes) and two files that are not videos."""
    return write_awkward_folder(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="session")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="onnx", device="cpu", threads=1)
