"""Checkpoint files in the seed's layouts, built from our models with random weights.

The seed's layouts are written here from its own code as the tests understand it
(docs/reproduction.md §8 and §10), per network and independently of the converter's tables:

- EfficientNet-B0/B1/B3: lukemelas ``efficientnet_pytorch`` names (flat ``_blocks.N``);
- ResNet-34: torchvision's names, which timm's ResNet shares;
- Xception: the seed's ``TransferModel`` around Cadene's network, so ``model.``-prefixed, with
  the 4-D pointwise weights its ``nn.Conv2d`` modules hold (only Cadene's ImageNet file stores
  them 2-D; the seed reshaped those on load) and its replaced classifier ``model.fc``;
- SlowFast-50: the seed's module names (``fast_res1.0.downsample.0``, ``Tconv1``, ...),
  which our SlowFast keeps.

A released file is what the seed's training saved at a validation: ``{"step", "arch",
"state_dict": {"module.<key>": tensor}, "best_loss", "optimizer"}``, by torch 1.4's legacy
(non-zip) serialisation, with the storages tagged as CUDA storages as a GPU run saved them.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from rf_models.models import create_model

# The seed's released names (inference/submit_models, as its inference script loads them).
SEED_RELEASE: Mapping[str, tuple[str, str]] = {
    "sf": ("sf_bc_jc_44000.pth.tar", "slowfast_r50"),
    "sf_noaug": ("sf_32000.pth.tar", "slowfast_r50"),
    "sf_16x8": ("sf_16x8_bc_jc_44000.pth.tar", "slowfast_r50"),
    "sf_alldata": ("sf_trainval_52000.pth.tar", "slowfast_r50"),
    "xcep": ("xcep_bgr_58000.pth.tar", "legacy_xception"),
    "b3": ("b3_rgb_50000.pth.tar", "tf_efficientnet_b3"),
    "r34": ("res34_rgb_23000.pth.tar", "resnet34"),
    "b1": ("b1_rgb_58000.pth.tar", "tf_efficientnet_b1"),
    "b1long": ("b1_rgb_long_alldata_66000.pth.tar", "tf_efficientnet_b1"),
    "b1short": ("b1_rgb_alldata_58000.pth.tar", "tf_efficientnet_b1"),
    "b0": ("b0_rgb_58000.pth.tar", "tf_efficientnet_b0"),
}
IMAGE_BLOCKS = ("xcep", "b3", "r34", "b1", "b1long", "b1short", "b0")

# Blocks per stage of lukemelas' EfficientNets (its blocks are numbered across stages).
STAGES: Mapping[str, tuple[int, ...]] = {
    "tf_efficientnet_b0": (1, 2, 2, 3, 3, 4, 1),
    "tf_efficientnet_b1": (2, 3, 3, 4, 4, 5, 2),
    "tf_efficientnet_b3": (2, 3, 3, 5, 5, 6, 2),
}


def to_lukemelas(timm_state: Mapping[str, torch.Tensor], stages: tuple[int, ...]) -> dict:
    """timm tf_efficientnet keys -> lukemelas efficientnet_pytorch keys."""
    out = {}
    offsets = [sum(stages[:s]) for s in range(len(stages))]
    blocks = {".".join(k.split(".")[:3]) for k in timm_state if k.startswith("blocks.")}
    ds_blocks = blocks - {k.split(".conv_pwl.")[0] for k in timm_state if ".conv_pwl." in k}
    for key, value in timm_state.items():
        m = re.fullmatch(r"blocks\.(\d+)\.(\d+)\.(.+)", key)
        if m is None:
            top, _, rest = key.partition(".")
            name = {
                "conv_stem": "_conv_stem",
                "bn1": "_bn0",
                "conv_head": "_conv_head",
                "bn2": "_bn1",
                "classifier": "_fc",
            }[top]
            out[f"{name}.{rest}"] = value
            continue
        stage, block, rest = int(m.group(1)), int(m.group(2)), m.group(3)
        depthwise_separable = f"blocks.{stage}.{block}" in ds_blocks
        layer, _, param = rest.rpartition(".")
        if depthwise_separable:
            names = {"conv_dw": "_depthwise_conv", "bn1": "_bn1", "conv_pw": "_project_conv"}
            names["bn2"] = "_bn2"
        else:
            names = {"conv_pw": "_expand_conv", "bn1": "_bn0", "conv_dw": "_depthwise_conv"}
            names.update({"bn2": "_bn1", "conv_pwl": "_project_conv", "bn3": "_bn2"})
        names.update({"se.conv_reduce": "_se_reduce", "se.conv_expand": "_se_expand"})
        out[f"_blocks.{offsets[stage] + block}.{names[layer]}.{param}"] = value
    return out


def seed_checkpoint(state: Mapping[str, torch.Tensor], step: int = 58000) -> dict:
    """How the seed saved a DDP model at each validation (``module.`` on every key)."""
    wrapped = OrderedDict((f"module.{k}", v) for k, v in state.items())
    # nn.Module.state_dict() carries per-module versions; the pickle holds them as its state.
    wrapped._metadata = OrderedDict({"module": {"version": 1}})  # type: ignore[attr-defined]
    return {
        "step": step,
        "arch": "seed",
        "state_dict": wrapped,
        "best_loss": 0.31,
        "optimizer": {
            "state": {},
            "param_groups": [{"lr": 0.01, "momentum": 0.9, "nesterov": True, "params": [0, 1]}],
        },
    }


def _check_slowfast_names(state: Mapping[str, torch.Tensor]) -> None:
    # Hand-written from the seed's slowfast.py (alpha 4, beta 1/8): if our module ever drifts
    # from its names or shapes, these files stop being the seed's.
    expected = {
        "fast_conv1.weight": (8, 3, 5, 7, 7),
        "slow_conv1.weight": (64, 3, 1, 7, 7),
        "Tconv1.weight": (16, 8, 5, 1, 1),
        "Tconv4.weight": (256, 128, 5, 1, 1),
        "fast_res1.0.downsample.0.weight": (32, 8, 1, 1, 1),
        "fast_res1.0.conv1.weight": (8, 8, 3, 1, 1),
        "slow_res1.0.conv1.weight": (64, 80, 1, 1, 1),
        "slow_res3.0.conv1.weight": (256, 640, 3, 1, 1),
        "slow_res4.2.bn3.running_var": (2048,),
        "slow_res1.0.downsample_bn.weight": (256,),
        "fc.weight": (2, 2304),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, (key, tuple(state[key].shape), shape)


def seed_layout(arch: str, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our model's state dict -> the key layout of the seed's model (before DDP's prefix)."""
    if arch in STAGES:
        return to_lukemelas(state, STAGES[arch])
    if arch == "legacy_xception":
        return {f"model.{k}": v for k, v in state.items()}
    if arch == "slowfast_r50":
        _check_slowfast_names(state)
    return dict(state)


