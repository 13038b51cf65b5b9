"""The repository's config.yaml, validated: the one place the seed's values live, read by the
tests that need them."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from rf_models.config import validate_config

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def _seed_config() -> dict[str, Any]:
    return validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))


def seed_config() -> dict[str, Any]:
    """config.yaml with defaults filled in (a copy)."""
    return copy.deepcopy(_seed_config())


def policy_config(**sections: Any) -> dict[str, Any]:
    """The seed's ensemble.policy with some sections changed: a mapping updates the section
    (``groups`` and non-mappings replace it)."""
    cfg = seed_config()["ensemble"]["policy"]
    for key, value in sections.items():
        if isinstance(value, dict) and key != "groups" and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def seed_block(kind: str) -> dict[str, Any]:
    """config.yaml's models.defaults.<kind>: what every block of that kind starts from."""
    return copy.deepcopy(_seed_config()["models"]["defaults"][kind])


# The seed's optimiser and loss settings: the same in both kinds' defaults (config.yaml).
OPTIMISER_KEYS = (
    "lr_gamma",
    "momentum",
    "weight_decay",
    "nesterov",
    "class_weights",
    "loss_world_size_division",
)


def seed_optimiser() -> dict[str, Any]:
    """config.yaml's optimiser and loss settings (models.defaults), for the tests' tiny blocks."""
    image = seed_block("image")
    return {key: image[key] for key in OPTIMISER_KEYS}
