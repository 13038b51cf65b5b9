"""The tests' tiny networks, registered in rf_models' one architecture registry
(:func:`rf_models.models.registry.register_arch`), so every code path builds them through
``create_model`` as it builds the real ones.

Import :func:`register_tiny_archs` where a test (or a script a test runs) builds one of them.
"""

from __future__ import annotations

import torch
from torch import nn

from rf_models.models.keymaps import identity
from rf_models.models.registry import ARCHS, ArchSpec, register_arch


class Tiny2d(nn.Module):
    """Two strided convolutions with optional BatchNorm, an average-pooled ``grid`` x ``grid``
    readout (a grid above 1 keeps where things are: a mirrored input changes the logits) and
    optional dropout before the linear layer."""

    def __init__(
        self, num_classes: int = 2, bn: bool = True, dropout: float = 0.0, grid: int = 1
    ) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if bn else nn.Identity
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            norm(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            norm(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
        )
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(16 * grid * grid, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.features(x)))


class Tiny3d(nn.Module):
    """A clip model taking ``(B, 3, T, H, W)`` like SlowFast."""

    def __init__(self, num_classes: int = 2, dropout: float = 0.0, grid: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, 8, 3, stride=(1, 2, 2), padding=1),
            nn.BatchNorm3d(8),
            nn.ReLU(),
            nn.AdaptiveAvgPool3d((1, grid, grid)),
            nn.Flatten(),
        )
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(8 * grid * grid, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.features(x)))


class WithScale(nn.Module):
    """A model with a non-persistent buffer: a checkpoint cannot hold it."""

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.fc = nn.Linear(3, num_classes)
        self.register_buffer("scale", torch.full((3,), 2.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)) * self.scale)


def _spec(build) -> ArchSpec:
    # no classifier to re-initialise: a tiny network starts as PyTorch initialises it
    return ArchSpec(build=build, convert=identity, classifier=None)


TINY_ARCHS = {
    "tiny_bn_drop": _spec(lambda num_classes: Tiny2d(num_classes, bn=True, dropout=0.3)),
    "tiny_plain": _spec(lambda num_classes: Tiny2d(num_classes, bn=False)),
    "tiny_grid": _spec(lambda num_classes: Tiny2d(num_classes, grid=2)),
    "tiny3d": _spec(lambda num_classes: Tiny3d(num_classes, dropout=0.3)),
    "tiny3d_grid": _spec(lambda num_classes: Tiny3d(num_classes, grid=2)),
    "tiny_with_scale": _spec(lambda num_classes: WithScale(num_classes)),
}


def register_tiny_archs() -> None:
    """Put the tiny networks in the registry (again is a no-op)."""
    for name, spec in TINY_ARCHS.items():
        if ARCHS.get(name) is not spec:
            register_arch(name, spec)