def randomised_model(arch: str, seed: int) -> torch.nn.Module:
    """``arch`` with random weights everywhere: BN scales, shifts and statistics too, so that a
    wrongly mapped tensor changes the logits."""
    g = torch.Generator().manual_seed(seed)
    model = create_model(arch)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.num_batches_tracked.fill_(seed + 1)
        for p in model.get_submodule("fc" if hasattr(model, "fc") else "classifier").parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def legacy_gpu_bytes(obj: object) -> bytes:
    """``obj`` serialised as torch 1.4 saved it from a GPU run: the legacy format, its
    storages typed ``torch.cuda.*Storage`` at location ``cuda:0``."""
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    # Protocol-2 pickle: a global is "c<module>\n<name>\n"; a str "X" + 4-byte length + bytes.
    for kind in (b"Float", b"Long"):
        data = data.replace(
            b"ctorch\n" + kind + b"Storage\n", b"ctorch.cuda\n" + kind + b"Storage\n"
        )
    return data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")


def write_seed_file(path: Path, arch: str, state: Mapping[str, torch.Tensor], step: int) -> Path:
    """Write our-layout ``state`` of ``arch`` as the seed's released checkpoint ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(legacy_gpu_bytes(seed_checkpoint(seed_layout(arch, state), step=step)))
    return path


@dataclass(frozen=True)
class SeedRelease:
    """One written file and the tensors an import must produce from it (our layout)."""

    block: str
    arch: str
    path: Path
    expected: dict[str, torch.Tensor]


def write_seed_release(folder: Path, blocks: Iterable[str] = tuple(SEED_RELEASE)) -> dict:
    """The seed's released files for ``blocks`` under ``folder``, each at its real
    architecture with its own random weights: ``{block: SeedRelease}``."""
    out = {}
    for index, block in enumerate(blocks):
        filename, arch = SEED_RELEASE[block]
        state = {k: v.clone() for k, v in randomised_model(arch, seed=index).state_dict().items()}
        step = int(re.search(r"_(\d+)\.pth\.tar$", filename).group(1))
        path = write_seed_file(folder / filename, arch, state, step)
        out[block] = SeedRelease(block, arch, path, state)
    return out
