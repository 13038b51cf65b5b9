"""The recipe check: a model block trains at its real settings for a few iterations.

The block runs through the training loop (:func:`rf_models.train.loop.train_model`) at its own
input size, clip length, class weights, augmentation, learning-rate schedule (its first
iterations) and per-GPU batch, on real face crops, from random initialisation (the
ImageNet / Kinetics files are not in the repository). A step covers the seed's global batch
(``gpus`` micro-batches) unless ``micro_batches`` asks for fewer, as on a CPU, where the
learning rate is then scaled by the linear rule.

Whether it learns is judged on a fixed probe: the first training items, transformed as for
validation, scored with the class-weighted training loss before and after the run, in
training mode (batch statistics) with the same dropout draw both times. Comparing the same
samples removes the batch-to-batch noise that hides a slow start in the per-iteration losses,
which are reported as well. A recipe passes when every loss is finite and the probe loss
after the run is below the one before.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rf_models.models.factory import create_model
from rf_models.train.accumulation import plan_steps
from rf_models.train.checkpoint import load_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.train.datasets import build_dataset
from rf_models.train.distributed import pick_device
from rf_models.train.loop import class_weighted_loss, train_model
from rf_models.train.model import bn_statistics_frozen, set_bn_momentum
from rf_models.train.transforms import build_transforms

PROBE_SEED = 12345


@dataclass(frozen=True)
class RecipeResult:
    model: str
    iterations: int
    micro_batches: int  # per step
    gpus: int  # the seed's micro-batches per step
    global_batch: int
    lr_factor: float  # linear-rule scale of the learning rate (1 at the seed's global batch)
    device: str
    seconds_per_iteration: float  # median, first iteration left out
    losses: tuple[float, ...]  # training loss of each iteration
    probe_before: float
    probe_after: float

    @property
    def finite(self) -> bool:
        values = (*self.losses, self.probe_before, self.probe_after)
        return all(math.isfinite(v) for v in values)

    @property
    def learned(self) -> bool:
        """Finite losses and a lower probe loss after the run: the recipe passes."""
        return self.finite and self.probe_after < self.probe_before


def _probe_loss(model: torch.nn.Module, batch: tuple, cfg: ModelConfig, device) -> float:
    x, y = batch
    weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
    model.train()
    torch.manual_seed(PROBE_SEED)  # the same dropout draw before and after
    with torch.no_grad(), bn_statistics_frozen(model, frozen=True):
        return class_weighted_loss(model(x.to(device)), y.to(device), weights).item()


def _probe_batch(cfg: ModelConfig, train_list: Path, crops: Path) -> tuple:
    _, eval_tf = build_transforms(cfg)
    ds = build_dataset(cfg, train_list, crops, eval_tf, train=False)
    # Every few items up to the probe size: both classes from several videos.
    n = min(len(ds), 2 * cfg.batch_size)
    step = max(1, len(ds) // n)
    items = [ds[i] for i in range(0, step * n, step)]
    return torch.stack([t for t, _, _ in items]), torch.tensor([y for _, y, _ in items])


def check_recipe(
    cfg: ModelConfig,
    train_list: str | os.PathLike,
    val_list: str | os.PathLike,
    crops: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    iterations: int = 20,
    micro_batches: int | None = None,
    device: str = "auto",
) -> RecipeResult:
    """Train ``cfg`` from random initialisation for ``iterations`` iterations into
    ``out_dir`` (validating on the first two lines of ``val_list`` at the end) and judge it.
    ``micro_batches`` (default the block's ``gpus``) is passed to ``train_model``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = cfg.with_overrides(init=None, log_every=1, ckpt_every=0, val_every=iterations)
    lines = Path(val_list).read_text().splitlines()
    small_val = out / "val_probe.txt"
    small_val.write_text("\n".join(lines[:2]) + "\n")
    plan = plan_steps(cfg.gpus, 1, 0, cfg.batch_size, cfg.loss_world_size_division, micro_batches)

    torch.manual_seed(cfg.seed)  # the loop builds the model after the same seeding
    initial = create_model(cfg.arch, num_classes=2)
    if cfg.bn_momentum is not None:
        set_bn_momentum(initial, cfg.bn_momentum)
    probe = _probe_batch(cfg, Path(train_list), Path(crops))
    dev = pick_device(device, 0)
    before = _probe_loss(initial.to(dev), probe, cfg, dev)
    del initial

    stamps: list[float] = []
    train_model(
        cfg,
        train_list,
        small_val,
        crops,
        out,
        max_iter_override=iterations,
        device=dev.type,
        on_iteration=lambda it: stamps.append(time.monotonic()),
        micro_batches=plan.micro_batches,
    )
    trained = create_model(cfg.arch, num_classes=2)
    trained.load_state_dict(load_checkpoint(out / "last.pt")["model"])
    after = _probe_loss(trained.to(dev), probe, cfg, dev)
    with open(out / "metrics.csv", newline="") as fh:
        # metrics.csv writes a NaN as an empty cell
        losses = tuple(float(r["train_loss"] or "nan") for r in csv.DictReader(fh))
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return RecipeResult(
        model=cfg.name,
        iterations=iterations,
        micro_batches=plan.micro_batches,
        gpus=cfg.gpus,
        global_batch=plan.global_batch,
        lr_factor=plan.lr_factor,
        device=str(dev),
        seconds_per_iteration=statistics.median(gaps) if gaps else math.nan,
        losses=losses,
        probe_before=before,
        probe_after=after,
    )
