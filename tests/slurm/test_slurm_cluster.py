"""The Slurm profile on a real one-node cluster, with the toy workflow in tests/slurm/toy."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.slurm.slurm_harness import (
    SlurmCluster,
    finish,
    job_ids,
    slurm_env,
    snakemake_command,
)

pytestmark = pytest.mark.slurm

JOB_ID_LINE = re.compile(r"^SLURM_JOB_ID=(\d+)$", re.MULTILINE)


def scontrol_job(job_id: str) -> str:
    return subprocess.run(
        ["scontrol", "-d", "show", "job", job_id],
        check=True,
        capture_output=True,
        text=True,
        env=slurm_env(),
        timeout=30,
    ).stdout


def test_cpu_jobs_run_under_slurm(slurm_snakemake, tmp_path: Path) -> None:
    run = slurm_snakemake(tmp_path, "lists/all.txt")
    assert run.returncode == 0, run.output[-5000:]

    ids = {}
    for log in ["extract_frames/p0.log", "extract_frames/p1.log", "make_lists.log"]:
        text = (tmp_path / "logs" / log).read_text()
        found = JOB_ID_LINE.findall(text)
        assert len(found) == 1, f"logs/{log}: expected one SLURM_JOB_ID line, found {text!r}"
        ids[log] = found[0]
    assert len(set(ids.values())) == 3, f"each job should be its own Slurm job: {ids}"
    for part in ["p0", "p1"]:
        job_id = ids[f"extract_frames/{part}.log"]
        slurm_log = tmp_path / f".snakemake/slurm_logs/rule_extract_frames/{part}/{job_id}.log"
        assert slurm_log.is_file(), f"missing {slurm_log}"
        info = scontrol_job(job_id)
        assert "Partition=debug" in info and "Comment=rule_extract_frames" in info, info
    assert (tmp_path / "lists/all.txt").read_text().split() == [
        "p0",
        ids["extract_frames/p0.log"],
        "p1",
        ids["extract_frames/p1.log"],
    ]


def test_multi_rank_gpu_job_forms_one_gloo_group(slurm_snakemake, tmp_path: Path) -> None:
    run = slurm_snakemake(tmp_path, "train/b0_env.json", "train/sf_file.json")
    assert run.returncode == 0, run.output[-5000:]

    for name, init in [("b0_env", "env://"), ("sf_file", "file://")]:
        ranks = json.loads((tmp_path / f"train/{name}.json").read_text())["ranks"]
        assert [r["rank"] for r in ranks] == [0, 1], ranks
        assert sorted(r["local_rank"] for r in ranks) == [0, 1], ranks
        assert {r["slurm_ntasks"] for r in ranks} == {2}
        assert {r["world_size"] for r in ranks} == {2}
        assert {r["all_reduce_sum"] for r in ranks} == {1.0}
        assert all(r["init"].startswith(init) for r in ranks), ranks
        job_ids_seen = {r["slurm_job_id"] for r in ranks}
        assert len(job_ids_seen) == 1, ranks
        info = scontrol_job(str(job_ids_seen.pop()))
        assert "NumTasks=2" in info and "JOB_GRES=gpu:2" in info, info
        assert "Comment=rule_train_model" in info, info
    env_ranks = json.loads((tmp_path / "train/b0_env.json").read_text())["ranks"]
    port = 20000 + env_ranks[0]["slurm_job_id"] % 20000
    masters = {r["master"] for r in env_ranks}
    assert len(masters) == 1 and masters.pop().endswith(f":{port}"), env_ranks


RESUME_CONFIG = ["--config", "resume_steps=12", "resume_sleep=0.5"]


def start_then_cancel(workdir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the resumable job, scancel it once it has checkpointed step 2; return its id."""
    cmd = snakemake_command(workdir, "resume/done.json", *args, *RESUME_CONFIG)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slurm_env()
    )
    starts = workdir / "checkpoints/resume/starts.txt"
    state = workdir / "checkpoints/resume/state.json"
    deadline = time.monotonic() + 120
    step = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if starts.exists() and state.exists():
            step = json.loads(state.read_text())["step"]
            if step >= 2:
                break
        time.sleep(0.5)
    if step < 2:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"the job never reached step 2 (at {step}):\n{out[-2000:]}\n{err[-4000:]}")
    job_id = starts.read_text().split()[-1]
    subprocess.run(["scancel", job_id], check=True, env=slurm_env(), timeout=30)
    return proc, job_id


def test_scancel_fails_the_run_and_a_rerun_resumes(
    slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    proc, job_id = start_then_cancel(tmp_path)
    out, err = finish(proc, timeout=180)
    assert proc.returncode != 0, f"snakemake did not report the cancelled job:\n{err[-4000:]}"
    assert f"SLURM-job '{job_id}' failed" in err and "CANCELLED" in err, err[-4000:]
    assert not (tmp_path / "resume/done.json").exists()
    cancelled_at = json.loads((tmp_path / "checkpoints/resume/state.json").read_text())["step"]
    assert 2 <= cancelled_at < 12

    rerun = subprocess.run(
        snakemake_command(tmp_path, "resume/done.json", *RESUME_CONFIG),
        capture_output=True,
        text=True,
        env=slurm_env(),
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    done = json.loads((tmp_path / "resume/done.json").read_text())
    assert done["resumed_from"] == cancelled_at, done
    starts = (tmp_path / "checkpoints/resume/starts.txt").read_text().splitlines()
    first, second = (line.split() for line in starts)
    assert first == ["start", "0", job_id]
    assert second[1] == str(cancelled_at) and second[2] != job_id


def test_with_retries_a_cancelled_job_is_resubmitted_and_resumes(
    slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    proc, job_id = start_then_cancel(tmp_path, "--retries", "1")
    out, err = finish(proc, timeout=240)
    assert proc.returncode == 0, err[-5000:]
    assert f"SLURM-job '{job_id}' failed" in err and "Trying to restart job" in err, err[-4000:]
    done = json.loads((tmp_path / "resume/done.json").read_text())
    starts = (tmp_path / "checkpoints/resume/starts.txt").read_text().splitlines()
    first, second = (line.split() for line in starts)
    assert first == ["start", "0", job_id]
    assert int(second[1]) >= 2 and second[2] != job_id, starts
    assert done == {"resumed_from": int(second[1]), "steps": 12, "job": second[2]}


def test_dry_run_submits_nothing_and_lists_the_jobs(slurm_snakemake, tmp_path: Path) -> None:
    before = job_ids()
    run = slurm_snakemake(tmp_path, "-n", "all", "resume/done.json")
    assert run.returncode == 0, run.output[-5000:]
    assert job_ids() == before, "a dry run submitted Slurm jobs"
    assert not (tmp_path / ".snakemake/slurm_logs").exists()
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", run.stdout, re.MULTILINE))
    assert counts == {
        "extract_frames": "2",
        "make_lists": "1",
        "train_model": "2",
        "resume_steps": "1",
        "all": "1",
        "total": "7",
    }, run.stdout[-3000:]
