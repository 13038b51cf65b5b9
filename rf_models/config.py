"""Configuration: load, fill defaults from the JSON schema, validate with key-path messages."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not match rf_models/schemas/config.schema.yaml."""


def schema_path() -> Path:
    return Path(str(resources.files("rf_models") / "schemas" / "config.schema.yaml"))


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(schema_path().read_text())


def _fill_defaults(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def _message(err: jsonschema.ValidationError) -> str:
    path = [str(p) for p in err.absolute_path]
    where = ".".join(path) or "<top level>"
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        within = f" in {where}" if path else ""
        return "\n".join(
            f"config key {'.'.join([*path, str(key)])}: unknown key; allowed keys{within}: "
            f"{allowed}"
            for key in sorted(set(err.instance) - set(allowed), key=str)
        )
    return f"config key {where}: {err.message}"


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with defaults filled in; raise ConfigError on any problem."""
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a mapping of keys, found {type(config).__name__}")
    schema = load_schema()
    filled = copy.deepcopy(config)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("\n".join(_message(e) for e in errors))
    _fill_defaults(filled, schema, schema)
    if "build" not in filled["lists"]:
        filled["lists"]["build"] = list(filled["lists"]["splits"])
    unknown = sorted(set(filled["lists"]["build"]) - set(filled["lists"]["splits"]))
    if unknown:
        raise ConfigError(f"config key lists.build: splits {unknown} are not in lists.splits")
    demo_parts = list(range(len(filled["parts"])))
    if filled["demo"]["build"] and (
        filled["parts"] != demo_parts or filled["part_prefix"] != "dfdc_train_part_"
    ):
        raise ConfigError(
            f"config key parts: the demo builds dfdc_train_part_0..{len(demo_parts) - 1}, so "
            f"parts must be {demo_parts} with the default part_prefix, found {filled['parts']}"
        )
    return filled


def merge_config(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, mappings merged key by key as Snakemake merges a
    ``--configfile`` over the ``configfile:`` (other values replaced); returns a new dict."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML file's top-level mapping (empty file: {}); errors name the file."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config file ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: expected a mapping of config keys, found {type(config).__name__}"
        )
    return config


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: expected a mapping of config keys, found {type(config).__name__}"
        )
    config.update(overrides or {})
    return validate_config(config)


def part_names(config: dict[str, Any]) -> list[str]:
    return [f"{config['part_prefix']}{k}" for k in config["parts"]]


def split_parts(config: dict[str, Any], split: str) -> tuple[list[str], list[str]]:
    """(train part names, val part names) of a split."""
    splits = config["lists"]["splits"]
    if split not in splits:
        raise ConfigError(f"config key lists.splits: no split {split!r}; found {sorted(splits)}")
    spec = splits[split]
    known = set(config["parts"])
    val = list(spec["val"])
    train = spec["train"]
    if train == "rest":
        train = [k for k in config["parts"] if k not in set(val)]
    elif train == "all":
        train = list(config["parts"])
    unknown = sorted((set(val) | set(train)) - known)
    if unknown:
        raise ConfigError(f"config key lists.splits.{split}: parts {unknown} are not in `parts`")
    prefix = config["part_prefix"]
    return [f"{prefix}{k}" for k in train], [f"{prefix}{k}" for k in val]
