"""One rank of a torch.distributed (gloo) check started by `srun -n N` inside a Slurm job.

Every rank reads its place from Slurm's task variables, joins one process group, all-reduces
its rank and gathers what it saw; rank 0 writes the gathered records as JSON (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist


def slurm_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None or not value.isdigit():
        raise SystemExit(f"expected integer env var {name} from srun, found {value!r}")
    return int(value)


def first_host(nodelist: str) -> str:
    # Compressed lists (node[01-04]) only scontrol expands reliably.
    out = subprocess.run(
        ["scontrol", "show", "hostnames", nodelist],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not out:
        raise SystemExit(f"scontrol show hostnames {nodelist!r} printed no host")
    return out[0]


def init_url(method: str, job_id: int, rendezvous_dir: Path | None) -> str:
    if method == "env":
        nodelist = os.environ.get("SLURM_STEP_NODELIST") or os.environ["SLURM_JOB_NODELIST"]
        os.environ.setdefault("MASTER_ADDR", first_host(nodelist))
        # Stable across ranks of a job, different between jobs sharing a node.
        os.environ.setdefault("MASTER_PORT", str(20000 + job_id % 20000))
        return "env://"
    if rendezvous_dir is None:
        raise SystemExit("--init file needs --rendezvous-dir on the shared filesystem")
    rendezvous_dir.mkdir(parents=True, exist_ok=True)
    # One file per job: a stale file from an earlier job would confuse the rendezvous.
    return f"file://{(rendezvous_dir / f'job{job_id}').resolve()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--init", choices=["env", "file"], required=True)
    parser.add_argument("--rendezvous-dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    rank = slurm_int("SLURM_PROCID")
    world = slurm_int("SLURM_NTASKS")
    local_rank = slurm_int("SLURM_LOCALID")
    job_id = slurm_int("SLURM_JOB_ID")
    url = init_url(args.init, job_id, args.rendezvous_dir)
    dist.init_process_group(
        "gloo", init_method=url, rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    total = torch.tensor([float(rank)])
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    record = {
        "rank": rank,
        "local_rank": local_rank,
        "world_size": dist.get_world_size(),
        "slurm_ntasks": world,
        "slurm_job_id": job_id,
        "host": socket.gethostname(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "master": f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}",
        "init": url,
        "all_reduce_sum": total.item(),
    }
    records: list[dict | None] = [None] * world
    dist.all_gather_object(records, record)
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.tmp")
        tmp.write_text(json.dumps({"ranks": records}, indent=1) + "\n")
        os.replace(tmp, args.out)
    print(f"rank {rank}/{world} local {local_rank}: all_reduce sum {total.item()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
