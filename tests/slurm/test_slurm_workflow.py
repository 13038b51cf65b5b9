"""The real workflow (Snakefile, rules/, config.yaml) through the one-node Slurm cluster.

Profiles `profiles/slurm` + `profiles/slurm-test`: every non-local job is an sbatch job, the
training job is 2 srun tasks that form one gloo group. A reduced demo (2 parts, 4 short videos
each, b0 for 6 iterations) runs once per module; the scancel test adds r34 to the same
results. Slow on 2 shared cores: about 7 minutes for the demo (15 Slurm jobs of 20-60 s, most
of it Snakemake starting inside each job), 4 for the scancel test, 10 s for the full dry run.
`pytest -s` prints the job table and the times.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.slurm.slurm_harness import (
    PROFILE_SLURM,
    PROFILE_SLURM_TEST,
    REPO,
    SlurmCluster,
    SnakemakeRun,
    finish,
    slurm_env,
    snakemake_command,
)

pytestmark = pytest.mark.slurm

SNAKEFILE = REPO / "Snakefile"
IMAGE_MODELS = ["b0", "b1", "b1short", "b1long", "b3", "r34", "xcep"]
SLOWFAST_MODELS = ["sf", "sf_noaug", "sf_16x8", "sf_alldata"]
# Rules that run on the submitting host (`localrule: True`, or no shell/script at all).
LOCAL_RULES = {"model_config", "frames_turn", "all"}
DEMO_RUN_TIMEOUT_S = 1800

# A short b0 run for the DAG test, a longer r34 run to cancel (a checkpoint every 2
# iterations, so last.pt appears early and the cancel lands well before the end; at 2-5 s an
# iteration on the shared 2 cores the resumed run takes 1-2 minutes).
B0_SHORT = {"max_iter": 6, "warmup_iters": 2, "lr_steps": [4], "val_every": 3, "log_every": 1}
R34_LONG = {
    "max_iter": 24,
    "warmup_iters": 4,
    "lr_steps": [16],
    "val_every": 12,
    "ckpt_every": 2,
    "log_every": 2,
}

SQUEUE_FIELDS = (
    "JobID:|,Comment:|,NumTasks:|,tres-per-job:|,tres-per-node:|,TimeUsed:|,State:|,WorkDir:|"
)
RULE_BLOCK = re.compile(r"^(localrule|rule|checkpoint) (\w+):$")
SUBMITTED = re.compile(
    r"^Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.$", re.MULTILINE
)


# -- configs ---------------------------------------------------------------------------------


def demo_config(workdir: Path, models: dict[str, dict]) -> dict:
    """The demo shrunk to 2 parts of 4 plain videos, merged over config.yaml by --configfile.

    Per-model sizes go in `models.<name>` (train.overrides would apply to every image model).
    """
    return {
        "data_root": str(workdir / "data"),
        "results_dir": str(workdir / "results"),
        "parts": [0, 1],
        "demo": {
            "build": True,
            "videos_per_part": 4,
            "seed": 1,
            "min_seconds": 1.0,
            "max_seconds": 1.2,
            "awkward": False,
        },
        "lists": {
            "image_stride": 5,
            "video_stride": 1,
            "build": ["demo"],
            "splits": {"demo": {"val": [1], "train": "rest"}},
        },
        "ensemble": {"split": "demo"},
        "models": models,
        "train": {
            "device": "cpu",
            "models": list(models),
            "overrides": {
                "image": {
                    "split": "demo",
                    "input_size": 64,
                    "infer_size": 64,
                    "batch_size": 4,
                    "gpus": 2,
                    "init": None,
                    "num_workers": 0,
                    "bn_momentum": 0.1,
                },
                "video": {"init": None},
            },
        },
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def configfile_args(*overlays: Path) -> list[str]:
    # The Snakefile's `configfile: "config.yaml"` is relative to the work directory, which has
    # none: name the repository's explicitly, the overlays merge over it in order.
    return ["--configfile", str(REPO / "config.yaml"), *map(str, overlays)]


# -- Slurm's view of the jobs ----------------------------------------------------------------


@dataclass(frozen=True)
class SlurmJob:
    """One job as squeue last showed it."""

    job_id: str
    comment: str
    tasks: str
    gres: str
    elapsed: str
    state: str
    workdir: str


def squeue_jobs() -> dict[str, SlurmJob]:
    """Every job slurmctld remembers (finished ones for MinJobAge), by job id."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-O", SQUEUE_FIELDS],
        check=True,
        capture_output=True,
        text=True,
        env=slurm_env(),
        timeout=30,
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = line.split("|")
        if len(fields) < 8:
            continue
        job_id, comment, tasks, per_job, per_node, elapsed, state, workdir = fields[:8]
        gres = per_job if per_job != "N/A" else per_node
        jobs[job_id] = SlurmJob(job_id, comment, tasks, gres, elapsed, state, workdir)
    return jobs


