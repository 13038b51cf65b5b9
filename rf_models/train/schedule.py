"""Learning-rate schedule: linear warm-up, then step decay (docs/reproduction.md §6)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import torch

from rf_models.train.config import ModelConfig


def lr_at(
    iteration: int,
    base_lr: float,
    warmup_lr: float,
    warmup_iters: int,
    lr_steps: Sequence[int],
    gamma: float,
) -> float:
    """Learning rate used by training iteration ``iteration`` (counted from 0).

    While ``iteration < warmup_iters`` the rate rises linearly from ``base_lr`` towards
    ``warmup_lr``; afterwards it is ``warmup_lr * gamma ** k`` with k the number of steps
    ``<= iteration``, so a step applies at its own iteration. ``warmup_iters == 0`` skips the
    warm-up (the seed then decays from base_lr; we follow it).
    """
    if iteration < 0:
        raise ValueError(f"iteration must be >= 0, found {iteration}")
    if warmup_iters == 0:
        warmup_lr = base_lr
    elif iteration < warmup_iters:
        return base_lr + (iteration / warmup_iters) * (warmup_lr - base_lr)
    return warmup_lr * gamma ** bisect_right(list(lr_steps), iteration)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (the loop calls this before each step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def config_lr(cfg: ModelConfig, iteration: int) -> float:
    """:func:`lr_at` with the schedule of a model configuration."""
    return lr_at(
        iteration, cfg.base_lr, cfg.warmup_lr, cfg.warmup_iters, cfg.lr_steps, cfg.lr_gamma
    )
