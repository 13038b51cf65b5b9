"""Face crops -> logits: the one place inference runs a trained model.

Crops come in as OpenCV images (BGR, uint8, ``(H, W, 3)``), as ``cv2.imread`` and the
new-video pipeline produce them. Each is resized to the model's inference size (bilinear,
docs/reproduction.md §4), put in the model's colour order, divided by 255 and normalised with the
model's mean and std. Logits are 2-way, FAKE at index 1.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from rf_models.models.factory import create_model
from rf_models.train.checkpoint import CheckpointError, load_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.train.transforms import normalise


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A trained model ready for inference (eval mode, on ``device``)."""

    name: str
    cfg: ModelConfig
    model: nn.Module
    device: torch.device


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto``: CUDA when available, else the CPU; otherwise any torch device string."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"expected a device (auto, cpu, cuda, cuda:N), found {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return resolved


def _read_trained(path: Path, cfg: ModelConfig, name: str) -> tuple[dict[str, Any], nn.Module]:
    """The checkpoint (mmap: tensors are read when used) and an empty model of its arch,
    built on the meta device (no memory, no initialisation), with the weights checked
    against the block: arch, kind, every key and shape. Errors name the file."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint of model {name!r} not found")
    state = load_checkpoint(path, mmap=True)
    for key in ("arch", "kind"):
        if state.get(key) != getattr(cfg, key):
            raise CheckpointError(
                f"{path}: model {name!r} expects {key} {getattr(cfg, key)!r}, the checkpoint "
                f"holds {state.get(key)!r}"
            )
    if not isinstance(state.get("model"), Mapping):
        raise CheckpointError(f"{path}: expected a 'model' state dict in the checkpoint")
    with torch.device("meta"):
        skeleton = create_model(cfg.arch, num_classes=2, init=None)
    try:
        skeleton.load_state_dict(state["model"], assign=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit arch {cfg.arch!r} of model {name!r}: {exc}"
        ) from None
    return state, skeleton


def check_trained_model(checkpoint: str | os.PathLike, block: Mapping[str, Any], name: str) -> None:
    """What :func:`load_trained_model` would refuse, found without loading the weights."""
    cfg = ModelConfig.from_dict(name, block, source=f"model block {name!r}")
    _read_trained(Path(checkpoint), cfg, name)


def load_trained_model(
    checkpoint: str | os.PathLike,
    block: Mapping[str, Any],
    name: str,
    device: str | torch.device = "auto",
) -> LoadedModel:
    """Build model ``name`` from its config ``block`` and load the weights of a training
    checkpoint (``best.pt``, read with ``weights_only``).

    The block gives the inference settings (infer_size, colour, normalisation, flip_tta, batch
    size); the checkpoint must hold the same arch and kind. Errors name the file.
    """
    path = Path(checkpoint)
    cfg = ModelConfig.from_dict(name, block, source=f"model block {name!r}")
    state, model = _read_trained(path, cfg, name)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        # a tensor the checkpoint does not hold (a non-persistent buffer): build it for real
        model = create_model(cfg.arch, num_classes=2, init=None)
        model.load_state_dict(state["model"])
    # otherwise the weights are the checkpoint's own tensors, read from the file as they are
    # used: no random initialisation, no copy (training replaces best.pt by a rename, so the
    # file under them never changes)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    if _channels_last(cfg, dev):
        model = model.to(memory_format=_memory_format(cfg))
    return LoadedModel(name=name, cfg=cfg, model=model, device=dev)


def infer_size(cfg: ModelConfig) -> int:
    """Crop side the model sees at inference: ``infer_size``, else the training input size."""
    return cfg.input_size if cfg.infer_size is None else cfg.infer_size


def _memory_format(cfg: ModelConfig) -> torch.memory_format:
    return torch.channels_last if cfg.kind == "image" else torch.channels_last_3d


def _channels_last(cfg: ModelConfig, device: torch.device) -> bool:
    """Whether inference runs channels-last: on a CPU always (every architecture scored
    1.2-1.5x faster so, at 64 to 299 px: benchmarks/scoring_passes.py), elsewhere as the
    block's channels_last says (a training setting too, where it can be slower on a CPU)."""
    return device.type == "cpu" or cfg.channels_last


def prepare_crops(crops: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Check the crops and resize them to ``size`` x ``size`` (bilinear, as the seed's
    ``cv2.resize``): uint8 ``(n, size, size, 3)``, still BGR."""
    if (
        isinstance(crops, np.ndarray)
        and crops.dtype == np.uint8
        and crops.shape[1:]
        == (
            size,
            size,
            3,
        )
    ):
        return crops  # already cut at this side (rf_models.infer.sampled)
    out = np.empty((len(crops), size, size, 3), dtype=np.uint8)
    for i, crop in enumerate(crops):
        if (
            not isinstance(crop, np.ndarray)
            or crop.dtype != np.uint8
            or crop.ndim != 3
            or crop.shape[2] != 3
            or crop.shape[0] == 0
            or crop.shape[1] == 0
        ):
            found = (
                f"{crop.dtype} array of shape {crop.shape}"
                if isinstance(crop, np.ndarray)
                else type(crop).__name__
            )
            raise ValueError(f"crop {i}: expected a BGR uint8 (H, W, 3) image, found {found}")
        if crop.shape[:2] != (size, size):
            crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        out[i] = crop
    return out


def _to_tensor(resized: np.ndarray, cfg: ModelConfig) -> torch.Tensor:
    """uint8 BGR ``(n, H, W, 3)`` -> normalised float32 ``(n, 3, H, W)`` in the model's order."""
    if cfg.colour == "RGB":
        resized = resized[..., ::-1]
    img = torch.from_numpy(np.ascontiguousarray(resized)).permute(0, 3, 1, 2)
    return normalise(img, cfg.mean, cfg.std)


def _autocast(lm: LoadedModel) -> contextlib.AbstractContextManager:
    if lm.device.type == "cuda" and lm.cfg.amp:
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _forward(lm: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    """Logits as float32 on the CPU; with flip_tta the mean of ``x``'s and its mirror's, the
    mirrored copies in the same batch (one forward pass)."""
    x = x.to(lm.device, non_blocking=True)
    n = x.shape[0]
    if lm.cfg.flip_tta:
        x = torch.cat([x, torch.flip(x, dims=[-1])])
    if _channels_last(lm.cfg, lm.device):
        x = x.contiguous(memory_format=_memory_format(lm.cfg))
    with torch.inference_mode(), _autocast(lm):
        out = lm.model(x).float()
    if lm.cfg.flip_tta:
        out = (out[:n] + out[n:]) / 2
    return out.cpu()


def _check_kind(lm: LoadedModel, kind: str, caller: str) -> None:
    if lm.cfg.kind != kind:
        raise ValueError(f"{caller}: model {lm.name!r} is a {lm.cfg.kind} model, expected {kind}")


# On a CPU a forward pass takes at least this many pixels of input (mirrors included), where
# the eval batch holds fewer: at the demo's 64 px, clips of 32 frames 4 at a time ran
# 1.06-1.23x faster than one by one, image passes of up to 64 images as fast as the eval
# batch's, within noise (benchmarks/scoring_passes.py); at the seed's sizes the eval batch
# stays (larger passes of 299-px crops ran 2x slower: benchmarks/predict_speed.py).
CPU_PIXELS_PER_PASS = 64 * 64 * 64
CPU_CLIP_PIXELS_PER_PASS = 4 * 32 * 64 * 64


def crops_per_pass(lm: LoadedModel) -> int:
    """Crops one forward pass of an image model takes: on CUDA the eval batch (mirrors on
    top with flip_tta), on a CPU the eval batch or CPU_PIXELS_PER_PASS, mirrors included."""
    _check_kind(lm, "image", "crops_per_pass")
    if lm.device.type == "cuda":
        return lm.cfg.eval_batch_size
    size = infer_size(lm.cfg)
    images = max(lm.cfg.eval_batch_size, CPU_PIXELS_PER_PASS // (size * size))
    return max(1, images // (2 if lm.cfg.flip_tta else 1))


def clips_per_pass(lm: LoadedModel, length: int) -> int:
    """Clips of ``length`` frames one forward pass of a video model takes: one on CUDA, up to
    CPU_CLIP_PIXELS_PER_PASS on a CPU."""
    _check_kind(lm, "video", "clips_per_pass")
    if lm.device.type == "cuda":
        return 1
    size = infer_size(lm.cfg)
    return max(1, CPU_CLIP_PIXELS_PER_PASS // (max(1, length) * size * size))


def image_logits(lm: LoadedModel, crops: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(n, 2)`` float32 of an image model for ``n`` crops (of one face or of many),
    in passes of :func:`crops_per_pass`."""
    _check_kind(lm, "image", "image_logits")
    size, batch = infer_size(lm.cfg), crops_per_pass(lm)
    out = np.empty((len(crops), 2), dtype=np.float32)
    for start in range(0, len(crops), batch):
        chunk = prepare_crops(crops[start : start + batch], size)
        logits = _forward(lm, _to_tensor(chunk, lm.cfg))
        out[start : start + len(chunk)] = _check_logits(logits, lm, len(chunk))
    return out


def clip_logits(lm: LoadedModel, crops: Sequence[np.ndarray]) -> np.ndarray:
    """Logits ``(2,)`` float32 of a video model for one face's whole clip (its sampled frames,
    up to 160, in order), in one forward pass."""
    _check_kind(lm, "video", "clip_logits")
    if len(crops) == 0:
        raise ValueError(f"clip_logits: model {lm.name!r} needs at least one crop")
    clip = _to_tensor(prepare_crops(crops, infer_size(lm.cfg)), lm.cfg)  # (T, 3, H, W)
    logits = _forward(lm, clip.permute(1, 0, 2, 3).unsqueeze(0))  # (1, 3, T, H, W)
    return _check_logits(logits, lm, 1)[0]


def clips_logits(lm: LoadedModel, clips: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Logits ``(n, 2)`` float32 of a video model for ``n`` clips (each a face's sampled
    frames, in order): clips of one length share passes of :func:`clips_per_pass`."""
    _check_kind(lm, "video", "clips_logits")
    out = np.empty((len(clips), 2), dtype=np.float32)
    by_length: dict[int, list[int]] = {}
    for i, clip in enumerate(clips):
        by_length.setdefault(len(clip), []).append(i)
    for length, indices in by_length.items():
        step = clips_per_pass(lm, length)
        for start in range(0, len(indices), step):
            chunk = indices[start : start + step]
            out[chunk] = clip_logits_by_face(lm, [clips[i] for i in chunk])
    return out


def image_logits_by_face(
    lm: LoadedModel, faces: Sequence[Sequence[np.ndarray]]
) -> list[np.ndarray]:
    """Per face, logits ``(n_k, 2)`` float32 of an image model: every face's crops together,
    with their mirrors (flip_tta) in the same forward pass. On CUDA one pass takes them all
    (at most faces x 35 x 2); on the CPU passes of :func:`crops_per_pass`, mirrors included:
    larger batches of 299-px crops ran 2x slower there (benchmarks/predict_speed.py)."""
    _check_kind(lm, "image", "image_logits_by_face")
    counts = [len(crops) for crops in faces]
    if not sum(counts):
        return [np.empty((0, 2), np.float32) for _ in faces]
    crops = [crop for face in faces for crop in face]
    x = _to_tensor(prepare_crops(crops, infer_size(lm.cfg)), lm.cfg)
    if lm.device.type == "cuda":
        logits = _forward(lm, x)
    else:
        logits = torch.cat([_forward(lm, chunk) for chunk in x.split(crops_per_pass(lm))])
    out = _check_logits(logits, lm, len(crops))
    return np.split(out, np.cumsum(counts)[:-1])


def clip_logits_by_face(lm: LoadedModel, faces: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Logits ``(n_faces, 2)`` float32 of a video model: each face's whole clip (its sampled
    frames, in order), every face in one forward pass (faces of one clip length)."""
    _check_kind(lm, "video", "clip_logits_by_face")
    if not faces or any(len(crops) == 0 for crops in faces):
        raise ValueError(f"clip_logits_by_face: model {lm.name!r} needs at least one crop per face")
    lengths = {len(crops) for crops in faces}
    if len(lengths) != 1:
        raise ValueError(
            f"clip_logits_by_face: model {lm.name!r} expected clips of one length, found "
            f"{sorted(lengths)}"
        )
    size = infer_size(lm.cfg)
    clips = [_to_tensor(prepare_crops(crops, size), lm.cfg) for crops in faces]  # (T, 3, H, W)
    logits = _forward(lm, torch.stack(clips).permute(0, 2, 1, 3, 4))  # (F, 3, T, H, W)
    return _check_logits(logits, lm, len(faces))


def _check_logits(logits: torch.Tensor, lm: LoadedModel, n: int) -> np.ndarray:
    if tuple(logits.shape) != (n, 2):
        raise RuntimeError(
            f"model {lm.name!r} returned logits of shape {tuple(logits.shape)}, expected ({n}, 2)"
        )
    return logits.numpy().astype(np.float32, copy=False)
