"""Parameter-name layouts: the seed's (and its ImageNet files') key names -> ours.

Each function takes a state dict already unwrapped (no ``module.`` prefix, no ``state_dict``
wrapper, see ``convert.unwrap_state_dict``) and returns a new dict in our models' layout. A state
dict already in our layout passes through unchanged, so the same path loads both. Keys a function
does not recognise are kept as they are, for the loader to report as unexpected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch

StateDict = dict[str, torch.Tensor]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model it is loaded into."""


# lukemelas efficientnet_pytorch -> timm tf_efficientnet_*.
_EFFNET_TOP = {
    "_conv_stem.": "conv_stem.",
    "_bn0.": "bn1.",
    "_conv_head.": "conv_head.",
    "_bn1.": "bn2.",
    "_fc.": "classifier.",
}
# Blocks with an expansion conv become timm InvertedResidual blocks...
_EFFNET_INVERTED_RESIDUAL = {
    "_expand_conv.": "conv_pw.",
    "_bn0.": "bn1.",
    "_depthwise_conv.": "conv_dw.",
    "_bn1.": "bn2.",
    "_se_reduce.": "se.conv_reduce.",
    "_se_expand.": "se.conv_expand.",
    "_project_conv.": "conv_pwl.",
    "_bn2.": "bn3.",
}
# ...and those without one (expand ratio 1, the first stage) DepthwiseSeparable blocks.
_EFFNET_DEPTHWISE_SEPARABLE = {
    "_depthwise_conv.": "conv_dw.",
    "_bn1.": "bn1.",
    "_se_reduce.": "se.conv_reduce.",
    "_se_expand.": "se.conv_expand.",
    "_project_conv.": "conv_pw.",
    "_bn2.": "bn2.",
}
_EFFNET_BLOCK = re.compile(r"_blocks\.(\d+)\.(.+)")


def _rename(key: str, table: Mapping[str, str]) -> str | None:
    for old, new in table.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return None


def efficientnet_to_timm(
    state_dict: Mapping[str, torch.Tensor], stage_depths: Sequence[int]
) -> StateDict:
    """lukemelas ``efficientnet_pytorch`` keys (flat ``_blocks.N``) -> timm ``tf_efficientnet``
    keys (``blocks.stage.block``), given the number of blocks in each of the seven stages."""
    if "_conv_stem.weight" not in state_dict:
        return dict(state_dict)
    positions = [(s, b) for s, depth in enumerate(stage_depths) for b in range(depth)]
    block_ids = {int(m.group(1)) for k in state_dict if (m := _EFFNET_BLOCK.fullmatch(k))}
    if block_ids != set(range(len(positions))):
        raise CheckpointError(
            f"efficientnet_pytorch layout with {len(block_ids)} blocks (indices "
            f"{min(block_ids, default=None)}..{max(block_ids, default=None)}), expected "
            f"{len(positions)} blocks (stages {tuple(stage_depths)}): "
            "a different EfficientNet size?"
        )
    expanded = {
        int(m.group(1))
        for k in state_dict
        if (m := _EFFNET_BLOCK.fullmatch(k)) and m.group(2).startswith("_expand_conv.")
    }
    out: StateDict = {}
    for key, value in state_dict.items():
        m = _EFFNET_BLOCK.fullmatch(key)
        if m is None:
            new = _rename(key, _EFFNET_TOP)
        else:
            index, rest = int(m.group(1)), m.group(2)
            table = _EFFNET_INVERTED_RESIDUAL if index in expanded else _EFFNET_DEPTHWISE_SEPARABLE
            renamed = _rename(rest, table)
            stage, block = positions[index]
            new = None if renamed is None else f"blocks.{stage}.{block}.{renamed}"
        out[key if new is None else new] = value
    return out


def xception_to_timm(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Cadene's Xception (and the seed's copy of it) -> timm ``legacy_xception``.

    Cadene's ImageNet file stores the separable convolutions' pointwise weights as 2-D
    ``(out, in)`` matrices; they become ``(out, in, 1, 1)`` convolutions. Its classifier may be
    named ``last_linear`` (Cadene's model after loading) or ``fc`` (the file, the seed).
    """
    out: StateDict = {}
    for key, value in state_dict.items():
        if key.startswith("last_linear."):
            key = "fc." + key[len("last_linear.") :]
        if key.endswith("pointwise.weight") and value.dim() == 2:
            value = value[:, :, None, None]
        out[key] = value
    return out


def identity(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Layouts that already match ours: torchvision ResNet == timm ResNet, and our SlowFast keeps
    the seed's parameter names."""
    return dict(state_dict)
