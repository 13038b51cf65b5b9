"""Dataset layouts: :data:`LAYOUTS` (name -> :class:`~rf_models.data.layouts.common.Layout`)
and :func:`list_dataset`, which lists one configured dataset block.

A block is a plain mapping from the configuration: ``layout``, ``root`` and the layout's own
keys (each layout module states them and their defaults in ``LAYOUT.keys``). Path keys are
absolute or relative to ``root``; ``root`` is absolute or relative to the working directory.
Listing only scans folders and reads the small split and label files; no video is opened.
The run's own DFDC parts (``parts``) are read by :mod:`rf_models.data.dfdc`; the layout
``dfdc_train`` lists the same folders as a dataset.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import NAME_PATTERN, DatasetError, DatasetListing, finish_listing
from rf_models.data.layouts import (
    celebdf,
    deeperforensics,
    dfdc_test,
    dfdc_train,
    dfdcp,
    ffpp,
    folder,
    uadfv,
)
from rf_models.data.layouts.common import Layout

LAYOUTS: dict[str, Layout] = {
    module.LAYOUT.name: module.LAYOUT
    for module in (dfdc_train, dfdc_test, dfdcp, ffpp, celebdf, deeperforensics, uadfv, folder)
}
BLOCK_KEYS = ("layout", "root")


def layout_options(layout: Layout, block: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The layout's keys with their defaults, updated by the block; DatasetError on a key the
    layout does not have (a typo would otherwise fall back to a default silently)."""
    unknown = sorted(set(block) - set(BLOCK_KEYS) - set(layout.keys))
    if unknown:
        allowed = ", ".join(BLOCK_KEYS + tuple(layout.keys))
        raise DatasetError(
            f"{where}: unknown key(s) {', '.join(unknown)} for layout {layout.name}; "
            f"expected keys among {allowed}"
        )
    options = copy.deepcopy(dict(layout.keys))
    options.update({k: v for k, v in block.items() if k not in BLOCK_KEYS})
    return options


def list_dataset(name: str, block: Mapping[str, Any]) -> DatasetListing:
    """List the videos of the dataset ``name`` configured by ``block``."""
    where = f"dataset {name!r}"
    if not isinstance(block, Mapping):
        raise DatasetError(f"{where}: expected a mapping with layout and root, found {block!r}")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DatasetError(f"{where}: dataset name must match {NAME_PATTERN.pattern}")
    layout_name = block.get("layout")
    if not isinstance(layout_name, str) or layout_name not in LAYOUTS:
        raise DatasetError(
            f"{where}: unknown layout {layout_name!r}; known layouts: {', '.join(LAYOUTS)}"
        )
    layout = LAYOUTS[layout_name]
    options = layout_options(layout, block, where)
    root_value = block.get("root")
    if not isinstance(root_value, str | os.PathLike) or not str(root_value):
        raise DatasetError(
            f"{where}: expected root to be the dataset's folder, found {root_value!r}"
        )
    root = Path(os.path.abspath(os.path.expanduser(root_value)))
    if not root.is_dir():
        found = "a file" if root.exists() else "nothing"
        raise DatasetError(f"{root}: expected the root folder of dataset {name!r}, found {found}")
    videos = layout.list_videos(name, root, options)
    return finish_listing(name, layout.name, root, videos)


__all__ = ["LAYOUTS", "Layout", "list_dataset", "layout_options"]
