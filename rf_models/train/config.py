"""One model's configuration, resolved from config.yaml's ``models`` section.

Every key, its type, range and meaning are in rf_models/schemas/config.schema.yaml
(``definitions.model_block``). A block holds only what differs from ``models.defaults.<kind>``
(the seed's settings shared by a kind, in config.yaml); ``train.overrides.<kind>`` replace keys
on top (the demo shrinks models this way), and their ``schedule_scale`` / ``lr_scale`` /
``sample_step_scale`` rescale the block's own values; ``train.overrides.splits`` renames
splits. :func:`resolve_model_block` does all of that and checks the result against
``definitions.resolved_model_block``; :class:`ModelConfig` is the typed result.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rf_models.config import ConfigError, defaults_of, validate_section
from rf_models.models.normalisation import normalisation_constants

# Keys used only at inference: changing them must not retrain a model.
INFERENCE_ONLY_KEYS = frozenset({"infer_size", "flip_tta"})
# Override-only keys: they rescale a block's own values instead of replacing them, so a
# reduced run (the demo) keeps each model's schedule, learning rates and clips in proportion.
SCALE_KEYS = ("schedule_scale", "lr_scale", "sample_step_scale")


@dataclass(frozen=True)
class ModelConfig:
    name: str
    kind: str
    arch: str
    init: str | None
    input_size: int
    infer_size: int | None
    val_size: int | None
    colour: str
    normalisation: str
    batch_size: int
    gpus: int
    base_lr: float
    warmup_lr: float
    warmup_iters: int
    lr_steps: tuple[int, ...]
    lr_gamma: float
    max_iter: int
    momentum: float
    weight_decay: float
    nesterov: bool
    class_weights: tuple[float, float]
    loss_world_size_division: bool
    split: str
    aug: str
    aug_min_scale: float
    aug_extra: bool
    clip_frames: int
    sample_step: int
    val_every: int
    flip_tta: bool
    seed: int
    num_workers: int
    skip_bad: bool
    ckpt_every: int
    log_every: int
    val_batch_size: int | None
    bn_momentum: float | None
    amp: bool
    channels_last: bool
    deterministic: bool
    dist_init_method: str | None

    @classmethod
    def from_dict(cls, name: str, block: Mapping[str, Any], source: str = "") -> ModelConfig:
        """A resolved block (every seed value present), checked against the schema; run
        settings it leaves out take their defaults. ``source`` prefixes error messages."""
        where = source or f"models.{name}"
        if not isinstance(block, Mapping):
            raise ConfigError(f"config key {where}: expected a mapping, found {block!r}")
        values = validate_section(dict(block), "resolved_model_block", where, fill_defaults=False)
        values = {**defaults_of("model_block"), **values}
        steps = list(values["lr_steps"])
        if steps != sorted(steps):
            raise ConfigError(f"config key {where}.lr_steps: must be increasing, found {steps}")
        for key in ("lr_steps", "class_weights"):
            values[key] = tuple(values[key])
        return cls(name=name, **values)

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
    def mean(self) -> tuple[float, float, float]:
        return normalisation_constants(self.normalisation).mean

    @property
    def std(self) -> tuple[float, float, float]:
        return normalisation_constants(self.normalisation).std

    @property
    def clip_span(self) -> int:
        """Consecutive frames a clip is drawn from."""
        return self.clip_frames * self.sample_step

    @property
    def eval_batch_size(self) -> int:
        return self.val_batch_size or self.batch_size


def load_model_config(path: str | os.PathLike, name: str, section: str = "models") -> ModelConfig:
    """Read a YAML file and build the resolved block ``<section>.<name>`` (the per-model file
    the train rule writes); ``section`` may be a dotted path (``train.models``)."""
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
    return ModelConfig.from_dict(name, blocks[name], source=f"{path}: {section}.{name}")


def training_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved block that training depends on."""
    return {k: v for k, v in block.items() if k not in INFERENCE_ONLY_KEYS}


