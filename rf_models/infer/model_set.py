"""Which trained models are in memory while predict scores videos.

The eleven models of the seed weigh 0.84 GB in float32 whatever their input size, more than
half of predict's memory on a CPU. On CUDA they live on the GPU, so they are loaded once and
kept (``all``). On a CPU (``one``) predict holds the crops of a batch of videos instead
(rf_models.infer.folder) and brings in one model at a time to score the whole batch, so the
process holds one model's weights at any moment; the scores are the same either way.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rf_models.infer.scoring import (
    LoadedModel,
    check_trained_model,
    load_trained_model,
    resolve_device,
)
from rf_models.train.config import ModelConfig

IN_MEMORY = ("auto", "all", "one")


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system: glibc keeps them otherwise, so a freed
    model, its activations and a 4K video's decode buffers would still count in the
    process's memory. Elsewhere than glibc this does nothing."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class ModelSpec:
    """A trained model not loaded yet: what checks and crop cutting need (name, cfg) and
    where its weights are."""

    name: str
    cfg: ModelConfig
    checkpoint: Path
    block: Mapping[str, Any]
    device: torch.device

    def load(self) -> LoadedModel:
        return load_trained_model(self.checkpoint, self.block, self.name, self.device)


class ModelSet:
    """The models predict scores with, in ensemble order.

    ``models`` are loaded models (or anything with ``name`` and ``cfg``, as tests pass);
    with ``load``, they are specs and :meth:`for_each` loads one at a time, dropping it before
    the next. ``resident`` says whether all of them stay in memory.
    """

    def __init__(self, models: Sequence[Any], load: Callable[[Any], Any] | None = None) -> None:
        self.models = list(models)
        self._load = load

    @property
    def resident(self) -> bool:
        return self._load is None

    def for_each(self, use: Callable[[Any], None]) -> None:
        """``use(model)`` for every model, loaded; one at a time, each is released before the
        next is read (a callback and not a generator: a caller's loop variable would keep the
        previous model alive while the next one loads)."""
        for model in self.models:
            if self._load is None:
                use(model)
                continue
            loaded = self._load(model)
            use(loaded)
            del loaded
            gc.collect()
            release_freed_memory()

    @classmethod
    def from_checkpoints(
        cls,
        checkpoints: Mapping[str, tuple[str | Path, Mapping[str, Any]]],
        device: str | torch.device = "auto",
        in_memory: str = "auto",
    ) -> ModelSet:
        """``{name: (checkpoint, block)}`` on ``device``. ``in_memory``: ``all`` loads every
        model now and keeps them, ``one`` checks every checkpoint now without loading its
        weights (a bad file fails here, not mid-run) and loads one at a time while scoring;
        ``auto``: ``all`` on CUDA, ``one`` on a CPU."""
        if in_memory not in IN_MEMORY:
            raise ValueError(
                f"predict.models_in_memory: expected one of {IN_MEMORY}, found {in_memory!r}"
            )
        resolved = resolve_device(device)
        if in_memory == "auto":
            in_memory = "all" if resolved.type == "cuda" else "one"
        if in_memory == "all":
            return cls([load_trained_model(p, b, n, resolved) for n, (p, b) in checkpoints.items()])
        specs = [
            ModelSpec(
                name,
                ModelConfig.from_dict(name, block, source=f"model block {name!r}"),
                Path(path),
                block,
                resolved,
            )
            for name, (path, block) in checkpoints.items()
        ]
        for spec in specs:
            check_trained_model(spec.checkpoint, spec.block, spec.name)
        return cls(specs, ModelSpec.load)
