"""``python -m rf_models.predict``: is this video fake? One command over videos or folders.

It runs what the workflow's ``predict`` rule runs (:func:`rf_models.infer.folder.
predict_folder`: sampling, RetinaFace, tracking, crops, every model, the seed's ensemble), with
the settings of the same configuration (the repository's ``config.yaml`` with any
``--config`` merged over it, as Snakemake's ``--configfile``), on the models a workflow run
trained (``results/models/<model>/best.pt`` and ``model_config.yaml``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rf_models.config import ConfigError
from rf_models.infer.video_scoring import SCORED, VideoResult
from rf_models.train.config import INFERENCE_ONLY_KEYS, resolve_model_block


def find_models(
    models_dir: str | os.PathLike, config: Mapping[str, Any], names: Sequence[str] = ()
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """``{model: (best.pt, block)}`` for every ``<models_dir>/<model>/best.pt`` that the
    ensemble policy weighs (or only ``names``, which it must weigh): a block trained only as
    another's starting point, such as the demo's ``sf_pretrain``, is not scored. The block is
    the run's own ``model_config.yaml`` beside it, else the config's block with its
    overrides. Training leaves the inference-only keys (``infer_size``, ``flip_tta``) out of
    the run's file, so a model the config knows takes them from the config's block, as the
    ``predict`` rule does."""
    root = Path(models_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: expected a folder of trained models, found no folder")
    weighed = {m for g in config["ensemble"]["policy"]["groups"].values() for m in g["models"]}
    unweighed = [m for m in names if m not in weighed]
    if unweighed:
        raise ConfigError(
            f"--model {unweighed}: ensemble.policy weighs only {sorted(weighed)}; a model "
            "outside it cannot be scored"
        )
    found = sorted(p.parent.name for p in root.glob("*/best.pt") if p.parent.name in weighed)
    wanted = list(names) or found
    missing = [m for m in wanted if m not in found]
    if missing or not wanted:
        raise FileNotFoundError(
            f"{root}: expected <model>/best.pt for {missing or 'at least one model'}, "
            f"found models of ensemble.policy {found}"
        )
    out = {}
    for name in wanted:
        block_file = root / name / "model_config.yaml"
        if block_file.is_file():
            blocks = yaml.safe_load(block_file.read_text()) or {}
            block = (blocks.get("models") or {}).get(name)
            if not isinstance(block, dict):
                raise ConfigError(f"{block_file}: expected models.{name}, a model block")
            if name in (config.get("models") or {}) and name != "defaults":
                configured = resolve_model_block(config, name)
                block = {**block, **{k: configured[k] for k in INFERENCE_ONLY_KEYS}}
        else:
            block = resolve_model_block(config, name)
        out[name] = (root / name / "best.pt", block)
    return out


def format_table(results: Sequence[VideoResult], models: Sequence[str]) -> str:
    """One line per video: file, P(FAKE), status, faces, each model's score, and the reason."""
    header = ["file", "P(FAKE)", "status", "faces", *models, "reason"]
    rows = []
    for r in results:
        scores = [
            "-" if r.model_scores.get(m) is None else f"{r.model_scores[m]:.3f}" for m in models
        ]
        status = r.status if r.status in SCORED else f"{r.status} (default score)"
        rows.append([r.video, f"{r.score:.3f}", status, str(r.num_faces), *scores, r.reason])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i in (0, 2) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
