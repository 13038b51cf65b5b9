"""Helpers for driving Snakemake through the one-node Slurm of tests/slurm/cluster.sh.

Imported by tests/slurm/conftest.py and the tests (conftest modules are not for importing).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLUSTER_SH = HERE / "cluster.sh"
TOY_SNAKEFILE = HERE / "toy" / "Snakefile"
PROFILE_SLURM = REPO / "profiles" / "slurm"
PROFILE_SLURM_TEST = REPO / "profiles" / "slurm-test"
STATE_DIR = Path(os.environ.get("RF_SLURM_STATE_DIR", "/tmp/rf-slurm"))
START_TIMEOUT_S = 900  # a first start installs packages


@dataclass(frozen=True)
class SlurmCluster:
    """A running one-node cluster: where its state lives and what starting it cost."""

    state_dir: Path
    started_here: bool
    start_seconds: float


@dataclass(frozen=True)
class SnakemakeRun:
    """A finished snakemake process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def slurm_env() -> dict[str, str]:
    """The caller's environment for Slurm clients and jobs: the venv first on PATH, no SLURM_*.

    A SLURM_CONF left in the environment (e.g. a fail-fast one for local tests) would make
    sbatch talk to no cluster; inherited SLURM_*/SBATCH_*/SRUN_* would leak into job steps.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def cluster_sh(action: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CLUSTER_SH), action, str(STATE_DIR)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=slurm_env(),
    )


def job_ids() -> set[str]:
    """Every job slurmctld still remembers (finished ones for MinJobAge=300 s)."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i"],
        check=True,
        capture_output=True,
        text=True,
        env=slurm_env(),
        timeout=30,
    ).stdout
    return set(out.split())


def snakemake_command(
    workdir: Path,
    *args: str,
    snakefile: Path = TOY_SNAKEFILE,
    profiles: Sequence[Path] = (PROFILE_SLURM, PROFILE_SLURM_TEST),
) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir)]
    for profile in profiles:
        cmd += ["--profile", str(profile)]
    return cmd + list(args)


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait for snakemake; past the timeout SIGINT it (which scancels its jobs), then kill."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        # out or err is None when that stream was not piped (e.g. stderr=STDOUT)
        pytest.fail(
            f"snakemake ran past {timeout} s:\n{(out or '')[-3000:]}\n{(err or '')[-5000:]}"
        )


def fail_fast_slurm_env(directory: Path) -> dict[str, str]:
    """An environment whose Slurm clients give up at once, for snakemake calls needing no cluster.

    With Slurm's clients installed the executor plugin runs `scontrol show config` on every
    snakemake start; with no controller answering that costs MessageTimeout-1 s (9 s by
    default). A conf with MessageTimeout=1 pointing at a closed port fails in milliseconds.
    """
    conf = directory / "slurm-fail-fast.conf"
    conf.write_text(
        "# No cluster: Slurm clients fail at once.\n"
        "ClusterName=none\nSlurmctldHost=localhost\nSlurmctldPort=9\nMessageTimeout=1\n"
    )
    env = slurm_env()
    env["SLURM_CONF"] = str(conf)
    return env
