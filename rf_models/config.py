"""Configuration: one contract, rf_models/schemas/config.schema.yaml.

The schema states every key's type, range and allowed values, and the defaults of run
settings; the seed's own values live in config.yaml. :func:`validate_config` checks a whole
workflow configuration and fills its defaults; :func:`validate_section` checks one part of it
(a model block, the ensemble policy, a combiner) for code that reads it on its own. Errors
name the key and what is allowed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A configuration that does not match rf_models/schemas/config.schema.yaml."""


def schema_path() -> Path:
    return Path(str(resources.files("rf_models") / "schemas" / "config.schema.yaml"))


@functools.cache
def load_schema() -> dict[str, Any]:
    """The parsed schema (cached: callers must not change it)."""
    return yaml.safe_load(schema_path().read_text())


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _fill_defaults(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """Fill ``default`` values in place, except under subschemas marked x-fill-defaults: false
    (model blocks and overrides hold only what they change; resolution fills them)."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict) or schema.get("x-fill-defaults") is False:
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in properties:
                _fill_defaults(value, extra, root)


_BOOLEANS = {"true": True, "false": False}
_FROM_TEXT = {"integer": int, "number": float, "boolean": _BOOLEANS.__getitem__}


def _coerce_text(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    """Snakemake's --config reads every scalar as text (``parts=[0,1]`` gives ['0', '1']):
    text where the schema wants a number or a boolean becomes one, if it reads as one."""
    schema = _resolve(schema, root)
    for sub in schema.get("allOf", []):
        instance = _coerce_text(instance, sub, root)
    if isinstance(instance, str):
        types = schema.get("type", [])
        for name in [types] if isinstance(types, str) else types:
            try:
                return _FROM_TEXT[name](instance.strip().lower() if name == "boolean" else instance)
            except (KeyError, ValueError):
                continue
        return instance
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [_coerce_text(v, schema["items"], root) for v in instance]
    if isinstance(instance, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            k: _coerce_text(v, props[k], root)
            if k in props
            else _coerce_text(v, extra, root)
            if isinstance(extra, dict)
            else v
            for k, v in instance.items()
        }
    return instance


def _message(err: jsonschema.ValidationError, prefix: list[str]) -> str:
    path = [*prefix, *(str(p) for p in err.absolute_path)]
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


def _is_integer(checker: Any, instance: Any) -> bool:
    # draft 7 counts 1.0 as an integer; a count, a seed or a size written 1.0 is a mistake
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _validate(instance: Any, schema: Mapping[str, Any], where: str) -> None:
    root = load_schema()
    validator = _Validator({**schema, "definitions": root["definitions"]})
    prefix = where.split(".") if where else []
    # the deepest failures say the most; anyOf/allOf wrappers would only repeat them
    errors = sorted(
        (e for e in validator.iter_errors(instance)),
        key=lambda e: (list(map(str, e.absolute_path)), e.message),
    )
    if errors:
        lines = []
        for err in errors:
            best = jsonschema.exceptions.best_match([err, *err.context]) if err.context else err
            lines.append(_message(best, prefix))
        raise ConfigError("\n".join(dict.fromkeys(lines)))


def definition(name: str) -> dict[str, Any]:
    """One entry of the schema's definitions (e.g. model_block, policy, combiner)."""
    return load_schema()["definitions"][name]


def validate_section(
    instance: Any, name: str, where: str, fill_defaults: bool = True
) -> dict[str, Any]:
    """Check ``instance`` against the schema definition ``name``; ``where`` is its key path
    in the configuration, for messages. Returns a copy with the definition's defaults."""
    root = load_schema()
    _validate(instance, {"$ref": f"#/definitions/{name}"}, where)
    out = copy.deepcopy(instance)
    if fill_defaults:
        _fill_defaults(out, {"$ref": f"#/definitions/{name}"}, root)
    return out


def defaults_of(name: str) -> dict[str, Any]:
    """The ``default`` of every property of the definition ``name`` (run settings)."""
    props = _resolve(definition(name), load_schema()).get("properties", {})
    return {k: copy.deepcopy(v["default"]) for k, v in props.items() if "default" in v}


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with defaults filled in; raise ConfigError on any problem.
    The default ``lists.build`` is every split that ``parts`` can form (:func:`split_problem`
    says why one cannot)."""
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a mapping of keys, found {type(config).__name__}")
    schema = load_schema()
    filled = _coerce_text(copy.deepcopy(config), schema, schema)
    _validate(filled, schema, "")
    _fill_defaults(filled, schema, schema)
    splits = filled["lists"]["splits"]
    if "build" not in filled["lists"]:
        filled["lists"]["build"] = [name for name in splits if not split_problem(filled, name)]
    unknown = sorted(set(filled["lists"]["build"]) - set(splits))
    if unknown:
        raise ConfigError(f"config key lists.build: splits {unknown} are not in lists.splits")
    unknown = sorted(set(filled["train"]["models"]) - set(filled["models"]) - {"defaults"})
    if unknown:
        raise ConfigError(
            f"config key train.models: {unknown} have no block in `models` (known: "
            f"{sorted(set(filled['models']) - {'defaults'})})"
        )
    if not filled["parts"] and not filled["datasets"]:
        raise ConfigError(
            "config key parts: empty and no `datasets` configured, so the run has no videos "
            "(empty parts is for runs on other datasets only)"
        )
    _check_selectors(filled)
    demo_parts = list(range(len(filled["parts"])))
    if filled["demo"]["build"] and (
        filled["parts"] != demo_parts or filled["part_prefix"] != "dfdc_train_part_"
    ):
        raise ConfigError(
            f"config key parts: the demo builds dfdc_train_part_0..{len(demo_parts) - 1}, so "
            f"parts must be {demo_parts} with the default part_prefix, found {filled['parts']}"
        )
    return filled


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


def _check_selectors(config: dict[str, Any]) -> None:
    """Every selector (splits, test sets, the robustness grid) names a configured dataset."""
    places = []
    for split, spec in config["lists"]["splits"].items():
        for key in ("train", "val"):
            if isinstance(spec[key], list) and spec[key] and isinstance(spec[key][0], dict):
                places.append((f"lists.splits.{split}.{key}", spec[key]))
    evaluate = config["evaluate"]
    places += [(f"evaluate.test_sets.{n}", v) for n, v in evaluate["test_sets"].items()]
    if evaluate["robustness"]["parts"] is not None:
        places.append(("evaluate.robustness.parts", evaluate["robustness"]["parts"]))
    for where, selectors in places:
        for i, selector in enumerate(selectors):
            name = selector.get("dataset")
            if name is not None and name not in config["datasets"]:
                raise ConfigError(
                    f"config key {where}[{i}].dataset: {name!r} is not in `datasets` "
                    f"(configured: {sorted(config['datasets'])})"
                )


# The repository's config.yaml, when this package sits in a checkout (an installed wheel has none).
REPO_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def load_repo_config(paths: Sequence[str | Path] = ()) -> dict[str, Any]:
    """The repository's config.yaml with ``paths`` merged over it in order, validated: what
    the workflow sees with ``--configfile`` (the commands that run outside Snakemake read
    their settings this way)."""
    files = ([REPO_CONFIG] if REPO_CONFIG.is_file() else []) + [Path(p) for p in paths]
    if not files:
        raise ConfigError(
            "no configuration: the repository's config.yaml is not beside this package; "
            "give one with --config"
        )
    return read_config_files(files)


def read_config_files(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The files' mappings merged in order, as Snakemake merges each ``--configfile`` over the
    ``configfile:`` (:func:`snakemake.utils.update_config`), then validated."""
    from snakemake.utils import update_config  # imported on use: the DAG build never needs it

    config: dict[str, Any] = {}
    for path in paths:
        update_config(config, read_config_file(path))
    return validate_config(config)


def part_names(config: dict[str, Any]) -> list[str]:
    return [f"{config['part_prefix']}{k}" for k in config["parts"]]


def _dfdc_ids(value: Any) -> list[int]:
    """The DFDC part numbers of a split's train or val: a list of numbers, or those of the
    ``{parts: [...]}`` selectors of a list of selectors."""
    if value and isinstance(value[0], dict):
        return [k for selector in value for k in selector.get("parts", [])]
    return list(value)


def _split_ids(config: dict[str, Any], split: str) -> tuple[list[int], list[int]]:
    splits = config["lists"]["splits"]
    if split not in splits:
        raise ConfigError(f"config key lists.splits: no split {split!r}; found {sorted(splits)}")
    spec = splits[split]
    val, train = _dfdc_ids(spec["val"]), spec["train"]
    if train == "rest":
        train = [k for k in config["parts"] if k not in set(val)]
    elif train == "all":
        train = list(config["parts"])
    return _dfdc_ids(train), val


def split_problem(config: dict[str, Any], split: str) -> str | None:
    """Why ``parts`` cannot form ``split`` (some of its parts are not configured), or None."""
    train, val = _split_ids(config, split)
    missing = sorted((set(val) | set(train)) - set(config["parts"]))
    if missing:
        return f"parts {missing} of lists.splits.{split} are not in `parts`"
    return None


def split_parts(config: dict[str, Any], split: str) -> tuple[list[str], list[str]]:
    """(train part names, val part names) of a split of DFDC part numbers; ConfigError if
    ``parts`` cannot form it (a split of selectors: rf_models.data.selection)."""
    problem = split_problem(config, split)
    if problem:
        raise ConfigError(f"split {split!r} is not available: {problem}")
    train, val = _split_ids(config, split)
    prefix = config["part_prefix"]
    return [f"{prefix}{k}" for k in train], [f"{prefix}{k}" for k in val]
