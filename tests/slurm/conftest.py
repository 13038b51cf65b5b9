"""Fixtures for tests that run Snakemake through a real one-node Slurm (tests/slurm/cluster.sh).

`slurm_cluster` (session) starts the cluster, or skips with the reason; it stops the cluster at
the end only if it started it and RF_SLURM_KEEP is not 1. `slurm_snakemake` runs a Snakefile (the
toy one by default) with the profiles in a work directory and returns the finished process.

Environment: RF_SLURM_STATE_DIR (default /tmp/rf-slurm), RF_SLURM_KEEP=1 (leave it running).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.slurm.slurm_harness import (
    CLUSTER_SH,
    PROFILE_SLURM,
    PROFILE_SLURM_TEST,
    START_TIMEOUT_S,
    STATE_DIR,
    TOY_SNAKEFILE,
    SlurmCluster,
    SnakemakeRun,
    cluster_sh,
    finish,
    slurm_env,
    snakemake_command,
)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    if os.geteuid() != 0:
        pytest.skip(f"Slurm tests install and start slurmctld as root; uid is {os.geteuid()}")
    was_up = cluster_sh("status").returncode == 0
    t0 = time.monotonic()
    try:
        started = cluster_sh("start", timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{CLUSTER_SH} start did not finish in {START_TIMEOUT_S} s")
    seconds = time.monotonic() - t0
    if started.returncode == 3:
        pytest.skip(f"Slurm unavailable (not root or apt unreachable): {started.stderr.strip()}")
    if started.returncode != 0:
        pytest.skip(
            f"{CLUSTER_SH} start failed (rc {started.returncode}): {started.stderr[-2000:]}"
        )
    yield SlurmCluster(state_dir=STATE_DIR, started_here=not was_up, start_seconds=seconds)
    if not was_up and os.environ.get("RF_SLURM_KEEP") != "1":
        cluster_sh("stop")


@pytest.fixture
def slurm_snakemake(slurm_cluster: SlurmCluster) -> Callable[..., SnakemakeRun]:
    """slurm_snakemake(workdir, *args, snakefile=..., profiles=..., timeout=300) -> SnakemakeRun."""

    def run(
        workdir: Path,
        *args: str,
        snakefile: Path = TOY_SNAKEFILE,
        profiles: Sequence[Path] = (PROFILE_SLURM, PROFILE_SLURM_TEST),
        timeout: float = 300,
    ) -> SnakemakeRun:
        cmd = snakemake_command(workdir, *args, snakefile=snakefile, profiles=profiles)
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slurm_env()
        )
        out, err = finish(proc, timeout)
        return SnakemakeRun(cmd, proc.returncode, out, err, time.monotonic() - t0)

    return run
