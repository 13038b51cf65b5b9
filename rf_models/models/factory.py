"""One entry point for every model: ``create_model(arch, num_classes, init, **kwargs)``."""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from rf_models.models.convert import load_init_weights
from rf_models.models.registry import ARCHS, get_arch


def available_archs() -> list[str]:
    """The arch names ``create_model`` accepts."""
    return sorted(ARCHS)


def create_model(
    arch: str, num_classes: int = 2, init: str | os.PathLike | None = None, **kwargs: Any
) -> nn.Module:
    """Build ``arch`` with a ``num_classes``-way classifier.

    ``init`` is a local file (ImageNet / Kinetics weights in their published layout, or a seed
    checkpoint) loaded into every layer but a classifier of a different shape; None leaves the
    random initialisation. Nothing is ever downloaded. ``kwargs`` override the registry's
    defaults for the builder (e.g. ``drop_rate`` or ``seed_padding`` for the EfficientNets,
    ``alpha`` / ``beta`` / ``tau`` / ``dropout`` for SlowFast).
    """
    spec = get_arch(arch)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    model = spec.build(num_classes=num_classes, **{**spec.defaults, **kwargs})
    if init is not None:
        load_init_weights(model, arch, init)
    return model
