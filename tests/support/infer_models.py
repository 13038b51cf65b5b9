"""Inference tests' models: blocks of the tiny networks (tests/support/tiny_models.py) and
their checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from rf_models.models.factory import create_model
from rf_models.train.checkpoint import FORMAT, save_checkpoint
from rf_models.train.config import ModelConfig
from tests.support.seed_config import seed_optimiser


def block(kind: str = "image", **overrides: Any) -> dict[str, Any]:
    """A complete model block for a tiny model."""
    base = {
        "kind": kind,
        "arch": "tiny_grid" if kind == "image" else "tiny3d_grid",
        "input_size": 24,
        "colour": "RGB",
        "normalisation": "imagenet",
        "batch_size": 4,
        "gpus": 1,
        "base_lr": 0.01,
        "warmup_lr": 0.01,
        "warmup_iters": 0,
        **seed_optimiser(),
        "aug_min_scale": 0.88,
        "lr_steps": [],
        "max_iter": 1,
        "split": "demo",
        "aug": "A" if kind == "image" else "V",
        "val_every": 1,
        "infer_size": 32,
    }
    base.update(overrides)
    return base


def write_checkpoint(path: Path, blk: dict[str, Any], name: str = "m", seed: int = 0) -> Path:
    """A best.pt in the training format with randomly initialised weights (BN statistics
    perturbed so eval mode differs from identity)."""
    cfg = ModelConfig.from_dict(name, blk)
    torch.manual_seed(seed)
    model = create_model(cfg.arch, num_classes=2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    save_checkpoint(
        {
            "format": FORMAT,
            "arch": cfg.arch,
            "kind": cfg.kind,
            "config": cfg.to_dict(),
            "model": model.state_dict(),
        },
        path,
    )
    return path
