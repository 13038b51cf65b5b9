"""Package names imported on first use (PEP 562).

The workflow imports parts of rf_models while Snakemake builds the DAG, and short jobs import
one stage: a package ``__init__`` that imported every submodule would load PyTorch, timm or
matplotlib (2-4 s each) into every dry run and every job.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, sources: Mapping[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose name ``n`` lives in its
    submodule ``sources[n]``; a name is imported on first access, then cached."""

    def getattr_(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{sources[name]}"), name)
        vars(sys.modules[package])[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*vars(sys.modules[package]), *sources])

    return sorted(sources), getattr_, dir_
