"""``--launcher``: the training command starts its own ranks (srun -n N of itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rf_models.train.__main__ import launch_command, parse_args

ARGS = ["--config", "c.yaml", "--model", "b0", "--train-list", "t.txt", "--val-list", "v.txt",
        "--crops", "faces", "--out", "out", "--device", "cpu"]  # fmt: skip


def test_the_launcher_starts_the_same_command_once_per_rank() -> None:
    args = parse_args([*ARGS, "--launcher", "srun", "--tasks", "8", "--max-iter", "5"])
    command = launch_command(args)
    assert command[:3] == ["srun", "-n", "8"]
    assert command[3:6] == [sys.executable, "-m", "rf_models.train"]
    assert command[-2:] == ["--launcher", "none"]  # each rank trains itself
    ranks = parse_args(command[6:])
    assert vars(ranks) == {**vars(args), "launcher": "none", "tasks": 1}
    with pytest.raises(ValueError, match="at least 1 rank"):
        launch_command(parse_args([*ARGS, "--launcher", "srun", "--tasks", "0"]))


def test_the_command_replaces_itself_by_its_launcher(tmp_path: Path) -> None:
    seen = tmp_path / "argv.json"
    launcher = tmp_path / "fake_srun"
    launcher.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(seen)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    launcher.chmod(0o755)
    argv = [*ARGS, "--launcher", str(launcher), "--tasks", "3"]
    proc = subprocess.run([sys.executable, "-m", "rf_models.train", *argv], timeout=120)
    assert proc.returncode == 0
    recorded = json.loads(seen.read_text())
    assert recorded[:2] == ["-n", "3"] and recorded[-2:] == ["--launcher", "none"]
