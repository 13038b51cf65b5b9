"""benchmarks/gpu_check.py's smoke run: every path of the GPU check (detection, AMP training
steps, a DDP step under torchrun, predict with the eleven models, the loaders) on the CPU at
tiny sizes, so that the command a GPU session runs is known to work before it spends one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def table_rows(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]


@pytest.fixture(scope="module")
def smoke() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_smoke_run_measures_every_check(smoke):
    assert smoke.returncode == 0, smoke.stderr[-2000:]
    assert "smoke run (tiny sizes)" in smoke.stdout
    rows = table_rows(smoke.stdout)
    by_check: dict[str, list[list[str]]] = {}
    for row in rows:
        assert len(row) == 5, row
        by_check.setdefault(row[0], []).append(row)
    assert set(by_check) == {"detect", "train", "ddp", "predict", "loader"}
    fp32, fp16 = by_check["detect"]
    assert float(fp32[2]) > 0 and fp16[4] == "CUDA only"
    trained = {r[1].split()[0] for r in by_check["train"]}
    assert trained == {"b0", "b1", "b3", "r34", "xcep", "sf"}
    assert all(float(r[2]) > 0 for r in by_check["train"])
    (ddp,) = by_check["ddp"]
    assert ddp[2] != "failed", ddp  # the group formed and the step ran under torchrun
    assert "backend gloo, world 1" in ddp[4]
    (predict,) = by_check["predict"]
    assert float(predict[2]) > 0 and "faces" in predict[4]
    assert all(float(r[2]) > 0 for r in by_check["loader"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here")
def test_asking_for_cuda_without_a_device_says_so():
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "no CUDA device here" in done.stderr and "--device cpu" in done.stderr
