"""Helpers for the inference tests: tiny registered archs, their configs and checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from rf_models.train.checkpoint import FORMAT, save_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.train.model import build_model, register_arch
from tests.seed_config import seed_optimiser


class Tiny2d(nn.Module):
    """Asymmetric kernels and a spatial readout: mirrored or colour-swapped input changes the
    logits."""

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1))


class Tiny3d(nn.Module):
    """A clip model taking ``(B, 3, T, H, W)`` like SlowFast."""

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, stride=(1, 2, 2), padding=1)
        self.pool = nn.AdaptiveAvgPool3d((1, 2, 2))
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


register_arch("infer_tiny2d", lambda num_classes: Tiny2d(num_classes))
register_arch("infer_tiny3d", lambda num_classes: Tiny3d(num_classes))


def block(kind: str = "image", **overrides: Any) -> dict[str, Any]:
    """A complete model block for a tiny model."""
    base = {
        "kind": kind,
        "arch": "infer_tiny2d" if kind == "image" else "infer_tiny3d",
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
    model = build_model(cfg.arch, num_classes=2)
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