def jobs_in(workdir: Path, jobs: dict[str, SlurmJob]) -> dict[str, SlurmJob]:
    return {k: j for k, j in jobs.items() if Path(j.workdir) == workdir}


class SqueueMonitor:
    """Polls squeue in a thread while a workflow runs: finished jobs leave squeue after
    MinJobAge (300 s) and there is no accounting, so the last sighting is all we get."""

    def __init__(self, workdir: Path, interval_s: float = 2.0) -> None:
        self.workdir = workdir
        self.interval_s = interval_s
        self.jobs: dict[str, SlurmJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def poll(self) -> None:
        try:
            seen = jobs_in(self.workdir, squeue_jobs())
        except (subprocess.SubprocessError, OSError):
            return  # a missed poll only loses one sighting
        with self._lock:
            self.jobs.update(seen)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def __enter__(self) -> SqueueMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()


# -- Snakemake's view of the jobs ------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedJob:
    """A job Snakemake handed to Slurm, from its own output."""

    rule: str
    wildcards: str
    slurm_id: str
    rule_log: Path | None
    slurm_log: Path


def parse_jobs(output: str) -> tuple[list[SubmittedJob], list[str]]:
    """(jobs submitted to Slurm, rules of jobs run locally) from Snakemake's output.

    Each job is printed as a `rule X:` block (`localrule X:` for local ones) with its `log:`,
    `jobid:` and `wildcards:`; the plugin then says `Job <jobid> has been submitted with SLURM
    jobid ...`.
    """
    blocks: dict[str, dict] = {}
    local: list[str] = []
    submitted: list[SubmittedJob] = []
    block: dict | None = None
    for line in output.splitlines():
        head = RULE_BLOCK.match(line)
        if head:
            block = {"kind": head.group(1), "rule": head.group(2), "log": None, "wildcards": ""}
            continue
        if block is not None and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key == "log":
                block["log"] = Path(value.split(", ")[0])
            elif key == "wildcards":
                block["wildcards"] = value
            elif key == "jobid":
                blocks[value] = block
                if block["kind"] == "localrule":
                    local.append(block["rule"])
            continue
        block = None  # a job block ends at its first unindented line
        match = SUBMITTED.match(line)
        if match:
            job = blocks[match.group(1)]
            submitted.append(
                SubmittedJob(
                    job["rule"], job["wildcards"], match.group(2), job["log"], Path(match.group(3))
                )
            )
    return submitted, local


def job_counts(output: str) -> dict[str, int]:
    """The first 'Job stats' table (the plan before any job ran) as {rule: count}."""
    match = re.search(r"^Job stats:\n(.*?)^total\s+\d+$", output, re.M | re.S)
    assert match, f"no Job stats table in:\n{output[-3000:]}"
    table = match.group(1)
    return {r: int(n) for r, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M) if r != "total"}


