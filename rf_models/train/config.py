"""One model's training configuration, built from one model block of ``config.yaml``.

A block is a mapping; every key below is a field of :class:`ModelConfig`. Keys without a
default are required. Unknown keys are an error (a typo must not silently fall back to a
default).

Model
    kind (image | video)      image models see one face crop, video models a clip of crops.
    arch (str)                architecture name for ``rf_models.models.create_model``
                              (tf_efficientnet_b0/b1/b3, resnet34, legacy_xception, slowfast_r50).
    init (path | null)        initial weights (ImageNet / Kinetics-400 file); null = random.
Input
    input_size (int)          training crop side in pixels (299 / 224; smaller for demos).
    colour (RGB | BGR)        channel order fed to the network (BGR for xcep).
    mean, std (3 floats)      normalisation on the 0-1 scale, applied after pixel / 255.
Optimisation
    batch_size (int)          per GPU of the seed (one micro-batch).
    gpus (int)                the seed's world size G. Each iteration trains on G micro-batches
                              of batch_size (the seed's global batch) whatever the number of
                              processes W <= G: each process accumulates G / W of them (see
                              rf_models.train.accumulation). The Slurm profile asks for G GPUs.
    base_lr, warmup_lr        lr rises linearly from base_lr to warmup_lr over warmup_iters,
    warmup_iters (1000)       then is warmup_lr * lr_gamma ** (number of lr_steps <= iteration).
    lr_steps (list[int]), lr_gamma (0.5)
    max_iter (int)            iterations 0 .. max_iter - 1.
    momentum (0.9), weight_decay (1e-4), nesterov (true)    SGD.
    class_weights ([1.8, 0.2])  cross-entropy weights for [REAL, FAKE].
    loss_world_size_division (true)
                              true reproduces the seed: its loss was also divided by its world
                              size G on top of DDP's gradient averaging, so the effective learning
                              rate is the configured one divided by G (on any number of
                              processes). false: the configured rate applies to the mean
                              gradient of the global batch.
    seed (0)                  sampler shuffle, model initialisation and per-sample augmentation.
Data
    split (str)               the lists.splits entry it trains on (e.g. val_30-39, alldata).
    aug (A | V)               A: image augmentation; V: clip augmentation (docs/reproduction.md §6).
    aug_min_scale (0.88)      the smallest training crop side as a fraction of the image's: Aug A
                              crops an area scale in [aug_min_scale ** 2, 1]; Aug V jitters the
                              shorter side in [input_size, input_size / aug_min_scale] (the
                              seed: [224, 340], 224/340) before its crop. 1.0 keeps whole crops.
    aug_extra (false)         Aug V: add brightness/contrast and JPEG (the "bc_jc" variants).
    clip_frames (32)          frames per clip fed to a video model.
    sample_step (4)           a clip takes every sample_step-th frame of clip_frames * sample_step
                              consecutive frames (128 in the seed: 32 x 4 and 16 x 8).
    num_workers (4)           DataLoader worker processes per rank.
    skip_bad (false)          false: an unreadable or missing image is an error naming the file;
                              true: the sample is replaced by the next readable one and counted.
Validation, checkpoints, logging
    val_every (int)           validate and checkpoint after iteration it when it > 0 and
                              it % val_every == 0, and after the last iteration.
    ckpt_every (0)            also write last.pt every ckpt_every iterations (0 = only at
                              validations).
    log_every (100)           plain log line / metrics row period in iterations.
    val_batch_size (null)     validation batch per process; null = batch_size.
    val_size (null)           video models: the side clips are validated at (shorter side, then
                              centre crop); null = 256/224 of input_size, the seed's 256 for 224.
                              Image models validate at input_size (plain resize).
    bn_momentum (null)        momentum of every BatchNorm layer; null keeps the architecture's
                              (0.01 in the seed's EfficientNets). Short demo runs use 0.1 so the
                              running statistics settle within a few hundred iterations.
Inference
    flip_tta (false)          average logits with the horizontally flipped input at test time.
    infer_size (null)         crop side the model sees at inference; null = input_size. The seed
                              scored 299 crops (xcep, b3, b1*, b0) and 256 crops (r34, trained
                              at 224, and SlowFast).
Runtime
    amp (true)                mixed precision (autocast + GradScaler); CUDA only.
    channels_last (true)      channels-last memory format; CUDA only.
    deterministic (false)     torch deterministic algorithms, no cuDNN autotuning.
    dist_init_method (null)   rendezvous for multi-process runs, e.g. file:///shared/rdzv; null =
                              MASTER_ADDR / MASTER_PORT from the environment.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A model block that does not describe a valid training run."""