def scale_block(block: dict[str, Any], scales: Mapping[str, float]) -> None:
    """In place: ``schedule_scale`` multiplies max_iter, lr_steps and warmup_iters (rounded,
    at least 1 iteration per run and step), ``lr_scale`` base_lr and warmup_lr, and
    ``sample_step_scale`` a clip's sample_step (rounded, at least 1). The schema checks the
    scales are numbers > 0."""

    def scaled(value: float, key: str) -> int:
        return max(1, round(value * scales[key]))

    if "schedule_scale" in scales:
        block["max_iter"] = scaled(block["max_iter"], "schedule_scale")
        block["lr_steps"] = [scaled(v, "schedule_scale") for v in block["lr_steps"]]
        block["warmup_iters"] = round(block["warmup_iters"] * scales["schedule_scale"])
    if "lr_scale" in scales:
        block["base_lr"] = block["base_lr"] * scales["lr_scale"]
        block["warmup_lr"] = block["warmup_lr"] * scales["lr_scale"]
    if "sample_step_scale" in scales:
        block["sample_step"] = scaled(block["sample_step"], "sample_step_scale")


def trained_checkpoint(results_dir: str, model: str) -> str:
    """Where the train_model rule writes ``model``'s best checkpoint."""
    return f"{results_dir}/models/{model}/best.pt"


def _block_of(config: Mapping[str, Any], name: str, key: str) -> Mapping[str, Any]:
    models = config.get("models", {})
    if name not in models or name == "defaults":
        known = sorted(set(models) - {"defaults"})
        raise ConfigError(f"config key {key}: {name!r} has no block in `models` ({known})")
    return models[name]


def init_chain(config: Mapping[str, Any], name: str) -> list[str]:
    """``name``, the block it starts from (``init_model``), that block's, and so on."""
    chain = [name]
    while (source := _merged_block(config, chain[-1]).get("init_model")) is not None:
        _block_of(config, source, f"models.{chain[-1]}.init_model")
        if source in chain:
            raise ConfigError(
                f"config key models.{chain[-1]}.init_model: a cycle, "
                + " -> ".join([*chain[chain.index(source) :], source])
            )
        chain.append(source)
    return chain


def models_to_train(config: Mapping[str, Any]) -> list[str]:
    """``train.models`` and every block they start from through ``init_model``, each source
    before the first model that needs it."""
    order: list[str] = []
    for name in config["train"]["models"]:
        order += [m for m in reversed(init_chain(config, name)) if m not in order]
    return order


def resolve_model_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The full block of model ``name``: models.defaults of its kind, the block, then
    train.overrides (scales last, split renamed), with run-setting defaults; checked. A block
    with ``init_model`` starts from that block's trained best.pt under ``results_dir`` (its
    ``init``), which must be the same architecture.

    ``config`` is the workflow configuration (validated). Returns plain data for rule params
    and the per-model file the training command reads.
    """
    block = _merged_block(config, name)
    source = block.pop("init_model", None)
    if source is not None:
        init_chain(config, name)  # unknown names and cycles
        arch = _merged_block(config, source)["arch"]
        if arch != block["arch"]:
            raise ConfigError(
                f"config key models.{name}.init_model: {source!r} is a {arch}, "
                f"{name!r} a {block['arch']}; a model can start only from its own architecture"
            )
        block["init"] = trained_checkpoint(config["results_dir"], source)
    return ModelConfig.from_dict(name, block, source=f"models.{name}").to_dict()


def _merged_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    own = _block_of(config, name, "train.models")
    kind = own.get("kind")
    block = {
        **defaults_of("model_block"),
        **config.get("models", {}).get("defaults", {}).get(kind, {}),
        **own,
    }
    train = config.get("train", {}).get("overrides", {})
    overrides = dict(train.get(kind, {}))
    scales = {key: overrides.pop(key) for key in SCALE_KEYS if key in overrides}
    block.update(overrides)
    missing = sorted({"max_iter", "lr_steps", "warmup_iters", "base_lr", "warmup_lr"} - set(block))
    if scales and missing:
        raise ConfigError(f"config key models.{name}: missing {missing} to scale")
    scale_block(block, scales)
    splits = train.get("splits", {})
    block["split"] = splits.get(block.get("split"), block.get("split"))
    return block
