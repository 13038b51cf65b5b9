"""The parts of a run beyond DFDC's: configured datasets listed, dealt into parts, and chosen
by selectors for splits and test sets.

A dataset of ``datasets`` is listed in its layout (:func:`rf_models.data.layouts.
list_dataset`, no video opened) the first time a part of it is asked for, and dealt into
parts ``<dataset>-<set>-<group>-<k>`` of ``part_size`` videos. A part's videos travel to its
jobs as plain records (:func:`part_source`), so a change to one part re-runs that part only.

A selector picks parts: ``{parts: [k, ...]}`` the DFDC parts of ``parts``, ``{dataset: name,
set: test, groups: [...]}`` a dataset's parts (every set and group when left out). A split's
``train`` and ``val``, and a test set, are lists of selectors (a split may also keep the
DFDC forms: part numbers, ``rest``, ``all``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rf_models.config import ConfigError, part_names
from rf_models.data.datasets import (
    DatasetListing,
    DatasetVideo,
    deal_parts,
    listing_signature,
    part_source,
)
from rf_models.data.layouts import list_dataset

DEFAULT_PART_SIZE = 500
# <dataset>-<set>-<group>-<k>: names hold no "-" (rf_models.data.datasets.NAME_PATTERN)
DATASET_PART = re.compile(r"(?P<dataset>[A-Za-z0-9_]+)-(?P<set>[a-z]+)-(?P<group>\w+)-(?P<k>\d+)")


def dataset_part_pattern(dataset: str) -> str:
    """A regular expression that matches exactly the part names of ``dataset``."""
    return rf"{re.escape(dataset)}-(?:train|val|test|unsplit)-\w+-\d+"


def dataset_of(part: str) -> str | None:
    """The dataset a part name belongs to (None: a DFDC part)."""
    match = DATASET_PART.fullmatch(part)
    return match["dataset"] if match else None


class DatasetParts:
    """A run's datasets, listed and dealt on first use (``before_listing(name)`` runs first:
    the workflow waits there for a dataset the demo builds)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        before_listing: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.blocks: Mapping[str, Mapping[str, Any]] = config.get("datasets") or {}
        self._before = before_listing
        self._listings: dict[str, DatasetListing] = {}
        self._parts: dict[str, dict[str, tuple[DatasetVideo, ...]]] = {}

    def _block(self, name: str) -> Mapping[str, Any]:
        if name not in self.blocks:
            raise ConfigError(
                f"config: no dataset {name!r} in `datasets` (configured: {sorted(self.blocks)})"
            )
        return self.blocks[name]

    def listing(self, name: str) -> DatasetListing:
        if name not in self._listings:
            block = dict(self._block(name))
            block.pop("part_size", None)
            if self._before is not None:
                self._before(name)
            self._listings[name] = list_dataset(name, block)
        return self._listings[name]

    def parts(self, name: str) -> dict[str, tuple[DatasetVideo, ...]]:
        """``{part name: videos}`` of dataset ``name``."""
        if name not in self._parts:
            size = self._block(name).get("part_size", DEFAULT_PART_SIZE)
            self._parts[name] = deal_parts(self.listing(name), size)
        return self._parts[name]

    def videos(self, part: str) -> tuple[DatasetVideo, ...]:
        dataset = dataset_of(part)
        if dataset is None or part not in self.parts(dataset):
            raise ConfigError(f"no part {part!r} in the configured datasets")
        return self.parts(dataset)[part]

    def select(self, selectors: Sequence[Mapping[str, Any]], where: str) -> list[str]:
        """The part names ``selectors`` pick, in order, each once; an error when a selector
        picks nothing or names DFDC parts that are not in ``parts``."""
        chosen: list[str] = []
        for i, selector in enumerate(selectors):
            found = self._select_one(selector, f"{where}[{i}]")
            if not found:
                raise ConfigError(f"config key {where}[{i}]: {dict(selector)} selects no part")
            chosen += [p for p in found if p not in chosen]
        return chosen

    def _select_one(self, selector: Mapping[str, Any], where: str) -> list[str]:
        if "parts" in selector:
            missing = sorted(set(selector["parts"]) - set(self.config["parts"]))
            if missing:
                raise ConfigError(f"config key {where}: DFDC parts {missing} are not in `parts`")
            prefix = self.config["part_prefix"]
            return [f"{prefix}{k}" for k in selector["parts"]]
        self._block(selector["dataset"])
        wanted_set, groups = selector.get("set"), selector.get("groups")
        if groups is not None:
            known = {DATASET_PART.fullmatch(p)["group"] for p in self.parts(selector["dataset"])}
            unknown = sorted(set(groups) - known)
            if unknown:  # a misspelt group would otherwise select nothing, silently
                raise ConfigError(
                    f"config key {where}.groups: {unknown} are not groups of dataset "
                    f"{selector['dataset']!r} (its groups: {sorted(known)})"
                )
        out = []
        for part in self.parts(selector["dataset"]):
            match = DATASET_PART.fullmatch(part)
            if wanted_set is not None and match["set"] != wanted_set:
                continue
            if groups is not None and match["group"] not in groups:
                continue
            out.append(part)
        return out

    def training_overlap(
        self,
        tested: Sequence[str],
        trained: Mapping[str, Sequence[str]],
        dfdc_folder: Callable[[str], str],
    ) -> str | None:
        """Why the parts ``tested`` are not held out from ``trained`` (``{split: its train and
        val parts}``), or None when they are: a part of both, one video file in both (datasets
        may share files: DeeperForensics-1.0's reals are FF++'s), or a dataset's video inside
        a DFDC training part's folder (``dfdc_folder(part)``)."""
        files: dict[str, tuple[str, str]] = {}  # video path -> (split, part)
        folders: dict[str, tuple[str, str]] = {}  # DFDC part folder -> (split, part)
        for split, parts in trained.items():
            for part in parts:
                if part in tested:
                    return f"part {part} is also a training or validation part of split {split}"
                if dataset_of(part) is None:
                    folders[os.path.abspath(dfdc_folder(part))] = (split, part)
                else:
                    files.update({str(v.path): (split, part) for v in self.videos(part)})
        for part in tested:
            if dataset_of(part) is None:
                where = os.path.abspath(dfdc_folder(part))
                inside = [p for p in files if os.path.dirname(p) == where]
                if inside:
                    split, other = files[inside[0]]
                    return (
                        f"part {part}'s folder holds {inside[0]}, a video of part {other} of "
                        f"split {split}"
                    )
                continue
            for video in self.videos(part):
                path = str(video.path)
                found = files.get(path) or folders.get(os.path.dirname(path))
                if found:
                    split, other = found
                    return (
                        f"{path} (part {part}) is also a video of part {other}, a training or "
                        f"validation part of split {split}"
                    )
        return None

    def signature(self, part: str) -> str:
        """Names, sizes and mtimes of the part's videos (a rule parameter)."""
        return listing_signature(self.videos(part))

    def source(self, part: str) -> dict[str, Any]:
        """The part's videos as plain data for its jobs
        (:func:`rf_models.data.datasets.part_source`)."""
        dataset = dataset_of(part)
        return part_source(dataset, self.listing(dataset).layout, part, self.videos(part))


def split_part_names(
    config: Mapping[str, Any], split: str, datasets: DatasetParts
) -> tuple[list[str], list[str]]:
    """(train part names, val part names) of a split whose train or val are selectors; the
    DFDC forms (part numbers, ``rest``, ``all``) as :func:`rf_models.config.split_parts`."""
    spec = config["lists"]["splits"][split]
    prefix = config["part_prefix"]

    def names(value: Any, key: str, val_parts: list[str]) -> list[str]:
        if value == "rest":
            return [p for p in part_names(dict(config)) if p not in val_parts]
        if value == "all":
            return part_names(dict(config))
        if value and isinstance(value[0], Mapping):
            return datasets.select(value, f"lists.splits.{split}.{key}")
        return [f"{prefix}{k}" for k in value]

    val = names(spec["val"], "val", [])
    return names(spec["train"], "train", val), val


def uses_selectors(config: Mapping[str, Any], split: str) -> bool:
    """Whether a split takes any of its parts by selectors (from the configured datasets)."""
    spec = config["lists"]["splits"][split]
    return any(isinstance(v, list) and v and isinstance(v[0], Mapping) for v in spec.values())