@dataclass(frozen=True)
class ModelConfig:
    name: str
    kind: str
    arch: str
    input_size: int
    colour: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    batch_size: int
    gpus: int
    base_lr: float
    warmup_lr: float
    lr_steps: tuple[int, ...]
    max_iter: int
    split: str
    aug: str
    val_every: int
    warmup_iters: int = 1000
    lr_gamma: float = 0.5
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = True
    class_weights: tuple[float, float] = (1.8, 0.2)
    loss_world_size_division: bool = True
    seed: int = 0
    aug_min_scale: float = 0.88
    aug_extra: bool = False
    clip_frames: int = 32
    sample_step: int = 4
    num_workers: int = 4
    skip_bad: bool = False
    ckpt_every: int = 0
    log_every: int = 100
    val_batch_size: int | None = None
    val_size: int | None = None
    init: str | None = None
    flip_tta: bool = False
    infer_size: int | None = None
    amp: bool = True
    channels_last: bool = True
    deterministic: bool = False
    dist_init_method: str | None = None
    bn_momentum: float | None = None

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def from_dict(cls, name: str, block: Mapping[str, Any], source: str = "<dict>") -> ModelConfig:
        """Build from one model block; ``source`` names the file in error messages."""
        if not isinstance(block, Mapping):
            raise ConfigError(f"{source}: model {name!r}: expected a mapping, found {block!r}")
        known = {f.name for f in dataclasses.fields(cls)} - {"name"}
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(
                f"{source}: model {name!r}: unknown key(s) {unknown}; expected keys among "
                f"{sorted(known)}"
            )
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING} - {
            "name"
        }
        missing = sorted(required - set(block))
        if missing:
            raise ConfigError(f"{source}: model {name!r}: missing required key(s) {missing}")
        values = dict(block)
        for key in ("mean", "std", "lr_steps", "class_weights"):
            if key in values:
                if not isinstance(values[key], list | tuple):
                    raise ConfigError(
                        f"{source}: model {name!r}: {key} must be a list, found {values[key]!r}"
                    )
                values[key] = tuple(values[key])
        try:
            return cls(name=name, **values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: model {name!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, not tuples), for checkpoints and YAML."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def with_overrides(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    @property
    def clip_span(self) -> int:
        """Consecutive frames a clip is drawn from."""
        return self.clip_frames * self.sample_step

    @property
    def eval_batch_size(self) -> int:
        return self.val_batch_size or self.batch_size


_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "arch": (str,),
    "input_size": (int,),
    "colour": (str,),
    "batch_size": (int,),
    "gpus": (int,),
    "base_lr": (float, int),
    "warmup_lr": (float, int),
    "max_iter": (int,),
    "split": (str,),
    "aug": (str,),
    "val_every": (int,),
    "warmup_iters": (int,),
    "lr_gamma": (float, int),
    "momentum": (float, int),
    "weight_decay": (float, int),
    "nesterov": (bool,),
    "loss_world_size_division": (bool,),
    "seed": (int,),
    "aug_min_scale": (float, int),
    "aug_extra": (bool,),
    "clip_frames": (int,),
    "sample_step": (int,),
    "num_workers": (int,),
    "skip_bad": (bool,),
    "ckpt_every": (int,),
    "log_every": (int,),
    "flip_tta": (bool,),
    "amp": (bool,),
    "channels_last": (bool,),
    "deterministic": (bool,),
}


