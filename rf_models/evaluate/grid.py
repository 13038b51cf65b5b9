"""The robustness grid's names: conditions (a perturbation at a level, ``GB3``) and derived
parts (``<part>~<condition>``: a part's videos under a perturbation, redetect mode). Plain
names the rules use while the workflow parses: nothing here loads OpenCV or PyAV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rf_models.perturb.protocol import TYPES, parse_perturbation

DERIVED = "~"
CONDITION_PATTERN = "(?:" + "|".join(TYPES) + ")[1-5]"


def conditions(robustness: Mapping[str, Any]) -> list[str]:
    """The conditions of the grid: each type at each level (``CS1``, ``CS3``, ...)."""
    return [
        parse_perturbation(f"{kind}{level}").name
        for kind in robustness["types"]
        for level in sorted(robustness["levels"])
    ]


def derived_part(part: str, condition: str) -> str:
    return f"{part}{DERIVED}{condition}"


def split_derived(part: str) -> tuple[str, str] | None:
    """(base part, condition) of a derived part's name, else None."""
    if DERIVED not in part:
        return None
    base, condition = part.rsplit(DERIVED, 1)
    return base, condition
