"""The seed's released checkpoints: which file is which block, and finding them in a folder.

RobustForensics published its eleven submitted models as ``submit_models/`` (a Google Drive
folder linked from its ``inference/submit_models/README.md``); its inference script, and
IQTLabs/FakeFinder's packaging of it, load them under the names below (docs/reproduction.md §10).
Each is a dict with ``state_dict`` (keys prefixed ``module.``, Xception ``module.model.``),
saved by torch 1.4 in the legacy (non-zip) format.

:func:`find_seed_files` pairs the files of a folder with blocks: by these names, or by
``--map <block>=<file>`` for renamed files. A checkpoint-looking file it cannot place is an
error rather than something skipped in silence.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType


class SeedFilesError(ValueError):
    """Seed checkpoint files that cannot be paired with blocks (names, --map, folder)."""


@dataclass(frozen=True)
class SeedFile:
    """One released checkpoint: the block it belongs to, its file name and architecture."""

    block: str
    filename: str
    arch: str


# In the order of the seed's ensemble (its score list): the four SlowFast models, then the
# seven image models.
SEED_FILES: tuple[SeedFile, ...] = (
    SeedFile("sf", "sf_bc_jc_44000.pth.tar", "slowfast_r50"),
    SeedFile("sf_noaug", "sf_32000.pth.tar", "slowfast_r50"),
    SeedFile("sf_16x8", "sf_16x8_bc_jc_44000.pth.tar", "slowfast_r50"),
    SeedFile("sf_alldata", "sf_trainval_52000.pth.tar", "slowfast_r50"),
    SeedFile("xcep", "xcep_bgr_58000.pth.tar", "legacy_xception"),
    SeedFile("b3", "b3_rgb_50000.pth.tar", "tf_efficientnet_b3"),
    SeedFile("r34", "res34_rgb_23000.pth.tar", "resnet34"),
    SeedFile("b1", "b1_rgb_58000.pth.tar", "tf_efficientnet_b1"),
    SeedFile("b1long", "b1_rgb_long_alldata_66000.pth.tar", "tf_efficientnet_b1"),
    SeedFile("b1short", "b1_rgb_alldata_58000.pth.tar", "tf_efficientnet_b1"),
    SeedFile("b0", "b0_rgb_58000.pth.tar", "tf_efficientnet_b0"),
)
BY_BLOCK: Mapping[str, SeedFile] = MappingProxyType({f.block: f for f in SEED_FILES})
BY_FILENAME: Mapping[str, SeedFile] = MappingProxyType({f.filename: f for f in SEED_FILES})

# Names that look like a checkpoint: such a file left unplaced is reported, not skipped
# (anything else in the folder, e.g. the seed's README.md, is ignored).
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt", ".bin", ".safetensors")


def parse_maps(items: Sequence[str], known_blocks: Iterable[str]) -> dict[str, str]:
    """``["b0=renamed.pth", ...]`` -> ``{"b0": "renamed.pth"}``; every block must be one of
    ``known_blocks`` (the configuration's) and appear once."""
    known = sorted(set(known_blocks))
    out: dict[str, str] = {}
    for item in items:
        block, sep, filename = item.partition("=")
        block, filename = block.strip(), filename.strip()
        if not sep or not block or not filename:
            raise SeedFilesError(f"--map {item!r}: expected <block>=<file>, e.g. b0=renamed.pth")
        if block not in known:
            raise SeedFilesError(
                f"--map {item!r}: no block {block!r} in the configuration's models; known: "
                f"{', '.join(known)}"
            )
        if block in out:
            raise SeedFilesError(
                f"--map {item!r}: block {block!r} is already mapped to {out[block]!r}"
            )
        out[block] = filename
    return out


def _looks_like_checkpoint(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(CHECKPOINT_SUFFIXES)


def find_seed_files(seed_dir: str | os.PathLike, maps: Mapping[str, str]) -> dict[str, Path]:
    """``{block: file}`` for the seed's checkpoints in ``seed_dir``, in the seed's order, then
    any other mapped blocks. ``maps`` (block -> file, relative to ``seed_dir`` unless absolute)
    overrides the released names; a mapped file must exist. A checkpoint-looking file of the
    folder that is neither a released name nor mapped is an error naming it."""
    root = Path(seed_dir)
    if not root.is_dir():
        raise SeedFilesError(f"{root}: expected a folder of the seed's checkpoints, found none")
    mapped: dict[str, Path] = {}
    for block, filename in maps.items():
        path = Path(filename)
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise SeedFilesError(f"--map {block}={filename}: file not found: {path}")
        mapped[block] = path
    mapped_names = {p.resolve() for p in mapped.values()}
    found: dict[str, Path] = {}
    unplaced: list[str] = []
    for entry in sorted(root.iterdir()):
        if not entry.is_file() or entry.resolve() in mapped_names:
            continue
        seed = BY_FILENAME.get(entry.name)
        if seed is not None:
            found[seed.block] = entry
        elif _looks_like_checkpoint(entry.name):
            unplaced.append(entry.name)
    if unplaced:
        raise SeedFilesError(
            f"{root}: {', '.join(unplaced)}: not one of the seed's released checkpoint names "
            f"({', '.join(f.filename for f in SEED_FILES)}); give a renamed file's block with "
            f"--map <block>=<file>, e.g. --map b0={unplaced[0]}"
        )
    # A mapped block takes its mapped file, even where the released name is there too.
    found.update(mapped)
    order = [f.block for f in SEED_FILES] + sorted(set(mapped) - set(BY_BLOCK))
    return {block: found[block] for block in order if block in found}
