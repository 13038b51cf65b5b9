"""The ensemble stage: per-model predictions of a split -> final scores, metrics, combiners.

Inputs are the ``.npz`` files of :mod:`rf_models.infer.predict_split` (one per model) and the
split's manifests (every video, with its status and label, 1 = FAKE). Per-model video scores
come from the seed's face rule and shrink, the final score from the seed's policy
(:func:`rf_models.infer.policy.ensemble_details`); the configured combiners
(:func:`rf_models.infer.combiners.make_combiner`) are scored out-of-fold on the labelled videos.
A video no model scored (no face, unreadable, crops missing, ...) gets the policy's default
score (0.5) from every combiner and stays in the metrics, as the seed's rule has it.

On an evaluation's test set the learned combiners must not learn from that set's labels:
given the ``combiners.json`` of the split they were fitted on and that split's videos
(:class:`FittedCombiners`), they score with those parameters, and only the labelled videos
they were fitted on are scored out-of-fold among themselves, as the ensemble stage scored them.

Outputs in ``out_dir``: ``scores.csv`` (a row per video), ``metrics.csv`` / ``metrics.json``
(per model and per combiner at video level, plus frame level for image models) and
``combiners.json`` (every computed combiner's parameters, fitted ones included).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from rf_models.config import ConfigError
from rf_models.data.manifest import ManifestRow
from rf_models.infer.combiners import (
    CalibratedCombiner,
    Combiner,
    PolicyCombiner,
    ScoreTable,
    StackingCombiner,
    combiner_from_json,
    make_combiner,
)
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.predictions import (
    Predictions,
    read_manifests,
    read_prediction_file,
    video_key,
)
from rf_models.io_utils import atomic_write_text
from rf_models.metrics import video_and_frame_metrics, write_metrics_csv, write_metrics_json

log = logging.getLogger(__name__)

SEED_COLUMN = "seed_policy"
SCORES, METRICS_CSV, METRICS_JSON, COMBINERS_JSON = (
    "scores.csv",
    "metrics.csv",
    "metrics.json",
    "combiners.json",
)
_KIND_OF_INPUT = {"frames": "image", "clip": "video"}


def _load_predictions(
    predictions: Mapping[str, str | os.PathLike | None], policy: EnsemblePolicy
) -> tuple[dict[str, Predictions], list[str]]:
    """The policy's models that have a predictions file (policy order) and those that have
    none; a file for a model outside the policy, or of the wrong model or kind, is an error."""
    unknown = sorted(set(predictions) - set(policy.models))
    if unknown:
        raise ValueError(
            f"ensemble: predictions given for {unknown}, which are not in the policy's models "
            f"{list(policy.models)}"
        )
    loaded, missing = {}, []
    for model in policy.models:
        path = predictions.get(model)
        if path is None:
            missing.append(model)
            continue
        pred = read_prediction_file(path)
        expected_kind = _KIND_OF_INPUT[policy.group_of(model).input]
        if pred.model != model or pred.kind != expected_kind:
            raise ValueError(
                f"{path}: expected predictions of {expected_kind} model {model!r}, found "
                f"{pred.kind} model {pred.model!r}"
            )
        loaded[model] = pred
    if missing:
        log.warning(
            "ensemble: no predictions for %s; the policy renormalises without them", missing
        )
    return loaded, missing


def _status(row: ManifestRow, scored: bool) -> str:
    if not row.usable:
        return row.status
    if row.num_faces < 1:
        return "no_face"
    return row.status if scored else "no_prediction"


def _notes(row: ManifestRow, notes: Sequence[str], preds: Mapping[str, Predictions]) -> str:
    if not row.usable or row.num_faces < 1:
        return row.reason
    key, out = video_key(row), []
    for note in notes:
        model = note.split(":", 1)[0]
        if note == f"{model}: no prediction" and key in preds.get(model, _NO_PRED).skipped:
            note = f"{model}: skipped: {preds[model].skipped[key]}"
        out.append(note)
    return "; ".join(out)


_NO_PRED = Predictions(model="", kind="image", faces={}, frames={}, skipped={})


def _combiner_specs(
    combiners_cfg: Mapping[str, Any] | None, policy: EnsemblePolicy
) -> dict[str, Combiner]:
    """column name -> its combiner, built (and so checked) before any work. The seed_policy
    column is always there; a variant of it needs a name of its own."""
    specs = {}
    for key, cfg in (combiners_cfg or {}).items():
        where = f"ensemble.combiners.{key}"
        if key == SEED_COLUMN:
            raise ConfigError(
                f"config key {where}: the {SEED_COLUMN!r} column is the seed's policy from "
                "ensemble.policy; give a variant its own name, e.g. "
                "seed_policy_temperature: {type: seed_policy, calibration: temperature}"
            )
        specs[str(key)] = make_combiner(cfg, policy, where)
    return specs


def _learns(combiner: Combiner) -> bool:
    return isinstance(combiner, (StackingCombiner, CalibratedCombiner))


@dataclass(frozen=True)
class FittedCombiners:
    """Learned combiners fitted on another split: ``combiners`` by column name (its
    ``combiners.json``) and ``videos``, the keys of the labelled videos they were fitted on."""

    combiners: Mapping[str, Combiner]
    videos: frozenset[str]

    @classmethod
    def load(
        cls, combiners_json: str | os.PathLike, manifests: Sequence[str | os.PathLike]
    ) -> FittedCombiners:
        """The ensemble stage's ``combiners.json`` of a split and that split's manifests."""
        rows = read_manifests(manifests)
        videos = frozenset(video_key(r) for r in rows if r.label is not None)
        return cls(load_combiners(combiners_json), videos)


def _subtable(table: ScoreTable, mask: np.ndarray) -> ScoreTable:
    ids = tuple(v for v, m in zip(table.video_ids, mask, strict=True) if m)
    return ScoreTable(ids, table.models, table.values[mask])


def _run_combiner(
    combiner: Combiner,
    table: ScoreTable,
    y: np.ndarray,
    default: float,
    fitted: Combiner | None = None,
    fitted_on: frozenset[str] | None = None,
) -> np.ndarray:
    """Scores for every video: out-of-fold for labelled ones when the combiner learns, the
    default for videos no model scored. With ``fitted`` (the same combiner fitted on the
    videos ``fitted_on``), only the labelled videos of ``fitted_on`` are fitted on, out of
    fold; every other scored video gets ``fitted``'s prediction."""
    scored = ~np.all(np.isnan(table.values), axis=1)
    out = np.full(len(table.video_ids), default)
    if not _learns(combiner):
        if scored.any():
            out[scored] = combiner.predict(_subtable(table, scored))
        return out
    if fitted is not None:
        seen = np.array([v in (fitted_on or ()) for v in table.video_ids], dtype=bool)
        fit = scored & (y >= 0) & seen
        if fit.any():
            out[fit] = combiner.fit_predict(_subtable(table, fit), y[fit])
        rest = scored & ~fit
        if rest.any():
            out[rest] = fitted.predict(_subtable(table, rest))
        return out
    fit = scored & (y >= 0)
    if not fit.any():
        raise ValueError("no labelled video has a model score to fit on")
    out[fit] = combiner.fit_predict(_subtable(table, fit), y[fit])
    rest = scored & ~fit
    if rest.any():
        out[rest] = combiner.predict(_subtable(table, rest))
    return out


