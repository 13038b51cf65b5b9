"""How `make demo`'s time scales with cores, from a finished demo's own measurements.

Reads every job's wall time from the demo's benchmark files (`demo_work/results/benchmarks/`)
and the jobs, their threads and their dependencies from `snakemake -n --forceall` on the
same config, then replays the DAG on N cores: a job starts when its inputs are done and its
threads are free, the job with the longest remaining chain first (as Snakemake's scheduler
favours). The demo's jobs run at a fixed thread count (training is single-threaded and
deterministic), so a job lasts as long on more cores; the replay gives the wall time N cores
would take. Prints, per N, that time and its ratio to the 2-core replay, beside the chain no
number of cores shortens.

Usage (after `make demo`): python benchmarks/demo_cores.py [--checkout .] [--cores 2 4 8 16]
(``--checkout``: the clone `make demo` ran in, this one by default)
"""

from __future__ import annotations

import argparse
import csv
import heapq
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")


@dataclass
class Job:
    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    benchmark: str | None = None
    threads: int = 1
    seconds: float | None = None  # None: its benchmark file is absent
    after: set[int] = field(default_factory=set)


def _files(value: str) -> list[str]:
    return [f.strip() for f in value.split(", ") if f.strip()]


def dry_run_jobs(checkout: Path) -> list[Job]:
    """Every job of the demo's DAG, from a forced dry run of its profile in ``checkout``."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--profile", "profiles/demo"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=checkout)
    if out.returncode:
        raise SystemExit(f"snakemake -n failed:\n{out.stderr[-3000:]}")
    jobs, job = [], None
    for line in out.stdout.splitlines():
        header = JOB_HEADER.match(line.strip())
        if header:
            job = Job(header.group(1))
            jobs.append(job)
            continue
        if job is None or ":" not in line:
            continue
        key, _, value = line.strip().partition(": ")
        if key == "input":
            job.inputs = _files(value)
        elif key == "output":
            job.outputs = _files(value)
        elif key == "benchmark":
            job.benchmark = value.strip()
        elif key == "threads":
            job.threads = int(value)
    return jobs


def read_seconds(path: Path) -> float:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return float(rows[-1]["s"])


def link(jobs: list[Job], checkout: Path) -> None:
    produced = {}
    for i, job in enumerate(jobs):
        for out in job.outputs:
            produced[out] = i
    for job in jobs:
        job.after = {produced[f] for f in job.inputs if f in produced}
        if not job.benchmark:  # a target rule (all): no work of its own
            job.seconds = 0.0
            continue
        path = Path(job.benchmark)
        path = path if path.is_absolute() else checkout / path
        job.seconds = read_seconds(path) if path.is_file() else None


def chain_lengths(jobs: list[Job]) -> list[float]:
    """Each job's own time plus its longest chain of dependants."""
    below: dict[int, list[int]] = {i: [] for i in range(len(jobs))}
    for i, job in enumerate(jobs):
        for j in job.after:
            below[j].append(i)
    memo: dict[int, float] = {}

    def length(i: int) -> float:
        if i not in memo:
            memo[i] = jobs[i].seconds + max((length(k) for k in below[i]), default=0.0)
        return memo[i]

    return [length(i) for i in range(len(jobs))]


def replay(jobs: list[Job], cores: int, chains: list[float]) -> float:
    """Wall seconds of the DAG on ``cores``, greedy by longest remaining chain."""
    waiting = {i: set(job.after) for i, job in enumerate(jobs)}
    ready = [(-chains[i], i) for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    free, now, done = cores, 0.0, 0
    while done < len(jobs):
        held = []
        while ready:
            prio, i = heapq.heappop(ready)
            need = min(jobs[i].threads, cores)
            if need <= free:
                free -= need
                heapq.heappush(running, (now + jobs[i].seconds, i))
            else:
                held.append((prio, i))
        for item in held:
            heapq.heappush(ready, item)
        now, i = heapq.heappop(running)
        free += min(jobs[i].threads, cores)
        done += 1
        for k, deps in waiting.items():
            if i in deps:
                deps.discard(i)
                if not deps:
                    heapq.heappush(ready, (-chains[k], k))
    return now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 4, 8, 16])
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    if not (checkout / "demo_work" / "results" / "benchmarks").is_dir():
        print(
            f"error: {checkout}/demo_work/results/benchmarks: run make demo first", file=sys.stderr
        )
        return 2
    jobs = dry_run_jobs(checkout)
    link(jobs, checkout)
    unmeasured = [job.rule for job in jobs if job.seconds is None]
    if unmeasured:
        print(
            f"error: no benchmark file for {len(unmeasured)} jobs ({unmeasured[:3]}...)",
            file=sys.stderr,
        )
        return 2
    chains = chain_lengths(jobs)
    measured = sum(job.seconds for job in jobs)
    print(f"{len(jobs)} jobs, {measured / 60:.1f} min of job time in all")
    print(f"longest chain (no number of cores shortens it): {max(chains) / 60:.1f} min")
    base = replay(jobs, 2, chains)
    for cores in args.cores:
        wall = replay(jobs, cores, chains)
        print(
            f"{cores:3d} cores: {wall / 60:5.1f} min of jobs, {wall / base:.2f} x the 2-core time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
