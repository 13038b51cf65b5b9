"""DFDC's training parts as a dataset: ``<root>/dfdc_train_part_<k>/metadata.json`` and each
part's videos, the folders the run's own ``parts`` read (:mod:`rf_models.data.dfdc`).

Naming DFDC's training set as a dataset lets a split or a test set take it beside other
datasets, from any root. Each part folder is a group named after it (``dfdc_train_part_45``);
every video is in the set ``set`` (default ``train``: DFDC's training set has no official
split, the seed held out parts by number). Keys: ``parts``, the part numbers to list (default
every ``<prefix><k>`` folder of the root), ``prefix`` (default ``dfdc_train_part_``).

A part's rows are read as the run's parts read them, with the same statuses: a bad
metadata.json row is ``bad_metadata``, a row without a file ``missing``, a file without a row
``not_in_metadata``. A configured part without a folder, and a metadata.json that cannot be
read, are a :class:`~rf_models.data.datasets.DatasetError` naming it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import NAME_PATTERN, DatasetError, DatasetVideo
from rf_models.data.dfdc import MetadataError, part_entries
from rf_models.data.layouts.common import Layout, option_set


def _part_folders(root: Path, prefix: str, parts: list[int] | None) -> list[Path]:
    if parts is not None:
        folders = [root / f"{prefix}{k}" for k in parts]
        for folder in folders:
            if not folder.is_dir():
                found = "a file" if folder.exists() else "nothing"
                raise DatasetError(
                    f"{folder}: expected the folder of DFDC part {folder.name}, found {found}"
                )
        return folders
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)")
    try:
        names = [e.name for e in os.scandir(root) if e.is_dir() and pattern.fullmatch(e.name)]
    except OSError as err:
        raise DatasetError(f"{root}: cannot list the folder ({err.strerror})") from None
    if not names:
        raise DatasetError(f"{root}: expected DFDC part folders {prefix}<k>, found none")
    return [root / n for n in sorted(names, key=lambda n: int(pattern.fullmatch(n)[1]))]


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    set_ = option_set(options["set"], "set", root)
    prefix, parts = options["prefix"], options["parts"]
    if not isinstance(prefix, str) or not NAME_PATTERN.fullmatch(prefix):
        raise DatasetError(f"{root}: expected prefix to be a folder name prefix, found {prefix!r}")
    if parts is not None and (
        not isinstance(parts, list)
        or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in parts)
    ):
        raise DatasetError(f"{root}: expected parts to be a list of part numbers, found {parts!r}")
    videos = []
    for folder in _part_folders(root, prefix, parts):
        try:
            entries = part_entries(folder)
        except MetadataError as err:
            raise DatasetError(str(err)) from None
        videos += [
            DatasetVideo(
                name=e.video,
                path=e.path,
                label=e.label,
                set=set_,
                group=folder.name,
                original=e.original,
                in_metadata=e.in_metadata,
                on_disk=e.on_disk,
                problem=e.problem,
            )
            for e in entries
        ]
    return videos


LAYOUT = Layout(
    name="dfdc_train",
    list_videos=list_videos,
    keys={"parts": None, "prefix": "dfdc_train_part_", "set": "train"},
    description="DFDC training parts: <root>/dfdc_train_part_<k>/metadata.json, a group each",
)