def _frame_scores(pred: Predictions) -> dict[str, np.ndarray]:
    """Image model: video -> P(FAKE) of every scored frame of every face."""
    return {
        vid: expit(np.concatenate([f[:, 1].astype(np.float64) - f[:, 0] for f in faces]))
        for vid, faces in pred.faces.items()
    }


def _cell(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    return "" if value is None else value


def run_ensemble(
    predictions: Mapping[str, str | os.PathLike | None],
    manifests: Sequence[str | os.PathLike],
    policy_cfg: Mapping[str, Any],
    combiners_cfg: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
    *,
    primary: str = SEED_COLUMN,
    fitted: FittedCombiners | None = None,
) -> dict[str, Any]:
    """Ensemble one split; see the module docstring for inputs and outputs.

    ``predictions`` maps model name -> predictions file; a policy model that is absent (or
    None) is a missing model: the policy renormalises over the others. ``policy_cfg`` is the
    ``ensemble.policy`` mapping (complete: config.yaml has the seed's), ``combiners_cfg`` the
    ``ensemble.combiners`` mapping. Returns a summary (counts, missing models, skipped
    combiners, the ``primary`` column's video-level metrics). ``fitted``: the learned
    combiners as fitted on another split (an evaluation); a learned combiner it lacks is
    skipped.
    """
    policy = EnsemblePolicy.from_config(policy_cfg, "ensemble.policy")
    specs = _combiner_specs(combiners_cfg, policy)
    if primary != SEED_COLUMN and primary not in specs:
        raise ValueError(
            f"ensemble.primary: expected {SEED_COLUMN!r} or a combiner of ensemble.combiners "
            f"{sorted(specs)}, found {primary!r}"
        )
    rows = read_manifests(manifests)
    if not rows:
        raise ValueError(f"ensemble: the manifests {list(map(str, manifests))} list no video")
    ids = [video_key(r) for r in rows]
    known = set(ids)
    preds, missing = _load_predictions(predictions, policy)
    for model, pred in preds.items():
        extra = sorted(set(pred.faces) - known)
        if extra:
            raise ValueError(
                f"ensemble: predictions of {model} hold {len(extra)} video(s) that are not in "
                f"the manifests, e.g. {extra[:3]}"
            )
    details = ensemble_details({m: p.faces for m, p in preds.items()}, policy, video_ids=ids)
    models = list(preds)
    table = ScoreTable(
        tuple(ids),
        tuple(models),
        np.array(
            [[details[v].model_scores.get(m, np.nan) for m in models] for v in ids],
            dtype=np.float64,
        ).reshape(len(ids), len(models)),
    )
    y = np.array([-1 if r.label is None else r.label for r in rows], dtype=np.int64)
    default = policy.default_score

    columns: dict[str, np.ndarray] = {SEED_COLUMN: np.array([details[v].score for v in ids])}
    used: dict[str, Combiner] = {SEED_COLUMN: PolicyCombiner(policy)}
    skipped_combiners: dict[str, str] = {}
    for key, combiner in specs.items():
        frozen = None
        try:
            if fitted is not None and _learns(combiner):
                frozen = fitted.combiners.get(key)
                if type(frozen) is not type(combiner):
                    raise ValueError(f"the ensemble split has no fitted {key} to score with")
            columns[key] = _run_combiner(
                combiner, table, y, default, frozen, None if fitted is None else fitted.videos
            )
        except ValueError as err:
            skipped_combiners[key] = str(err)
            log.warning("ensemble: combiner %s skipped: %s", key, err)
            continue
        # the parameters that scored this set's videos (fitted elsewhere: those of that split)
        used[key] = combiner if frozen is None else frozen

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_scores(out / SCORES, rows, ids, y, table, columns, details, preds)
    metric_rows = _metrics(rows, ids, y, table, columns, preds, policy, default)
    write_metrics_csv(out / METRICS_CSV, metric_rows)
    write_metrics_json(out / METRICS_JSON, metric_rows)
    save_combiners(out / COMBINERS_JSON, used)

    scored = int(np.count_nonzero(~np.all(np.isnan(table.values), axis=1))) if models else 0
    primary_row = next(
        (
            r
            for r in metric_rows
            if r["name"] == primary and r["type"] == "combiner" and r["level"] == "video"
        ),
        None,
    )
    summary = {
        "videos": len(ids),
        "labelled": int(np.count_nonzero(y >= 0)),
        "usable": sum(1 for r in rows if r.usable and r.num_faces >= 1),
        "scored": scored,
        "default_score": len(ids) - scored,
        "models": models,
        "missing_models": missing,
        "skipped_by_model": {m: len(p.skipped) for m, p in preds.items()},
        "combiners": list(columns),
        "skipped_combiners": skipped_combiners,
        "primary": primary,
        "primary_metrics": primary_row,
    }
    log.info("ensemble: %s", json.dumps(summary, default=str))
    return summary


def _write_scores(path, rows, ids, y, table, columns, details, preds) -> None:
    header = ["video", "label", "status", "n_models", *table.models, *columns, "notes"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for i, (row, vid) in enumerate(zip(rows, ids, strict=True)):
        result = details[vid]
        writer.writerow(
            [
                vid,
                "" if y[i] < 0 else int(y[i]),
                _status(row, bool(result.model_scores)),
                len(result.model_scores),
                *(_cell(v) for v in table.values[i]),
                *(_cell(columns[c][i]) for c in columns),
                _notes(row, result.notes, preds),
            ]
        )
    atomic_write_text(path, buf.getvalue())


def _metrics(rows, ids, y, table, columns, preds, policy, default) -> list[dict[str, Any]]:
    labelled = [i for i in range(len(ids)) if y[i] >= 0]
    if not labelled:
        log.warning("ensemble: no labelled video; metrics left empty")
        return []
    labels = {ids[i]: int(y[i]) for i in labelled}
    out: list[dict[str, Any]] = []
    for j, model in enumerate(table.models):
        col = table.values[:, j]
        scores = {ids[i]: default if np.isnan(col[i]) else float(col[i]) for i in labelled}
        group = policy.group_of(model)
        frames = _frame_scores(preds[model]) if group.input == "frames" else None
        context = {
            "name": model,
            "type": "model",
            "group": group.name,
            "n_scored": int(np.count_nonzero(~np.isnan(col[labelled]))),
        }
        out.extend(video_and_frame_metrics(labels, scores, frames, context))
    scored = ~np.all(np.isnan(table.values), axis=1)
    for name, col in columns.items():
        context = {
            "name": name,
            "type": "combiner",
            "group": "",
            "n_scored": int(np.count_nonzero(scored[labelled])),
        }
        scores = {ids[i]: float(col[i]) for i in labelled}
        out.extend(video_and_frame_metrics(labels, scores, None, context))
    return out


def save_combiners(path: str | os.PathLike, combiners: Mapping[str, Combiner]) -> None:
    """Every combiner as ``{column name: its to_json()}``, atomically."""
    data = {name: c.to_json() for name, c in combiners.items()}
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def load_combiners(path: str | os.PathLike) -> dict[str, Combiner]:
    """The combiners :func:`save_combiners` wrote, by column name (for scoring new videos)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"expected a mapping of combiner name to JSON, found {type(data)}")
        return {name: combiner_from_json(d) for name, d in data.items()}
    except (OSError, json.JSONDecodeError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path}: not a combiners JSON: {err}") from None