def job_table(jobs: list[SubmittedJob], slurm: dict[str, SlurmJob]) -> str:
    rows = [("rule", "wildcards", "job id", "tasks", "gres", "elapsed", "state")]
    for job in jobs:
        seen = slurm.get(job.slurm_id)
        rows.append(
            (
                job.rule,
                job.wildcards or "-",
                job.slurm_id,
                seen.tasks if seen else "?",
                seen.gres if seen and seen.gres != "N/A" else "-",
                seen.elapsed if seen else "?",
                seen.state if seen else "?",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def start_workflow(workdir: Path, *args: str) -> subprocess.Popen[str]:
    """snakemake with both Slurm profiles; stdout and stderr in one stream, in order."""
    cmd = snakemake_command(
        workdir, *args, snakefile=SNAKEFILE, profiles=(PROFILE_SLURM, PROFILE_SLURM_TEST)
    )
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=slurm_env()
    )


def run_workflow(workdir: Path, *args: str, timeout: float) -> SnakemakeRun:
    t0 = time.monotonic()
    proc = start_workflow(workdir, *args)
    out, _ = finish(proc, timeout)
    return SnakemakeRun(list(proc.args), proc.returncode, out, "", time.monotonic() - t0)


# -- the demo run, shared by the module ------------------------------------------------------


@dataclass(frozen=True)
class DemoRun:
    workdir: Path
    configfile: Path
    run: SnakemakeRun
    slurm: dict[str, SlurmJob]


@pytest.fixture(scope="module")
def demo_run(slurm_cluster: SlurmCluster, tmp_path_factory) -> Iterator[DemoRun]:
    workdir = tmp_path_factory.mktemp("slurm_demo")
    configfile = write_yaml(workdir / "demo.yaml", demo_config(workdir, {"b0": B0_SHORT}))
    with SqueueMonitor(workdir) as monitor:
        run = run_workflow(workdir, *configfile_args(configfile), timeout=DEMO_RUN_TIMEOUT_S)
    yield DemoRun(workdir, configfile, run, dict(monitor.jobs))


def require_success(demo: DemoRun) -> None:
    assert demo.run.returncode == 0, f"the demo run failed:\n{demo.run.stdout[-8000:]}"


def test_demo_dag_runs_every_job_under_slurm(demo_run: DemoRun) -> None:
    require_success(demo_run)
    results = demo_run.workdir / "results"
    submitted, local = parse_jobs(demo_run.run.stdout)
    print(f"\nreduced demo through Slurm: {demo_run.run.seconds:.0f} s wall")
    print(job_table(submitted, demo_run.slurm))

    assert sorted(set(local)) == sorted(LOCAL_RULES), local
    submitted_counts: dict[str, int] = {}
    for job in submitted:
        submitted_counts[job.rule] = submitted_counts.get(job.rule, 0) + 1
    # Every job of the DAG but the local ones went to Slurm, once.
    planned = job_counts(demo_run.run.stdout)
    assert submitted_counts == {r: n for r, n in planned.items() if r not in LOCAL_RULES}, (
        submitted_counts,
        planned,
    )
    for rule, n in {"extract_frames": 2, "detect_faces": 2, "track_faces": 2}.items():
        assert submitted_counts.get(rule) == n, submitted_counts
    assert submitted_counts.get("align_faces") == 2 and submitted_counts.get("train_model") == 1
    assert len({job.slurm_id for job in submitted}) == len(submitted), "a job id used twice"

    for job in submitted:
        assert job.slurm_log.is_file(), f"{job.rule}: no Slurm log {job.slurm_log}"
        assert job.slurm_log.parts[-2 if not job.wildcards else -3] == f"rule_{job.rule}"
        assert job.rule_log is not None, f"{job.rule} declares no log"
        text = job.rule_log.read_text()
        ids = set(re.findall(r"Slurm job (\d+)", text))
        assert ids == {job.slurm_id}, f"{job.rule_log}: Slurm job ids {ids}, expected {job}"
        seen = demo_run.slurm.get(job.slurm_id)
        assert seen is not None, f"squeue never showed job {job.slurm_id} ({job.rule})"
        assert seen.state == "COMPLETED", seen
        assert seen.comment.startswith(f"rule_{job.rule}"), seen

    train = next(job for job in submitted if job.rule == "train_model")
    assert train.wildcards == "model=b0", train
    seen = demo_run.slurm[train.slurm_id]
    assert seen.tasks == "2" and seen.gres == "gres:gpu:2", seen
    # one rule for every model: squeue still says which model a job trains
    assert seen.comment.startswith("rule_train_model_wildcards_") and "b0" in seen.comment, seen
    log = (results / "logs/train/b0.log").read_text()
    for rank in (0, 1):
        line = (
            f"rank {rank} of 2 (local rank {rank}), backend gloo, device cpu, "
            f"Slurm job {train.slurm_id}"
        )
        assert line in log, f"no line {line!r} in the train log:\n{log[-3000:]}"
    assert "resumed from" not in log
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png"):
        assert (results / "models/b0" / name).stat().st_size > 0, name
    assert (results / "ensemble/demo/scores.csv").is_file()
    assert (results / "report/roc.png").is_file()
    for part in ("dfdc_train_part_0", "dfdc_train_part_1"):
        assert (results / "manifests" / f"{part}.tsv").is_file()


def wait_for_training(
    proc: subprocess.Popen[str], workdir: Path, rule: str, checkpoint: Path, timeout_s: float
) -> str:
    """The Slurm id of the running job of ``rule`` once ``checkpoint`` exists."""
    deadline = time.monotonic() + timeout_s
    job_id = None
    while time.monotonic() < deadline and proc.poll() is None:
        if job_id is None:
            running = [
                j
                for j in jobs_in(workdir, squeue_jobs()).values()
                if j.comment.startswith(f"rule_{rule}") and j.state == "RUNNING"
            ]
            job_id = running[0].job_id if running else None
        if job_id is not None and checkpoint.is_file():
            return job_id
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # snakemake scancels its jobs
    out, _ = proc.communicate(timeout=120)
    pytest.fail(
        f"{rule}: job {job_id} never wrote {checkpoint} within {timeout_s} s "
        f"(snakemake rc {proc.returncode}):\n{out[-6000:]}"
    )


def test_scancel_of_training_fails_and_a_rerun_resumes(demo_run: DemoRun) -> None:
    require_success(demo_run)
    workdir = demo_run.workdir
    models = workdir / "results/models"
    configfile = write_yaml(
        workdir / "demo_r34.yaml", demo_config(workdir, {"b0": B0_SHORT, "r34": R34_LONG})
    )
    target = str(models / "r34/best.pt")
    args = [target, *configfile_args(configfile)]

    t0 = time.monotonic()
    proc = start_workflow(workdir, *args)
    job_id = wait_for_training(proc, workdir, "train_model", models / "r34/last.pt", 900)
    subprocess.run(["scancel", job_id], check=True, env=slurm_env(), timeout=30)
    out, _ = finish(proc, 300)
    first_seconds = time.monotonic() - t0
    assert proc.returncode != 0, f"snakemake did not report the cancelled job:\n{out[-5000:]}"
    assert f"SLURM-job '{job_id}' failed" in out and "CANCELLED" in out, out[-5000:]
    submitted, _ = parse_jobs(out)
    # b0, the lists and the faces are up to date: only the new model's training ran.
    assert [(j.rule, j.wildcards, j.slurm_id) for j in submitted] == [
        ("train_model", "model=r34", job_id)
    ], submitted
    assert not (models / "r34/best.pt").exists()
    log = (workdir / "results/logs/train/r34.log").read_text()
    for rank in (0, 1):
        assert f"rank {rank} of 2 (local rank {rank}), backend gloo, device cpu, " in log, log

    rerun = run_workflow(workdir, *args, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-8000:]
    resubmitted, _ = parse_jobs(rerun.stdout)
    assert [(j.rule, j.wildcards) for j in resubmitted] == [("train_model", "model=r34")], (
        resubmitted
    )
    new_id = resubmitted[0].slurm_id
    assert new_id != job_id
    log = (workdir / "results/logs/train/r34.log").read_text()
    resumed = re.search(r"resumed from (\S+) at iteration (\d+)", log)
    assert resumed, f"the re-run did not resume:\n{log[-3000:]}"
    assert Path(resumed.group(1)) == models / "r34/last.pt"
    start = int(resumed.group(2))
    assert 0 < start < R34_LONG["max_iter"], resumed.group(0)
    assert f"rank 1 of 2 (local rank 1), backend gloo, device cpu, Slurm job {new_id}" in log
    assert (models / "r34/best.pt").stat().st_size > 0
    # the rows the cancelled attempt logged came back from last.pt into the final metrics
    rows = list(csv.DictReader((models / "r34/metrics.csv").open()))
    iterations = [int(r["iteration"]) for r in rows]
    assert min(iterations) < start and max(iterations) == R34_LONG["max_iter"] - 1, iterations
    print(
        f"\nscancel + resume: first run {first_seconds:.0f} s (cancelled job {job_id}), "
        f"re-run {rerun.seconds:.0f} s (job {new_id}, resumed at iteration {start} of "
        f"{R34_LONG['max_iter']})"
    )


# -- the full configuration, dry run -------------------------------------------------------------


def load_placeholder_maker():
    path = REPO / "benchmarks/dry_run_full.py"
    spec = importlib.util.spec_from_file_location("dry_run_full", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_placeholders


def full_dry_run_counts() -> dict[str, int]:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    n_parts = len(config["parts"])
    models = config["train"]["models"]
    counts = {
        "frames_turn": n_parts,
        "extract_frames": n_parts,
        "detect_faces": n_parts,
        "track_faces": n_parts,
        "align_faces": n_parts,
        "export_detector": 1,
        "make_lists": len(config["lists"]["splits"]),
        "model_config": len(models),
        "ensemble": 1,
        "report_figures": 1,
        "all": 1,
    }
    counts["train_model"] = len(models)
    counts["predict_model"] = len(models)
    return counts


def test_full_config_dry_run_submits_nothing(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    data = tmp_path / "DFDC-Kaggle"
    load_placeholder_maker()(data, 50, 20)
    overlay = write_yaml(
        tmp_path / "full.yaml",
        {
            "data_root": str(data),
            "results_dir": str(tmp_path / "results"),
            # pretrain/*.pth are not here: random init keeps them out of the DAG's inputs
            "train": {"overrides": {"image": {"init": None}, "video": {"init": None}}},
        },
    )
    before = squeue_jobs()
    t0 = time.monotonic()
    proc = subprocess.run(
        snakemake_command(
            tmp_path,
            "-n",
            "-p",
            *configfile_args(overlay),
            snakefile=SNAKEFILE,
            profiles=(PROFILE_SLURM,),
        ),
        capture_output=True,
        text=True,
        env=slurm_env(),
        timeout=300,
    )
    seconds = time.monotonic() - t0
    after = squeue_jobs()
    assert proc.returncode == 0, proc.stderr[-5000:]
    print(f"\nfull-config dry run with profiles/slurm: {seconds:.1f} s")

    assert not jobs_in(tmp_path, after), f"the dry run submitted {jobs_in(tmp_path, after)}"
    others = sorted(set(after) - set(before))  # another user's jobs may come and go
    assert all(Path(after[j].workdir) != tmp_path for j in others)
    assert not (tmp_path / ".snakemake/slurm_logs").exists()
    assert job_counts(proc.stdout) == full_dry_run_counts(), proc.stdout[-4000:]
    for model in IMAGE_MODELS + SLOWFAST_MODELS:
        ranks = 8 if model in IMAGE_MODELS else 16
        pattern = rf"\S+ -m rf_models\.train --launcher srun --tasks {ranks} .* --model {model} "
        assert re.search(pattern, proc.stdout), f"{model}: no `srun -n {ranks}` command"
