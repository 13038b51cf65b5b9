"""Load checkpoints in the seed's layouts (and the published ImageNet/Kinetics files it started
from) into our models.

Sources handled, each bare or wrapped (``{"state_dict": ...}`` as the seed saves, or
``{"model": ...}``) and with or without DDP's ``module.`` prefix:

- EfficientNet-B0/B1/B3: lukemelas ``efficientnet_pytorch`` names (the seed's models and the
  ``efficientnet-b*-*.pth`` ImageNet files) -> timm ``tf_efficientnet_b*``;
- ResNet-34: torchvision names (``resnet34-333f7ec4.pth``, the seed's r34) == timm ``resnet34``;
- Xception: Cadene's port (``xception-b5690688.pth``, 2-D pointwise weights, ``fc`` or
  ``last_linear``) and the seed's (``model.``-prefixed, from its transfer wrapper) ->
  timm ``legacy_xception``;
- SlowFast-50: the seed's layout (its checkpoints and ``sf50_k400.pth``) == ours.

Files are read with ``torch.load(weights_only=True)`` (or safetensors, recognised by suffix or
content): nothing is unpickled.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rf_models.models.keymaps import CheckpointError, StateDict
from rf_models.models.registry import get_arch

__all__ = [
    "CheckpointError",
    "check_fits",
    "convert_state_dict",
    "load_init_weights",
    "load_seed_checkpoint",
    "read_checkpoint",
    "read_checkpoint_object",
    "unwrap_state_dict",
]

_WRAPPER_KEYS = ("state_dict", "model")
# DDP's prefix, then the seed's Xception transfer wrapper (``TransferModel.model``).
_PREFIXES = ("module.", "model.")
_SHOW = 5


def _first(items: list[str]) -> str:
    more = f", ... ({len(items) - _SHOW} more)" if len(items) > _SHOW else ""
    return ", ".join(items[:_SHOW]) + more


def unwrap_state_dict(obj: Any, source: str = "state dict") -> StateDict:
    """The flat ``{name: tensor}`` inside a checkpoint object, wrappers and prefixes removed."""
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping) or not obj:
        found = "an empty mapping" if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            f"{source}: expected a state dict (parameter name -> tensor), possibly under "
            f"'state_dict' or 'model'; found {found}"
        )
    bad = [
        str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)
    ]
    if bad:
        raise CheckpointError(
            f"{source}: expected a state dict of tensors; {len(bad)} entries are not "
            f"(first: {_first(bad)})"
        )
    state = dict(obj)
    for prefix in _PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _is_safetensors(path: Path) -> bool:
    """A safetensors file under another name (a hub's ``model.safetensors`` saved as the
    ``.pth`` a config names): it opens with an 8-byte header length, then the JSON header.
    Torch files open with a zip signature or a pickle opcode instead."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def read_checkpoint_object(path: str | os.PathLike) -> Any:
    """The object a checkpoint file holds (torch, weights only, zip or legacy format; or
    safetensors, by suffix or content), on the CPU: a state dict or a dict around one, with its
    other entries (the seed's ``step``, ``optimizer``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        if path.suffix == ".safetensors" or _is_safetensors(path):
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"a pickled {found.group(1)}" if found else "pickled Python objects"
        raise CheckpointError(
            f"{path}: cannot be read as a weights-only checkpoint: it holds {what}, which a "
            "weights-only load refuses (unpickling runs code); save its tensors alone, e.g. "
            "torch.save(checkpoint['state_dict'], path)"
        ) from exc
    except Exception as exc:  # any reader failure is a bad file, reported with its path
        raise CheckpointError(
            f"{path}: cannot be read as a weights-only checkpoint: {type(exc).__name__}: {exc}"
        ) from exc


def read_checkpoint(path: str | os.PathLike) -> StateDict:
    """Read a checkpoint file (torch, weights only; or safetensors) into a flat state dict."""
    return unwrap_state_dict(read_checkpoint_object(path), source=str(path))


def convert_state_dict(arch: str, state_dict: Mapping[str, Any]) -> StateDict:
    """A state dict (or checkpoint object) in a known source layout -> ``arch``'s key layout."""
    return get_arch(arch).convert(unwrap_state_dict(state_dict))


def check_fits(
    state: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    arch: str,
    source: str | os.PathLike,
    init: bool = False,
) -> list[str]:
    """Check that ``state`` (already in ``arch``'s key layout) fills every tensor of
    ``target`` (a model's state dict; meta tensors will do) with its shape, and that every
    tensor of ``state`` is used; the error names ``source`` and the keys. With ``init`` a
    classifier of another shape (or none) is allowed: its keys are returned, to be skipped.
    Batch counters (``num_batches_tracked``) may be absent: files from before BN counted
    batches lack them."""
    classifier = get_arch(arch).classifier
    skipped: list[str] = []
    if init and classifier is not None:
        # A different head (1000 ImageNet / 400 Kinetics classes, or none) stays at random init.
        prefix = classifier + "."
        head = [k for k in target if k.startswith(prefix)]
        if any(k not in state or state[k].shape != target[k].shape for k in head):
            skipped = head
            state = {k: v for k, v in state.items() if not k.startswith(prefix)}
    missing = [
        k
        for k in target
        # Files saved before BN counted batches lack these; the caller keeps its own value.
        if k not in state and k not in skipped and not k.endswith(".num_batches_tracked")
    ]
    unexpected = [k for k in state if k not in target]
    mismatched = [
        f"{k} (model {tuple(target[k].shape)}, file {tuple(state[k].shape)})"
        for k in state
        if k in target and state[k].shape != target[k].shape
    ]
    if missing or unexpected or mismatched:
        problems = [
            f"{len(items)} {what}: {_first(items)}"
            for what, items in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("shape mismatches", mismatched),
            )
            if items
        ]
        raise CheckpointError(f"{source}: checkpoint does not fit {arch}: " + "; ".join(problems))
    return skipped


def _load(model: nn.Module, arch: str, path: str | os.PathLike, init: bool) -> list[str]:
    raw = read_checkpoint(path)
    try:
        state = get_arch(arch).convert(raw)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    target = model.state_dict()
    skipped = check_fits(state, target, arch, path, init=init)
    state = {k: v for k, v in state.items() if k not in skipped}
    state.update({k: v for k, v in target.items() if k not in state})
    model.load_state_dict(state, strict=True)
    return skipped


def load_seed_checkpoint(model: nn.Module, arch: str, path: str | os.PathLike) -> None:
    """Load a checkpoint in the seed's layout into ``model`` (built by ``create_model(arch)``).
    Every parameter, classifier included, must be present with the model's shape."""
    _load(model, arch, path, init=False)


def load_init_weights(model: nn.Module, arch: str, path: str | os.PathLike) -> list[str]:
    """Initialise ``model`` from a pre-trained file (ImageNet / Kinetics / seed layout). The
    classifier is skipped when its shape differs from the model's; every other parameter must fit.
    Returns the skipped classifier keys (empty when the head was loaded too)."""
    return _load(model, arch, path, init=True)