def _check(cfg: ModelConfig) -> None:
    if cfg.bn_momentum is not None and (
        isinstance(cfg.bn_momentum, bool)
        or not isinstance(cfg.bn_momentum, float | int)
        or not 0 < cfg.bn_momentum <= 1
    ):
        raise ConfigError(f"bn_momentum must be null or in (0, 1], found {cfg.bn_momentum!r}")
    for key, types in _TYPES.items():
        value = getattr(cfg, key)
        # bool is an int subclass: a YAML "true" must not pass as a batch size.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{key} must be {names}, found {value!r}")
    for key, allowed in (
        ("kind", ("image", "video")),
        ("colour", ("RGB", "BGR")),
        ("aug", ("A", "V")),
    ):
        if getattr(cfg, key) not in allowed:
            raise ConfigError(f"{key} must be one of {allowed}, found {getattr(cfg, key)!r}")
    minimum = {"warmup_iters": 0, "num_workers": 0, "ckpt_every": 0, "seed": 0}
    for key in (
        "input_size",
        "batch_size",
        "gpus",
        "max_iter",
        "val_every",
        "clip_frames",
        "sample_step",
        "log_every",
        *minimum,
    ):
        if getattr(cfg, key) < minimum.get(key, 1):
            raise ConfigError(f"{key} must be >= {minimum.get(key, 1)}, found {getattr(cfg, key)}")
    for key in ("mean", "std", "class_weights"):
        seq = getattr(cfg, key)
        size = 2 if key == "class_weights" else 3
        if len(seq) != size or not all(
            isinstance(v, int | float) and math.isfinite(v) for v in seq
        ):
            raise ConfigError(f"{key} must be {size} finite numbers, found {list(seq)}")
    if any(v <= 0 for v in cfg.std):
        raise ConfigError(f"std must be > 0, found {list(cfg.std)}")
    if any(v < 0 for v in cfg.class_weights):
        raise ConfigError(f"class_weights must be >= 0, found {list(cfg.class_weights)}")
    if any(v > 1.5 for v in cfg.mean):
        raise ConfigError(f"mean is on the 0-1 scale (pixel / 255), found {list(cfg.mean)}")
    steps = list(cfg.lr_steps)
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in steps)
    if not integers or steps != sorted(steps):
        raise ConfigError(f"lr_steps must be increasing integers, found {steps}")
    if cfg.base_lr <= 0 or cfg.warmup_lr <= 0:
        raise ConfigError(
            f"base_lr and warmup_lr must be > 0, found {cfg.base_lr}, {cfg.warmup_lr}"
        )
    if not 0 < cfg.aug_min_scale <= 1:
        raise ConfigError(f"aug_min_scale must be in (0, 1], found {cfg.aug_min_scale}")
    size = cfg.infer_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"infer_size must be null or an integer >= 1, found {cfg.infer_size!r}")
    if cfg.val_size is not None and (
        isinstance(cfg.val_size, bool) or not isinstance(cfg.val_size, int) or cfg.val_size < 1
    ):
        raise ConfigError(f"val_size must be null or an integer >= 1, found {cfg.val_size!r}")
    if cfg.val_batch_size is not None and (
        not isinstance(cfg.val_batch_size, int) or cfg.val_batch_size < 1
    ):
        raise ConfigError(f"val_batch_size must be null or >= 1, found {cfg.val_batch_size!r}")
    if cfg.kind == "image" and cfg.aug != "A" or cfg.kind == "video" and cfg.aug != "V":
        raise ConfigError(
            f"kind {cfg.kind!r} uses aug {'A' if cfg.kind == 'image' else 'V'}, found {cfg.aug!r}"
        )
    for key in ("init", "dist_init_method"):
        value = getattr(cfg, key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key} must be null or a string, found {value!r}")


