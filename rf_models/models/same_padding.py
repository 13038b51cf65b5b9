"""TF "SAME" padding fixed for one input size, as the seed's EfficientNets computed it.

The seed's ``efficientnet_pytorch`` copy built every convolution with padding computed from the
network's nominal input size (224 for B0, 240 for B1, 300 for B3), for every layer, and then ran
the networks at 299. timm's ``tf_efficientnet_*`` compute the padding from each layer's actual
input instead. The two agree for stride 1, and for stride 2 whenever the layer input has even
size; at 299 they differ (the stem sees an odd size, and so does a later stage), so the seed's
networks and timm's give different outputs with the same weights. ``fix_same_padding`` makes a
timm model compute what the seed's did.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import Conv2dSame
from torch import nn


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding TF's "SAME" uses along one axis of length ``size``."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class FixedPadConv2d(nn.Conv2d):
    """A convolution with asymmetric zero padding decided once (left, right, top, bottom)."""

    def __init__(self, conv: nn.Conv2d, pad: tuple[int, int, int, int]) -> None:
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=0,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        self.weight = conv.weight
        self.bias = conv.bias
        self.fixed_pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(F.pad(x, self.fixed_pad), self.weight, self.bias)


def fix_same_padding(model: nn.Module, image_size: int) -> int:
    """Replace every dynamic-"SAME" convolution of ``model`` with one padded as for an input of
    ``image_size`` (the seed's rule: the same size for every layer). Parameter names and values
    are unchanged. Returns the number of convolutions replaced."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, Conv2dSame)]
    for name, conv in targets:
        left, right = same_padding(
            image_size, conv.kernel_size[1], conv.stride[1], conv.dilation[1]
        )
        top, bottom = same_padding(
            image_size, conv.kernel_size[0], conv.stride[0], conv.dilation[0]
        )
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, FixedPadConv2d(conv, (left, right, top, bottom)))
    return len(targets)
