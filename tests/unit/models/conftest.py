"""Shared fixtures for the model tests: one CPU thread, small inputs, random weights only."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _randomise_batchnorm(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give every BN non-trivial statistics and affine terms, so that a wrongly mapped BN shows
    up in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model


@pytest.fixture
def randomise_bn():
    return _randomise_batchnorm