def load_model_config(path: str | os.PathLike, name: str, section: str = "models") -> ModelConfig:
    """Read ``config.yaml`` and build the block ``<section>.<name>``; ``section`` may be a
    dotted path (``train.models``)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from exc
    blocks = data
    for key in section.split("."):
        if not isinstance(blocks, Mapping) or key not in blocks:
            raise ConfigError(f"{path}: expected a mapping {section!r} of model blocks")
        blocks = blocks[key]
    if not isinstance(blocks, Mapping):
        raise ConfigError(f"{path}: expected a mapping {section!r} of model blocks")
    if name not in blocks:
        raise ConfigError(f"{path}: no model {name!r} in {section!r}; found {sorted(blocks)}")
    return ModelConfig.from_dict(name, blocks[name], source=str(path))


# Keys used only at inference: changing them must not retrain a model.
INFERENCE_ONLY_KEYS = frozenset({"infer_size", "flip_tta"})


def training_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a model block that training depends on."""
    return {k: v for k, v in block.items() if k not in INFERENCE_ONLY_KEYS}


# Override-only keys: they rescale a block's own values instead of replacing them, so a
# reduced run (the demo) keeps each model's schedule, learning rates and clips in proportion.
SCALE_KEYS = ("schedule_scale", "lr_scale", "clip_frames_scale", "sample_step_scale")


def scale_block(block: dict[str, Any], scales: Mapping[str, Any]) -> None:
    """In place: ``schedule_scale`` multiplies max_iter, lr_steps and warmup_iters (rounded,
    at least 1 iteration per run and step), ``lr_scale`` base_lr and warmup_lr, and
    ``clip_frames_scale`` / ``sample_step_scale`` a video block's clip_frames / sample_step
    (rounded, at least 1)."""
    for key, value in scales.items():
        if key not in SCALE_KEYS:
            raise ConfigError(f"unknown scale {key!r}; expected one of {list(SCALE_KEYS)}")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
        ):
            raise ConfigError(f"{key} must be a number > 0, found {value!r}")

    def scaled(value: float, key: str) -> int:
        return max(1, round(value * scales[key]))

    if scales.get("schedule_scale") is not None:
        block["max_iter"] = scaled(block["max_iter"], "schedule_scale")
        block["lr_steps"] = [scaled(v, "schedule_scale") for v in block["lr_steps"]]
        block["warmup_iters"] = round(block.get("warmup_iters", 1000) * scales["schedule_scale"])
    if scales.get("lr_scale") is not None:
        block["base_lr"] = block["base_lr"] * scales["lr_scale"]
        block["warmup_lr"] = block["warmup_lr"] * scales["lr_scale"]
    for key, default in (("clip_frames", 32), ("sample_step", 4)):
        if scales.get(f"{key}_scale") is not None:
            block[key] = scaled(block.get(key, default), f"{key}_scale")


def resolve_model_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The block of model ``name`` with ``train.overrides`` applied, checked in full.

    ``config`` is the whole workflow configuration. The overrides of the block's kind replace
    its keys, then their ``schedule_scale`` / ``lr_scale`` rescale the result, and
    ``train.overrides.splits`` renames its split (the demo maps the seed's splits onto its
    own parts). Returns plain data (for rule params and the per-model config file the
    training command reads).
    """
    models = config.get("models", {})
    if name not in models:
        raise ConfigError(
            f"config key train.models: {name!r} has no block in `models` (known: {sorted(models)})"
        )
    block = dict(models[name])
    kind = block.get("kind")
    all_overrides = config.get("train", {}).get("overrides", {})
    overrides = dict(all_overrides.get(kind, {}))
    scales = {key: overrides.pop(key) for key in SCALE_KEYS if key in overrides}
    block.update(overrides)
    source = f"config models.{name}"
    try:
        scale_block(block, scales)
    except KeyError as exc:
        raise ConfigError(f"{source}: model {name!r}: missing required key {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"config key train.overrides.{kind}: {exc}") from None
    splits = all_overrides.get("splits", {})
    block["split"] = splits.get(block.get("split"), block.get("split"))
    return ModelConfig.from_dict(name, block, source=source).to_dict()
