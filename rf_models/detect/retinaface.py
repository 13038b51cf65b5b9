"""RetinaFace with a MobileNet-0.25 body, laid out like biubug6/Pytorch_Retinaface.

Module and parameter names follow that re-implementation so its released
``mobilenet0.25_Final.pth`` loads with ``strict=True``. The forward pass returns
``(loc, conf, landmarks)`` with ``conf`` already softmaxed (its "test" phase).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rf_models.paths import DETECTOR_WEIGHTS

WEIGHTS_FILENAME = DETECTOR_WEIGHTS.name
NUM_ANCHORS = 2
# Every leaky ReLU of the MobileNet-0.25 variant has this slope (FPN and SSH use
# it because their width, 64, is <= 64 in the reference configuration).
LEAKY_SLOPE = 0.1
FPN_CHANNELS = 64


def default_weights_path() -> Path:
    """Path of the weights file shipped inside this package (MIT, biubug6)."""
    return DETECTOR_WEIGHTS


def _conv_bn(
    inp: int, oup: int, stride: int = 1, leaky: float | None = LEAKY_SLOPE
) -> nn.Sequential:
    """3x3 conv + BN, followed by a leaky ReLU unless ``leaky`` is None."""
    layers: list[nn.Module] = [
        nn.Conv2d(inp, oup, 3, stride, 1, bias=False),
        nn.BatchNorm2d(oup),
    ]
    if leaky is not None:
        layers.append(nn.LeakyReLU(negative_slope=leaky, inplace=True))
    return nn.Sequential(*layers)


def _conv_bn_1x1(inp: int, oup: int, leaky: float = LEAKY_SLOPE) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        nn.BatchNorm2d(oup),
        nn.LeakyReLU(negative_slope=leaky, inplace=True),
    )


def _conv_dw(inp: int, oup: int, stride: int, leaky: float = LEAKY_SLOPE) -> nn.Sequential:
    """Depthwise 3x3 + pointwise 1x1, each with BN and leaky ReLU."""
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.LeakyReLU(negative_slope=leaky, inplace=True),
        nn.Conv2d(inp, oup, 1, 1, 0, bias=False),
        nn.BatchNorm2d(oup),
        nn.LeakyReLU(negative_slope=leaky, inplace=True),
    )


class MobileNetV1Body(nn.Module):
    """MobileNetV1 x0.25 feature extractor returning strides 8, 16 and 32."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            _conv_bn(3, 8, 2),
            _conv_dw(8, 16, 1),
            _conv_dw(16, 32, 2),
            _conv_dw(32, 32, 1),
            _conv_dw(32, 64, 2),
            _conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(
            _conv_dw(64, 128, 2),
            *(_conv_dw(128, 128, 1) for _ in range(5)),
        )
        self.stage3 = nn.Sequential(
            _conv_dw(128, 256, 2),
            _conv_dw(256, 256, 1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3 = self.stage1(x)
        c4 = self.stage2(c3)
        c5 = self.stage3(c4)
        return c3, c4, c5


class FPN(nn.Module):
    """Top-down pyramid: lateral 1x1 convs, nearest upsampling, 3x3 merges."""

    def __init__(self, in_channels: tuple[int, int, int], out_channels: int) -> None:
        super().__init__()
        self.output1 = _conv_bn_1x1(in_channels[0], out_channels)
        self.output2 = _conv_bn_1x1(in_channels[1], out_channels)
        self.output3 = _conv_bn_1x1(in_channels[2], out_channels)
        self.merge1 = _conv_bn(out_channels, out_channels)
        self.merge2 = _conv_bn(out_channels, out_channels)

    def forward(
        self, feats: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out1 = self.output1(feats[0])
        out2 = self.output2(feats[1])
        out3 = self.output3(feats[2])
        out2 = self.merge2(out2 + F.interpolate(out3, size=out2.shape[-2:], mode="nearest"))
        out1 = self.merge1(out1 + F.interpolate(out2, size=out1.shape[-2:], mode="nearest"))
        return out1, out2, out3


class SSH(nn.Module):
    """Context module: parallel 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 4:
            raise ValueError(f"SSH out_channels must be a multiple of 4, got {out_channels}")
        quarter = out_channels // 4
        self.conv3X3 = _conv_bn(in_channels, out_channels // 2, leaky=None)
        self.conv5X5_1 = _conv_bn(in_channels, quarter)
        self.conv5X5_2 = _conv_bn(quarter, quarter, leaky=None)
        self.conv7X7_2 = _conv_bn(quarter, quarter)
        self.conv7x7_3 = _conv_bn(quarter, quarter, leaky=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5_1 = self.conv5X5_1(x)
        out = torch.cat(
            [
                self.conv3X3(x),
                self.conv5X5_2(branch5_1),
                self.conv7x7_3(self.conv7X7_2(branch5_1)),
            ],
            dim=1,
        )
        return F.relu(out)


class _Head(nn.Module):
    """1x1 conv predicting ``values`` numbers per anchor, flattened to (B, HWA, values)."""

    def __init__(self, in_channels: int, values: int, num_anchors: int = NUM_ANCHORS) -> None:
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(in_channels, num_anchors * values, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x).permute(0, 2, 3, 1)
        return out.reshape(out.shape[0], -1, self.values)


class RetinaFace(nn.Module):
    """RetinaFace (MobileNet-0.25): outputs loc (B,N,4), softmaxed conf (B,N,2), landmarks (B,N,10).

    Anchors are ordered per level (stride 8, 16, 32), then row, column and anchor
    size, matching :func:`rf_models.detect.priors.prior_boxes`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = MobileNetV1Body()
        self.fpn = FPN((64, 128, 256), FPN_CHANNELS)
        self.ssh1 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ssh2 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ssh3 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ClassHead = nn.ModuleList(_Head(FPN_CHANNELS, 2) for _ in range(3))
        self.BboxHead = nn.ModuleList(_Head(FPN_CHANNELS, 4) for _ in range(3))
        self.LandmarkHead = nn.ModuleList(_Head(FPN_CHANNELS, 10) for _ in range(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p3, p4, p5 = self.fpn(self.body(x))
        features = (self.ssh1(p3), self.ssh2(p4), self.ssh3(p5))
        loc = torch.cat([head(f) for head, f in zip(self.BboxHead, features, strict=True)], 1)
        logits = torch.cat([head(f) for head, f in zip(self.ClassHead, features, strict=True)], 1)
        landms = torch.cat(
            [head(f) for head, f in zip(self.LandmarkHead, features, strict=True)], 1
        )
        return loc, F.softmax(logits, dim=-1), landms


def _strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}


def load_state_dict_file(weights_path: str | Path) -> dict[str, torch.Tensor]:
    """Read a RetinaFace state dict (plain, or under ``state_dict``; ``module.`` stripped)."""
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"RetinaFace weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path}: expected a PyTorch state dict of RetinaFace weights, could not load it: {exc}"
        ) from exc
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(
            f"{path}: expected a mapping of parameter names to tensors, "
            f"found {type(state).__name__}"
        )
    return _strip_prefix(state, "module.")


def load_retinaface(
    weights_path: str | Path | None = None, device: str | torch.device = "cpu"
) -> RetinaFace:
    """RetinaFace with weights loaded strictly (default: the shipped file), in eval mode."""
    path = Path(weights_path) if weights_path is not None else default_weights_path()
    state = load_state_dict_file(path)
    model = RetinaFace()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{path}: weights do not match RetinaFace (MobileNet-0.25): {exc}"
        ) from exc
    return model.eval().to(device)
