"""One entry point for every model: ``create_model(arch, num_classes, init, **kwargs)``."""

from __future__ import annotations

import os
from typing import Any

from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual
from timm.models.xception import Block as XceptionBlock
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
    random initialisation, with every residual branch starting at zero. Nothing is ever
    downloaded. ``kwargs`` override the registry's
    defaults for the builder (e.g. ``drop_rate`` or ``seed_padding`` for the EfficientNets,
    ``alpha`` / ``beta`` / ``tau`` / ``dropout`` for SlowFast).
    """
    spec = get_arch(arch)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    model = spec.build(num_classes=num_classes, **{**spec.defaults, **kwargs})
    # The seed put a fresh nn.Linear(features, 2) on every network: PyTorch's default
    # initialisation. timm draws the TF EfficientNets' head from U(+-1/sqrt(num_classes)),
    # +-0.71 for two classes: random logits of std ~8 and first losses of 3 to 7.
    if spec.classifier is not None:
        model.get_submodule(spec.classifier).reset_parameters()
    if init is None:
        zero_init_residual_branches(model)
    else:
        load_init_weights(model, arch, init)
    return model


def _last_branch_norm(module: nn.Module) -> nn.Module | None:
    """The last BatchNorm of ``module``'s residual branch, if it is a residual block."""
    if isinstance(module, DepthwiseSeparableConv | InvertedResidual) and module.has_skip:
        return module.bn2 if isinstance(module, DepthwiseSeparableConv) else module.bn3
    if isinstance(module, XceptionBlock):
        return [m for m in module.rep if isinstance(m, nn.BatchNorm2d)][-1]
    return None


def zero_init_residual_branches(model: nn.Module) -> int:
    """Zero the scale of the last BatchNorm of every residual branch, so that a randomly
    initialised network starts as its shortcuts (Goyal et al. 2017; timm's ResNets and the
    SlowFast reference code do this). The seed always started from ImageNet / Kinetics
    weights, which replace these; from scratch, the demo's EfficientNets and SlowFast models
    did not learn without it (docs/reproduction.md §9). Returns the number of branches."""
    count = 0
    for module in model.modules():
        if hasattr(module, "zero_init_last"):  # timm ResNet blocks, our Bottleneck3d
            module.zero_init_last()
            count += 1
        elif (norm := _last_branch_norm(module)) is not None:
            nn.init.zeros_(norm.weight)
            count += 1
    return count
