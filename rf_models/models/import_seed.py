"""``python -m rf_models.models.import_seed SEED_DIR --out MODELS_DIR``: the seed's released
checkpoints as models that ``predict`` scores with.

For each of the seed's files found in ``SEED_DIR`` (rf_models.models.seed_files: by its
released name, or ``--map <block>=<file>``) this writes ``MODELS_DIR/<block>/``:

- ``best.pt``: a training checkpoint (rf_models.train.checkpoint ``FORMAT``: format, arch,
  kind, config, the model's state dict in our key layout, converted once here, and the
  seed's step as the iteration), what ``rf_models.infer.scoring.load_trained_model`` reads;
- ``model_config.yaml``: ``{"models": {<block>: <resolved block>}}``, the layout
  ``rf_models.predict.find_models`` reads. The block is the configuration's (the
  repository's config.yaml, ``--config`` files merged over it) resolved without
  ``train.overrides``: those reshape training runs (the demo's), while these weights were
  trained with the seed's settings, whose inference values (crop size, colour order,
  normalisation, flip TTA) config.yaml holds;
- ``import.json``: where the weights came from (file name, size, sha256, the seed's step).
  The schema's model block admits no extra keys, so provenance is kept beside it.

Loading is strict: every tensor of the network comes from the file (batch counters, which
inference never reads, may be absent and start at 0) and every tensor of the file is used;
otherwise the error names the file and the keys. Files are read with ``weights_only`` (the
legacy format of torch 1.4 included); nothing is unpickled. The blocks are written to a
temporary folder beside them first and moved into place only when every file was good, each
file by an atomic rename: a bad file leaves ``MODELS_DIR`` as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from rf_models.config import ConfigError, load_repo_config
from rf_models.io_utils import atomic_write_text
from rf_models.models.convert import check_fits, read_checkpoint_object, unwrap_state_dict
from rf_models.models.factory import create_model
from rf_models.models.keymaps import CheckpointError, StateDict
from rf_models.models.registry import get_arch
from rf_models.models.seed_files import (
    BY_BLOCK,
    SEED_FILES,
    SeedFilesError,
    find_seed_files,
    parse_maps,
)
from rf_models.train.checkpoint import FORMAT, save_checkpoint
from rf_models.train.config import ModelConfig, resolve_model_block

BEST, MODEL_CONFIG, PROVENANCE = "best.pt", "model_config.yaml", "import.json"
_STAGING_PREFIX = ".import_seed."
_STAGING_SUFFIX = ".tmpdir"


@dataclass(frozen=True)
class Imported:
    """One block written by :func:`import_seed`."""

    block: str
    arch: str
    source: Path
    sha256: str
    step: int | None
    folder: Path
    filled: tuple[str, ...]
    """Batch counters the file lacked (set to 0)."""


def config_blocks(config: Mapping[str, Any]) -> list[str]:
    """The model blocks the configuration defines."""
    return sorted(set(config.get("models") or {}) - {"defaults"})


def imported_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Block ``name`` resolved for imported weights: models.defaults and the block, without
    ``train.overrides`` (they reshape training runs, not the seed's trained models)."""
    train = dict(config.get("train") or {})
    train["overrides"] = {}
    return resolve_model_block({**config, "train": train}, name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _step_of(obj: Any) -> int | None:
    """The seed's iteration: its checkpoints carry ``step``."""
    step = obj.get("step") if isinstance(obj, Mapping) else None
    if isinstance(step, torch.Tensor) and step.numel() == 1:
        step = step.item()
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _best_loss_of(obj: Any) -> float:
    loss = obj.get("best_loss") if isinstance(obj, Mapping) else None
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        loss = loss.item()
    return float(loss) if isinstance(loss, int | float) and not isinstance(loss, bool) else math.nan


class _Skeletons:
    """One model per arch, built on the meta device: names, shapes and dtypes, no memory."""

    def __init__(self) -> None:
        self._targets: dict[str, StateDict] = {}

    def target(self, arch: str) -> StateDict:
        if arch not in self._targets:
            with torch.device("meta"):
                self._targets[arch] = create_model(arch).state_dict()
        return self._targets[arch]


def read_seed_file(
    path: Path, arch: str, target: Mapping[str, torch.Tensor] | None = None
) -> tuple[StateDict, list[str], Any]:
    """The seed's checkpoint ``path`` of architecture ``arch``, checked strictly against
    ``target`` (``arch``'s state dict, meta tensors will do; built when None): the model state
    dict in our key layout (``target``'s order and dtypes), the batch counters the file lacked
    (set to 0), and the object the file holds (for its ``step``)."""
    if target is None:
        target = _Skeletons().target(arch)
    obj = read_checkpoint_object(path)
    raw = unwrap_state_dict(obj, source=str(path))
    try:
        state = get_arch(arch).convert(raw)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    check_fits(state, target, arch, path)
    out: StateDict = {}
    filled: list[str] = []
    for key, ref in target.items():
        value = state.get(key)
        if value is None:  # a batch counter: check_fits lets only those be absent
            value = torch.zeros(ref.shape, dtype=ref.dtype)
            filled.append(key)
        elif value.dtype != ref.dtype:
            value = value.to(ref.dtype)
        out[key] = value
    return out, filled, obj


def _check_destinations(out: Path, blocks: Sequence[str], force: bool) -> None:
    """Refuse to replace a trained model (a best.pt without import.json) unless ``force``."""
    trained = [
        b for b in blocks if (out / b / BEST).exists() and not (out / b / PROVENANCE).is_file()
    ]
    if trained and not force:
        raise SeedFilesError(
            f"{out}: {', '.join(f'{b}/{BEST}' for b in trained)} already hold trained models "
            "(no import.json beside them); give --force to replace them, or another --out"
        )


def _remove_stale_staging(out: Path) -> None:
    # Left by an import that was killed; no two imports share an output folder.
    for entry in out.glob(f"{_STAGING_PREFIX}*{_STAGING_SUFFIX}"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _stage_block(
    staging: Path,
    block: str,
    path: Path,
    config: Mapping[str, Any],
    skeletons: _Skeletons,
) -> Imported:
    resolved = imported_block(config, block)
    cfg = ModelConfig.from_dict(block, resolved, source=f"models.{block}")
    seed = BY_BLOCK.get(block)
    if seed is not None and seed.arch != cfg.arch:
        raise ConfigError(
            f"config key models.{block}.arch: the seed's {block} ({seed.filename}) is a "
            f"{seed.arch}, the configuration's block a {cfg.arch}"
        )
    try:
        state, filled, obj = read_seed_file(path, cfg.arch, skeletons.target(cfg.arch))
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} [read as block {block}, a {cfg.arch}]") from exc
    digest = sha256_of(path)
    step = _step_of(obj)
    provenance = {
        "block": block,
        "arch": cfg.arch,
        "file": path.name,
        "path": str(path.resolve()),
        "size_bytes": path.stat().st_size,
        "sha256": digest,
        "seed_step": step,
        "filled_batch_counters": len(filled),
        "imported_by": "rf_models.models.import_seed",
    }
    folder = staging / block
    atomic_write_text(
        folder / MODEL_CONFIG, yaml.safe_dump({"models": {block: resolved}}, sort_keys=False)
    )
    atomic_write_text(folder / PROVENANCE, json.dumps(provenance, indent=2) + "\n")
    iteration = -1 if step is None else step
    save_checkpoint(
        {
            "format": FORMAT,
            "arch": cfg.arch,
            "kind": cfg.kind,
            "config": cfg.to_dict(),
            "model": state,
            "iteration": iteration,
            "best_iteration": iteration,
            "best_val_loss": _best_loss_of(obj),
            "history": [],
            "imported_from": {"file": path.name, "sha256": digest},
        },
        folder / BEST,
    )
    return Imported(block, cfg.arch, path, digest, step, folder, tuple(filled))


def import_seed(
    seed_dir: str | os.PathLike,
    out: str | os.PathLike,
    maps: Sequence[str] = (),
    configs: Sequence[str | os.PathLike] = (),
    force: bool = False,
) -> tuple[list[Imported], list[str]]:
    """Import the seed's checkpoints of ``seed_dir`` into ``out`` (see the module docstring).
    Returns the blocks written (their final folders) and the seed's blocks that had no file.
    Raises CheckpointError / SeedFilesError / ConfigError naming the file, with ``out``
    unchanged."""
    config = load_repo_config(configs)
    files = find_seed_files(seed_dir, parse_maps(maps, config_blocks(config)))
    if not files:
        raise SeedFilesError(
            f"{seed_dir}: no seed checkpoint found; expected any of "
            f"{', '.join(f.filename for f in SEED_FILES)} (or --map <block>=<file>)"
        )
    out = Path(out)
    _check_destinations(out, list(files), force)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, suffix=_STAGING_SUFFIX, dir=out))
    try:
        skeletons = _Skeletons()
        staged = [_stage_block(staging, b, p, config, skeletons) for b, p in files.items()]
        imported = []
        for item in staged:
            folder = out / item.block
            folder.mkdir(exist_ok=True)
            # best.pt last: predict finds models by it, so the files beside it are in place.
            for name in (MODEL_CONFIG, PROVENANCE, BEST):
                os.replace(item.folder / name, folder / name)
            imported.append(dataclasses.replace(item, folder=folder))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    absent = [f.block for f in SEED_FILES if f.block not in files]
    return imported, absent


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m rf_models.models.import_seed",
        description="Import RobustForensics' released checkpoints (its submit_models folder) "
        "as models that `python -m rf_models.predict --models MODELS_DIR` scores with.",
    )
    p.add_argument(
        "seed_dir", metavar="SEED_DIR", type=Path, help="folder holding the seed's .pth.tar files"
    )
    p.add_argument(
        "--out", metavar="MODELS_DIR", type=Path, required=True, help="models folder to write"
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="BLOCK=FILE",
        help="a renamed file's block, e.g. b0=renamed.pth (FILE relative to SEED_DIR; repeatable)",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        type=Path,
        help="YAML merged over the repository's config.yaml (repeatable)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace best.pt of models trained here (their other files are left as they are)",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        imported, absent = import_seed(args.seed_dir, args.out, args.map, args.config, args.force)
    except (CheckpointError, SeedFilesError, ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for item in imported:
        step = "" if item.step is None else f", step {item.step}"
        filled = f", {len(item.filled)} batch counters set to 0" if item.filled else ""
        print(
            f"{item.block:<10} {item.arch:<19} {item.source.name} (sha256 {item.sha256[:12]}"
            f"{step}{filled}) -> {item.folder / BEST}"
        )
    if absent:
        print(
            f"absent: {', '.join(absent)} (no file in {args.seed_dir}); the ensemble "
            "renormalises its weights over the models present"
        )
    seed_count = sum(1 for item in imported if item.block in BY_BLOCK)
    print(
        f"imported {len(imported)} model(s) into {args.out} "
        f"({seed_count} of the seed's {len(SEED_FILES)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
