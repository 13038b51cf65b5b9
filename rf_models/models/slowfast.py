"""SlowFast-50 as RobustForensics defines it (docs/reproduction.md §8), not pytorchvideo's variant.

Differences from the SlowFast paper's reference code that are the seed's and kept here: the
lateral connections are bare 5x1x1 convolutions (no BN or ReLU), the slow pathway's first two
stages have no temporal convolution, and every stage whose input width differs from its output
gets a 1x1x1 projection shortcut (so the first stage of both pathways has one too).

Parameter names follow the seed's module (``fast_conv1``, ``slow_res3.0.conv1``, ``Tconv2``,
``...downsample.0`` / ``...downsample_bn``, ``fc``) so that its checkpoints, including its
Kinetics-400 initialisation file, load without renaming.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

EXPANSION = 4


class Bottleneck3d(nn.Module):
    """1x1 (or 3x1x1 temporal) -> 1x3x3 (spatial stride) -> 1x1 bottleneck with a residual."""

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        temporal_kernel: int = 1,
        project: bool = False,
    ) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        self.conv1 = nn.Conv3d(
            in_channels,
            planes,
            kernel_size=(temporal_kernel, 1, 1),
            padding=(temporal_kernel // 2, 0, 0),
            bias=False,
        )
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(
            planes,
            planes,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        if project:
            # A one-element Sequential plus a separate BN: the seed's parameter names.
            self.downsample = nn.Sequential(
                nn.Conv3d(
                    in_channels,
                    out_channels,
                    kernel_size=1,
                    stride=(1, stride, stride),
                    bias=False,
                )
            )
            self.downsample_bn = nn.BatchNorm3d(out_channels)
        else:
            self.downsample = None
            self.downsample_bn = None

    def zero_init_last(self) -> None:
        """Start the residual branch at zero (see ``models.factory``)."""
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            x = self.downsample_bn(self.downsample(x))
        return self.relu(out + x)


def _stage(
    in_channels: int, planes: int, blocks: int, stride: int, temporal_kernel: int
) -> nn.Sequential:
    out_channels = planes * EXPANSION
    project = stride != 1 or in_channels != out_channels
    layers = [Bottleneck3d(in_channels, planes, stride, temporal_kernel, project)]
    layers += [Bottleneck3d(out_channels, planes, 1, temporal_kernel) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _lateral(channels: int, alpha: int) -> nn.Conv3d:
    # Temporal stride alpha with kernel 5 / padding 2 gives ceil(T / alpha) frames, the same
    # count as the slow pathway's input[:, :, ::alpha], for any clip length T.
    return nn.Conv3d(
        channels,
        2 * channels,
        kernel_size=(5, 1, 1),
        stride=(alpha, 1, 1),
        padding=(2, 0, 0),
        bias=False,
    )


class SlowFast(nn.Module):
    """SlowFast network taking a clip ``(B, 3, T, H, W)``; the slow pathway sees every alpha-th
    frame, the fast pathway every frame.

    ``tau`` is stored because the seed's configs carry it; the forward pass does not use it (the
    clip's frame step is chosen by the data pipeline).
    """

    def __init__(
        self,
        num_classes: int = 2,
        layers: Sequence[int] = (3, 4, 6, 3),
        alpha: int = 4,
        beta: float = 0.125,
        tau: int = 16,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if len(layers) != 4 or any(not isinstance(n, int) or n < 1 for n in layers):
            raise ValueError(f"layers must be four positive ints, got {tuple(layers)!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, int) or alpha < 1:
            raise ValueError(f"alpha must be a positive int, got {alpha!r}")
        fast_width = int(64 * beta)
        if not beta > 0 or fast_width < 1:
            raise ValueError(
                f"beta must give at least one fast stem channel (64*beta >= 1), got {beta!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.alpha = alpha
        self.beta = beta
        self.tau = tau

        self.fast_conv1 = nn.Conv3d(
            3, fast_width, kernel_size=(5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False
        )
        self.fast_bn1 = nn.BatchNorm3d(fast_width)
        self.fast_relu = nn.ReLU(inplace=True)
        self.fast_maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

        self.slow_conv1 = nn.Conv3d(
            3, 64, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False
        )
        self.slow_bn1 = nn.BatchNorm3d(64)
        self.slow_relu = nn.ReLU(inplace=True)
        self.slow_maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

        fast_in, slow_in = fast_width, 64
        for i, blocks in enumerate(layers):
            stride = 1 if i == 0 else 2
            # The lateral taken before stage i doubles the fast width and joins the slow input.
            lateral = _lateral(fast_in, alpha)
            slow_planes = 64 * 2**i
            slow_stage = _stage(
                slow_in + lateral.out_channels, slow_planes, blocks, stride, 1 if i < 2 else 3
            )
            fast_planes = fast_width * 2**i
            fast_stage = _stage(fast_in, fast_planes, blocks, stride, 3)
            setattr(self, f"Tconv{i + 1}", lateral)
            setattr(self, f"slow_res{i + 1}", slow_stage)
            setattr(self, f"fast_res{i + 1}", fast_stage)
            fast_in, slow_in = fast_planes * EXPANSION, slow_planes * EXPANSION

        self.num_features = slow_in + fast_in
        self.dp = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def pathways(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Final feature maps ``(slow, fast)`` before pooling:
        ``(B, 2048, ceil(T/alpha), h, w)`` and ``(B, 256, T, h, w)`` for SlowFast-50."""
        if clip.dim() != 5 or clip.shape[1] != 3:
            raise ValueError(f"expected a clip of shape (B, 3, T, H, W), got {tuple(clip.shape)}")
        fast = self.fast_maxpool(self.fast_relu(self.fast_bn1(self.fast_conv1(clip))))
        slow = clip[:, :, :: self.alpha]
        slow = self.slow_maxpool(self.slow_relu(self.slow_bn1(self.slow_conv1(slow))))
        for i in range(1, 5):
            slow = torch.cat([slow, getattr(self, f"Tconv{i}")(fast)], dim=1)
            slow = getattr(self, f"slow_res{i}")(slow)
            fast = getattr(self, f"fast_res{i}")(fast)
        return slow, fast

    def forward_features(self, clip: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled slow and fast features, concatenated: ``(B, num_features)``."""
        slow, fast = self.pathways(clip)
        return torch.cat([slow.mean(dim=(2, 3, 4)), fast.mean(dim=(2, 3, 4))], dim=1)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dp(self.forward_features(clip)))


def slowfast_r50(
    num_classes: int = 2,
    alpha: int = 4,
    beta: float = 0.125,
    tau: int = 16,
    dropout: float = 0.5,
) -> SlowFast:
    """The seed's SlowFast-50 (blocks 3/4/6/3)."""
    return SlowFast(
        num_classes=num_classes,
        layers=(3, 4, 6, 3),
        alpha=alpha,
        beta=beta,
        tau=tau,
        dropout=dropout,
    )
