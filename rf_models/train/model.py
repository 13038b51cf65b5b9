"""BatchNorm settings of a model in training: momentum, and statistics frozen for accumulated
micro-batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


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
