"""Model construction for training: the project factory plus locally registered archs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import torch
from torch import nn

from rf_models.models.factory import create_model

_EXTRA_ARCHS: dict[str, Callable[..., nn.Module]] = {}


def register_arch(name: str, build: Callable[..., nn.Module]) -> None:
    """Make ``name`` buildable by :func:`build_model` (called as ``build(num_classes=...)``);
    for architectures outside ``rf_models.models``, e.g. tiny networks in tests."""
    _EXTRA_ARCHS[name] = build


def build_model(
    arch: str, num_classes: int = 2, init: str | os.PathLike | None = None
) -> nn.Module:
    """A registered extra arch, else ``rf_models.models.create_model``."""
    if arch in _EXTRA_ARCHS:
        if init is not None:
            raise ValueError(
                f"arch {arch!r} is a locally registered arch: init files need "
                f"rf_models.models, found init={init!r}"
            )
        return _EXTRA_ARCHS[arch](num_classes=num_classes)
    return create_model(arch, num_classes=num_classes, init=init)


def set_bn_momentum(model: nn.Module, momentum: float) -> None:
    """Set the momentum of every BatchNorm layer (2-D and 3-D)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = momentum


@contextlib.contextmanager
def bn_statistics_frozen(model: nn.Module, frozen: bool) -> Iterator[None]:
    """While ``frozen``, forward passes in training mode still normalise with the batch's
    statistics but leave every BatchNorm's running statistics as they were (restored on
    exit): accumulated micro-batches of the seed's ranks other than 0 must not move them."""
    if not frozen:
        yield
        return
    saved = [
        (buffer, buffer.clone())
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats
        for buffer in (module.running_mean, module.running_var, module.num_batches_tracked)
        if buffer is not None
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)
