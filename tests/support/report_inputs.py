"""Small synthetic report inputs, written with the project's own writers where they exist
(scores.csv in the ensemble stage's layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rf_models.data.manifest import STATUSES, ManifestRow, write_manifest
from rf_models.metrics import video_and_frame_metrics, write_metrics_csv
from rf_models.train.curves import write_metrics_csv as write_training_csv

MODELS = ("b1", "xcep", "r34", "sf", "b3_empty")
# As the ensemble names them: seed_policy, then the config's keys (stacking_t: calibrated).
COMBINERS = ("seed_policy", "mean", "stacking", "stacking_t")


def make_scores(n: int = 120, seed: int = 0, one_class: int | None = None) -> pd.DataFrame:
    """scores.csv as rf_models.infer.ensemble_stage writes it, for ``n`` videos (about 80%
    FAKE, the last two unlabelled): models of varying skill, b3_empty with no score at all,
    sf with some missing, the combiners, and a few no-face videos at 0.5."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.8).astype(int) if one_class is None else np.full(n, one_class)
    df = pd.DataFrame({"video": [f"dfdc_train_part_0/v{i:04d}.mp4" for i in range(n)]})
    df["label"] = pd.array(labels, dtype="Int64")
    df.loc[n - 2 :, "label"] = pd.NA
    df["status"] = np.where(rng.random(n) < 0.05, "no_face", "ok")
    skill = {"b1": 2.5, "xcep": 2.0, "r34": 1.0, "sf": 1.5}
    for model in MODELS:
        if model == "b3_empty":
            df[model] = np.nan
            continue
        logit = (2 * labels - 1) * skill[model] + rng.normal(0, 1.5, n)
        df[model] = 1 / (1 + np.exp(-logit))
    df.loc[rng.random(n) < 0.2, "sf"] = np.nan
    no_face = df["status"] == "no_face"
    df.loc[no_face, list(MODELS)] = np.nan
    present = df[["b1", "xcep", "r34", "sf"]]
    df.insert(3, "n_models", present.notna().sum(axis=1))
    b1_logit = np.log(df["b1"] / (1 - df["b1"]))
    df["seed_policy"] = present.mean(axis=1).clip(0.02, 0.98)
    df["mean"] = present.mean(axis=1)
    df["stacking"] = 1 / (1 + np.exp(-1.3 * b1_logit))
    df["stacking_t"] = 1 / (1 + np.exp(-0.8 * b1_logit))
    df.loc[no_face, list(COMBINERS)] = 0.5
    df["notes"] = np.where(no_face, "no face found", "")
    return df


def write_scores(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


def write_metrics_from_scores(path: Path, df: pd.DataFrame, splits=(None,)) -> Path:
    """metrics.csv as the ensemble writes it (context name, type, group, n_scored; missing
    model scores count as 0.5), optionally repeated with a split column."""
    rows = []
    df = df[df["label"].notna()]
    for split in splits:
        for name in [*MODELS, *COMBINERS]:
            labels = dict(zip(df["video"], df["label"].astype(int), strict=True))
            scores = dict(zip(df["video"], df[name].fillna(0.5), strict=True))
            kind = "combiner" if name in COMBINERS else "model"
            scored = df[name].notna()
            frames = None
            if kind == "model" and scored.any():
                frames = {
                    v: [s, s] for v, s in zip(df["video"][scored], df[name][scored], strict=True)
                }
            ctx = {"name": name, "type": kind, "group": "", "n_scored": int(scored.sum())}
            if split is not None:
                ctx["split"] = split
            rows += video_and_frame_metrics(labels, scores, frames, context=ctx)
    write_metrics_csv(path, rows)
    return path


def training_rows(n_iter: int, seed: int, val_every: int = 50) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for it in range(0, n_iter + 1, 10):
        row = {
            "iteration": it,
            "lr": 0.01 * (0.5 ** (it // 150)),
            "train_loss": 0.7 * np.exp(-it / 200) + 0.05 * rng.random(),
            "skipped_train": 0,
            "skipped_val": 0,
        }
        if it % val_every == 0 and it > 0:
            row["val_loss"] = 0.6 * np.exp(-it / 250) + 0.1 + 0.03 * rng.random()
            row["val_logloss"] = row["val_loss"] * 1.2
            row["val_auc"] = min(0.99, 0.5 + it / 800 + 0.02 * rng.random())
        rows.append({k: float(v) if k not in ("iteration",) else v for k, v in row.items()})
    return rows


def write_training(path: Path, rows: list[dict]) -> Path:
    write_training_csv(rows, path)
    return path


def write_part_manifest(path: Path, part: str, counts: dict[str, int]) -> Path:
    rows = []
    for status in STATUSES:
        for k in range(counts.get(status, 0)):
            rows.append(ManifestRow(part, f"{part}_{status}_{k}.mp4", k % 2, status, reason=""))
    write_manifest(path, rows)
    return path
