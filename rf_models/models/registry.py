"""The architectures we build, as data: one entry per name used in the config.

An entry says how to build the network, how checkpoints in the seed's (or the published
ImageNet/Kinetics files') layout map onto it, which parameters form its classifier, and the
builder settings that reproduce the seed's training setup. Adding an architecture is adding an
entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

import timm
from torch import nn

from rf_models.models.keymaps import StateDict, efficientnet_to_timm, identity, xception_to_timm
from rf_models.models.same_padding import fix_same_padding
from rf_models.models.slowfast import slowfast_r50


@dataclass(frozen=True)
class ArchSpec:
    """How to build one architecture and load checkpoints into it."""

    build: Callable[..., nn.Module]
    """Called as ``build(num_classes=..., **defaults, **overrides)``."""
    convert: Callable[[Mapping[str, Any]], StateDict]
    """Maps an unwrapped state dict in a known source layout to the built model's keys."""
    classifier: str | None
    """Module name of the final layer: re-initialised as the seed's fresh linear layer, and
    skipped on init when its shape differs (1000/400 vs 2); None for a network without one
    to treat so (a test's tiny network)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)


def _timm(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    # pretrained=False always: weights only ever come from local files (create_model's init).
    return timm.create_model(name, pretrained=False, num_classes=num_classes, **kwargs)


def _tf_efficientnet(
    name: str, nominal_size: int, num_classes: int, seed_padding: bool = True, **kwargs: Any
) -> nn.Module:
    """timm's TF-ported EfficientNet; with ``seed_padding`` its stride-2 convolutions are padded
    as the seed's efficientnet_pytorch padded them (for ``nominal_size``, see same_padding.py)."""
    model = _timm(name, num_classes, **kwargs)
    if seed_padding:
        fix_same_padding(model, nominal_size)
    return model


def _efficientnet_entry(
    name: str, nominal_size: int, stages: tuple[int, ...], drop: float
) -> ArchSpec:
    return ArchSpec(
        build=partial(_tf_efficientnet, name, nominal_size),
        convert=partial(efficientnet_to_timm, stage_depths=stages),
        classifier="classifier",
        # The seed's efficientnet_pytorch: classifier dropout per size, drop-connect 0.2 rising
        # linearly over the blocks, BN momentum 1 - 0.99.
        defaults=MappingProxyType({"drop_rate": drop, "drop_path_rate": 0.2, "bn_momentum": 0.01}),
    )


_ARCHS: dict[str, ArchSpec] = {
    "tf_efficientnet_b0": _efficientnet_entry(
        "tf_efficientnet_b0", 224, (1, 2, 2, 3, 3, 4, 1), 0.2
    ),
    "tf_efficientnet_b1": _efficientnet_entry(
        "tf_efficientnet_b1", 240, (2, 3, 3, 4, 4, 5, 2), 0.2
    ),
    "tf_efficientnet_b3": _efficientnet_entry(
        "tf_efficientnet_b3", 300, (2, 3, 3, 5, 5, 6, 2), 0.3
    ),
    "resnet34": ArchSpec(build=partial(_timm, "resnet34"), convert=identity, classifier="fc"),
    "legacy_xception": ArchSpec(
        build=partial(_timm, "legacy_xception"), convert=xception_to_timm, classifier="fc"
    ),
    "slowfast_r50": ArchSpec(
        build=slowfast_r50,
        convert=identity,
        classifier="fc",
        defaults=MappingProxyType({"alpha": 4, "beta": 0.125, "tau": 16, "dropout": 0.5}),
    ),
}
# A read-only view; register_arch adds to it.
ARCHS: Mapping[str, ArchSpec] = MappingProxyType(_ARCHS)


def register_arch(name: str, spec: ArchSpec) -> None:
    """Add an architecture to the registry (e.g. a test's tiny network). Registering a name
    twice is an error unless it is the same entry again."""
    found = _ARCHS.get(name)
    if found is not None and found is not spec:
        raise ValueError(f"arch {name!r} is registered already")
    _ARCHS[name] = spec


def get_arch(arch: str) -> ArchSpec:
    """The registry entry for ``arch``; a clear error listing the known names otherwise."""
    try:
        return ARCHS[arch]
    except (KeyError, TypeError):
        raise ValueError(f"unknown arch {arch!r}; known: {', '.join(sorted(ARCHS))}") from None
