"""Training checkpoints: atomic writes, safe loads, exact RNG capture and restore.

A checkpoint is a dict of tensors and plain values (loadable with ``weights_only=True``):

    format          "rf_models.train/1"
    arch, kind      the model's arch name and kind (image | video)
    config          the ModelConfig as a plain dict
    run             settings a resumed run must share (see loop.run_signature)
    model           state dict of the bare model (no DDP "module." prefix)
    optimizer       SGD state dict (momentum buffers)
    scaler          GradScaler state dict (empty without AMP)
    scheduler       {"iteration": last trained iteration, "lr": its learning rate}
    iteration       last trained iteration (the sampler resumes at iteration + 1)
    best_val_loss, best_iteration
    history         metrics rows written so far (list of dicts)
    skipped         {"train": n, "val": n} samples replaced / left out as unreadable
    rng             torch CPU, CUDA (per device), numpy and python ``random`` states of rank 0
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rf_models.io_utils import atomic_output_file

FORMAT = "rf_models.train/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used to resume this run."""


def capture_rng() -> dict[str, Any]:
    """Every global RNG state as tensors and plain values."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "gauss": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        for device, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), device)
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` through a temporary sibling and ``os.replace``."""
    with atomic_output_file(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike, mmap: bool = False) -> dict[str, Any]:
    """Load a training checkpoint on the CPU (``weights_only``); errors name the file. With
    ``mmap`` tensors are read from the file only when used (inference never reads the
    optimizer's state)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot load the checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: expected a {FORMAT} checkpoint, found {found!r}")
    return state


def remove_stale_temporaries(directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Temporary siblings a killed writer left behind (``.<name>.*.tmp*``)."""
    removed = []
    for name in names:
        for tmp in directory.glob(f".{name}.*.tmp*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed
