"""The Slurm profiles as data and as Snakemake reads them; no cluster needed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.slurm.slurm_harness import (
    CLUSTER_SH,
    PROFILE_SLURM,
    PROFILE_SLURM_TEST,
    fail_fast_slurm_env,
    snakemake_command,
)

CPU_RULES = ["extract_frames", "track_faces", "align_faces", "make_lists"]
RULES = CPU_RULES + ["detect_faces", "train_model", "predict_model", "predict_videos"]


def load(profile: Path) -> dict:
    return yaml.safe_load((profile / "config.yaml").read_text())


@pytest.mark.parametrize("profile", [PROFILE_SLURM, PROFILE_SLURM_TEST], ids=lambda p: p.name)
def test_profile_sizes_every_rule_consistently(profile: Path) -> None:
    resources = load(profile)["set-resources"]
    # The overlay replaces set-resources wholesale: a rule it lacks would get no sizes.
    assert sorted(resources) == sorted(RULES), f"{profile}: {sorted(resources)}"
    for rule in CPU_RULES:
        assert "gpu" not in resources[rule], f"{profile}: {rule} is a CPU job"
    for rule in ["detect_faces", "predict_model", "predict_videos"]:
        assert resources[rule]["gpu"] == 1, f"{profile}: {rule} should ask for one GPU"
        assert "mpi" not in resources[rule], f"{profile}: {rule} is a single process"
    train = resources["train_model"]
    assert train["mpi"] == "srun", f"{profile}: train_model: {train}"
    # The rank count is the model block's gpus, set by the rule: a profile value would give
    # every model the same world size.
    assert not {"gpu", "tasks", "tasks_per_gpu"} & set(train), f"{profile}: {train}"
    for key in ["cpus_per_task", "mem_mb", "runtime"]:
        assert key in train, f"{profile}: train_model lacks {key}"


def dry_run(tmp_path: Path, *profiles: Path) -> str:
    cmd = snakemake_command(
        tmp_path / "work", "-n", "-p", "all", "resume/done.json", profiles=profiles
    )
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=fail_fast_slurm_env(tmp_path), timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    return proc.stdout


def job_block(out: str, rule: str) -> str:
    match = re.search(rf"^rule {rule}:\n(.*?)(?:\n\n|\Z)", out, re.MULTILINE | re.DOTALL)
    assert match, f"no job of rule {rule} in the dry run:\n{out[-3000:]}"
    return match.group(1)


@pytest.mark.workflow
def test_cluster_profile_as_snakemake_reads_it(tmp_path: Path) -> None:
    out = dry_run(tmp_path, PROFILE_SLURM)
    b0 = job_block(out, "train_model")
    # the toy rule launches its ranks itself (the real one hands srun to rf_models.train)
    assert "srun -n 2 " in b0, b0
    for item in ["gpu=2", "tasks=2", "tasks_per_gpu=1", "mpi=srun", "slurm_partition=gpu"]:
        assert re.search(rf"\b{item}\b", b0), f"{item} missing in:\n{b0}"
    extract = job_block(out, "extract_frames")
    # "16000 * attempt" evaluated for the first attempt; the CPU partition.
    assert "mem_mb=16000" in extract and "slurm_partition=cpu" in extract, extract
    assert "gpu=" not in extract


@pytest.mark.workflow
def test_test_overlay_replaces_sizes(tmp_path: Path) -> None:
    out = dry_run(tmp_path, PROFILE_SLURM, PROFILE_SLURM_TEST)
    b0 = job_block(out, "train_model")
    # the toy rule launches its ranks itself (the real one hands srun to rf_models.train)
    assert "srun -n 2 " in b0, b0
    assert re.search(r"\bgpu=2\b", b0) and "slurm_partition=debug" in b0, b0
    assert re.search(r"\bmem_mb=2000\b", b0), b0
    assert "slurm_partition=debug" in job_block(out, "extract_frames")


@pytest.mark.parametrize("args", [[], ["restart"], ["start", "a", "b"]])
def test_cluster_sh_rejects_bad_usage(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(CLUSTER_SH), *args], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2 and "usage:" in proc.stderr, proc.stderr


def test_cluster_sh_status_of_an_unused_state_dir(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(CLUSTER_SH), "status", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "slurmctld: not running from" in proc.stdout


def test_cluster_sh_needs_root_to_start(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("cluster.sh targets Debian")
    # setpriv drops to nobody without touching this machine's cluster.
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "bash",
            str(CLUSTER_SH),
            "start",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if proc.returncode != 0 and "setpriv" in proc.stderr and "must run as root" not in proc.stderr:
        pytest.skip(f"cannot drop privileges here: {proc.stderr.strip()}")
    assert proc.returncode == 3 and "must run as root" in proc.stderr, proc.stderr
