"""A slow, resumable job: counts steps, checkpointing after each one outside its outputs.

Stands in for a training run: killed (scancel, time limit) and started again, it continues
from its last checkpoint. Every start appends `start <step> <SLURM_JOB_ID>` to
`<checkpoint-dir>/starts.txt` so tests can see which job to cancel and where it resumed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    os.replace(tmp, path)


def read_step(state: Path) -> int:
    if not state.exists():
        return 0
    data = json.loads(state.read_text())
    step = data.get("step")
    if not isinstance(step, int) or step < 0:
        raise SystemExit(f"{state}: expected a non-negative integer 'step', found {step!r}")
    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint-dir", type=Path, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")

    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    state = args.checkpoint_dir / "state.json"
    first = read_step(state)
    job_id = os.environ.get("SLURM_JOB_ID", "none")
    with open(args.checkpoint_dir / "starts.txt", "a") as starts:
        starts.write(f"start {first} {job_id}\n")
    print(f"job {job_id}: starting at step {first} of {args.steps}", flush=True)
    for step in range(first + 1, args.steps + 1):
        time.sleep(args.sleep)
        write_json_atomic(state, {"step": step})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out, {"resumed_from": first, "steps": args.steps, "job": job_id})
    return 0


if __name__ == "__main__":
    sys.exit(main())
