"""Running the repository's workflow with the real snakemake, as the workflow tests do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def run_snakemake(
    args: list[str],
    workdir: Path,
    check: bool = True,
    timeout: int = 1800,
    python: str | os.PathLike | None = None,
):
    """Run the repository's workflow with the venv's snakemake in ``workdir`` (``python``: the
    interpreter to start it with, this one by default)."""
    cmd = [
        str(python or sys.executable),
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        *args,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and out.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n"
            f"{out.stderr[-6000:]}"
        )
    return out


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
