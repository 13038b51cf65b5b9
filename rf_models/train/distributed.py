"""One training code path, three launch modes.

- single process: no launcher variables (CPU, or one GPU);
- torchrun: ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (rendezvous ``env://`` through
  ``MASTER_ADDR`` / ``MASTER_PORT``, which torchrun sets);
- srun: ``SLURM_PROCID`` / ``SLURM_STEP_NUM_TASKS`` (else ``SLURM_NTASKS``) / ``SLURM_LOCALID``;
  rendezvous through ``MASTER_ADDR`` / ``MASTER_PORT`` exported by the job (derived from the
  step's node list when absent), or a ``file://`` init method on a shared filesystem (the
  seed's way). A file rendezvous must not
  be reused by a later job; under Slurm the job and step ids are appended to the path so a
  re-run after a kill never meets a stale file.

NCCL on CUDA, gloo on CPU. A Slurm allocation with one task is a single process.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

import torch
import torch.distributed as dist


class LaunchError(RuntimeError):
    """The launcher environment is incomplete or contradictory."""


@dataclass(frozen=True)
class LaunchInfo:
    mode: str  # single | torchrun | srun
    rank: int
    world_size: int
    local_rank: int


def _int(env: Mapping[str, str], key: str) -> int:
    try:
        return int(env[key])
    except ValueError:
        raise LaunchError(
            f"environment variable {key} must be an integer, found {env[key]!r}"
        ) from None


def detect_launch(env: Mapping[str, str] | None = None) -> LaunchInfo:
    """Rank, world size and local rank from torchrun's or Slurm's variables (torchrun first)."""
    env = os.environ if env is None else env
    if "RANK" in env and "WORLD_SIZE" in env:
        info = LaunchInfo(
            "torchrun", _int(env, "RANK"), _int(env, "WORLD_SIZE"), int(env.get("LOCAL_RANK", 0))
        )
    elif "SLURM_PROCID" in env and ("SLURM_STEP_NUM_TASKS" in env or "SLURM_NTASKS" in env):
        world_key = "SLURM_STEP_NUM_TASKS" if "SLURM_STEP_NUM_TASKS" in env else "SLURM_NTASKS"
        info = LaunchInfo(
            "srun",
            _int(env, "SLURM_PROCID"),
            _int(env, world_key),
            int(env.get("SLURM_LOCALID", 0)),
        )
    else:
        return LaunchInfo("single", 0, 1, 0)
    if info.world_size < 1 or not 0 <= info.rank < info.world_size or info.local_rank < 0:
        raise LaunchError(
            f"{info.mode}: expected 0 <= rank < world size and local rank >= 0, found rank "
            f"{info.rank}, world size {info.world_size}, local rank {info.local_rank}"
        )
    if info.world_size == 1:
        return LaunchInfo("single", 0, 1, info.local_rank)
    return info


def slurm_first_host(nodelist: str) -> str:
    """First host of a Slurm node list (``scontrol`` expands compressed lists)."""
    out = subprocess.run(
        ["scontrol", "show", "hostnames", nodelist], check=True, capture_output=True, text=True
    ).stdout.split()
    if not out:
        raise LaunchError(f"scontrol show hostnames {nodelist!r} printed no host")
    return out[0]


def resolve_init_method(
    init_method: str | None,
    launch: LaunchInfo,
    env: MutableMapping[str, str] | None = None,
    first_host: Callable[[str], str] = slurm_first_host,
) -> str:
    """The rendezvous URL for a multi-process launch.

    An explicit method wins (a ``file://`` path gets Slurm's job and step ids appended);
    else ``env://`` when MASTER_ADDR and MASTER_PORT are set; else, under srun, MASTER_ADDR
    becomes the step's first node and MASTER_PORT 20000 + job id % 20000 (set in ``env``).
    """
    env = os.environ if env is None else env
    if init_method:
        if init_method.startswith("file://") and "SLURM_JOB_ID" in env:
            step = env.get("SLURM_STEP_ID", env.get("SLURM_STEPID", "0"))
            return f"{init_method}.{env['SLURM_JOB_ID']}.{step}"
        return init_method
    if "MASTER_ADDR" in env and "MASTER_PORT" in env:
        return "env://"
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST")
    if launch.mode == "srun" and nodelist and "SLURM_JOB_ID" in env:
        env.setdefault("MASTER_ADDR", first_host(nodelist))
        env.setdefault("MASTER_PORT", str(20000 + int(env["SLURM_JOB_ID"]) % 20000))
        return "env://"
    raise LaunchError(
        f"{launch.mode} launch with {launch.world_size} processes needs a rendezvous: export "
        "MASTER_ADDR and MASTER_PORT, or give a file:// init method on a shared path "
        "(dist_init_method in the config, --dist-init on the command line)"
    )


@dataclass
class DistContext:
    launch: LaunchInfo
    device: torch.device
    backend: str | None
    owns_group: bool = False  # this context created the process group and destroys it

    @property
    def rank(self) -> int:
        return self.launch.rank

    @property
    def world_size(self) -> int:
        return self.launch.world_size

    @property
    def is_main(self) -> bool:
        return self.launch.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's buffers (BatchNorm statistics): the ones it checkpoints."""
        if self.distributed:
            for buffer in module.buffers():
                dist.broadcast(buffer.data, src=0)

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over ranks (float64)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.distributed:
            dist.all_reduce(t)
        return t.tolist()

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Concatenate every rank's ``(n_r, k)`` float tensor in rank order (n_r may differ)."""
        if not self.distributed:
            return rows
        rows = rows.to(self.device, torch.float64)
        count = torch.tensor([rows.shape[0]], device=self.device)
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        dist.all_gather(counts, count)
        most = int(max(c.item() for c in counts))
        padded = torch.zeros((most, rows.shape[1]), dtype=rows.dtype, device=self.device)
        padded[: rows.shape[0]] = rows
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat([p[: int(c.item())] for p, c in zip(parts, counts, strict=True)]).cpu()


def pick_device(device: str, local_rank: int) -> torch.device:
    """``auto`` = CUDA (this process's local GPU) when available, else CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise LaunchError("device 'cuda' requested but no CUDA device is available")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if device == "cpu":
        return torch.device("cpu")
    return torch.device(device)


def init_distributed(
    device: str = "auto", init_method: str | None = None, timeout_s: float = 1800.0
) -> DistContext:
    """Detect the launch mode, pick the device and, for several processes, join the group."""
    launch = detect_launch()
    dev = pick_device(device, launch.local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if launch.world_size == 1:
        return DistContext(launch, dev, None)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dist.is_initialized():
        return DistContext(launch, dev, dist.get_backend(), owns_group=False)
    dist.init_process_group(
        backend,
        init_method=resolve_init_method(init_method, launch),
        rank=launch.rank,
        world_size=launch.world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    return DistContext(launch, dev, backend, owns_group=True)


def shutdown(ctx: DistContext) -> None:
    """Destroy the process group if ``ctx`` created it (a caller's group stays)."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()
