"""Stage tests' fixtures: one CPU thread, metadata.json for tiny DFDC-like parts (the videos
and frames come from tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # The test machine is shared: keep PyTorch to one thread.
    torch.set_num_threads(1)


def _write_metadata(part: Path, labels: dict[str, str]) -> None:
    meta = {
        name: {"label": label, "split": "train"}
        | ({"original": "o.mp4"} if label == "FAKE" else {})
        for name, label in labels.items()
    }
    (part / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture(scope="session")
def write_metadata() -> Callable[[Path, dict[str, str]], None]:
    return _write_metadata
