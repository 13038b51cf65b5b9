"""Readers for the files the report plots, each checked against the format its writer uses.

- the ensemble's ``scores.csv`` (one row per video, one P(FAKE) column per model and
  combiner, NaN where a model gave no score);
- metrics CSVs written by :func:`rf_models.metrics.write_metrics_csv`;
- training ``metrics.csv`` written by :func:`rf_models.train.curves.write_metrics_csv`;
- per-part manifests (:mod:`rf_models.data.manifest`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rf_models.data.manifest import read_manifest, status_counts
from rf_models.infer.combiners import COMBINERS
from rf_models.metrics.binary import METRIC_KEYS
from rf_models.train.curves import COLUMNS as TRAIN_COLUMNS

# Columns of scores.csv that describe a video rather than score it.
SCORE_META_COLUMNS = frozenset(
    {"video", "label", "status", "n_models", "notes", "reason", "split", "part", "original"}
)
# The ensemble writes the model columns, then seed_policy, then the other combiners.
SEED_COLUMN = "seed_policy"
# The first of these that a metrics CSV has names its rows (the model or the combiner), and
# the first of KIND_COLUMNS says which of the two a row is.
NAME_COLUMNS = ("name", "model", "combiner", "scorer", "column")
KIND_COLUMNS = ("type", "kind")
REQUIRED_METRICS = ("level", "n", "n_fake", "n_real", "log_loss", "roc_auc")


def _need_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: expected a file at {path}, found none")
    return path


def _read_csv(path: Path, what: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path}: expected a {what} with a header line, found an empty file"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: could not parse the {what}: {err}") from None


def is_combiner(name: str) -> bool:
    """A combiner column: one of COMBINERS, or one of them with a suffix such as
    ``+temperature`` (calibrated variants)."""
    return any(name == c or re.match(rf"{re.escape(c)}[+_]", name) for c in COMBINERS)


@dataclass(frozen=True)
class Scores:
    """Per-video scores: ``columns[name][i]`` is P(FAKE) of video ``videos[i]`` by the model
    or combiner ``name`` (NaN = no score); ``labels[i]`` is 1 (FAKE), 0 (REAL) or NaN
    (unlabelled)."""

    path: Path
    videos: tuple[str, ...]
    labels: np.ndarray
    status: tuple[str, ...] | None
    columns: dict[str, np.ndarray]

    @property
    def combiners(self) -> tuple[str, ...]:
        """``seed_policy`` and every column after it (the ensemble's order); without a
        ``seed_policy`` column, the columns named like a combiner."""
        names = list(self.columns)
        if SEED_COLUMN in names:
            return tuple(names[names.index(SEED_COLUMN) :])
        return tuple(c for c in names if is_combiner(c))

    @property
    def models(self) -> tuple[str, ...]:
        combiners = set(self.combiners)
        return tuple(c for c in self.columns if c not in combiners)

    @property
    def labelled(self) -> np.ndarray:
        return ~np.isnan(self.labels)


def read_scores(path: str | os.PathLike) -> Scores:
    """Read the ensemble's scores.csv. Score columns are the floating-point columns other
    than the video's own fields; each must hold P(FAKE) in [0, 1] or NaN."""
    path = _need_file(path, "scores")
    df = _read_csv(path, "scores CSV", dtype={"video": str, "status": str})
    missing = [c for c in ("video", "label") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: expected scores columns video, label, <P(FAKE) per model and combiner>; "
            f"missing {missing}, found {list(df.columns)}"
        )
    labels = pd.to_numeric(df["label"], errors="coerce").to_numpy(dtype=np.float64)
    bad = df["label"].notna().to_numpy() & ~np.isin(labels, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{path}: expected label 1 (FAKE), 0 (REAL) or empty, found "
            f"{df['label'][bad].astype(str).unique()[:5].tolist()}"
        )
    columns: dict[str, np.ndarray] = {}
    for name in df.columns:
        if name in SCORE_META_COLUMNS or not pd.api.types.is_float_dtype(df[name]):
            continue
        values = df[name].to_numpy(dtype=np.float64)
        known = values[~np.isnan(values)]
        if np.any((known < 0.0) | (known > 1.0)):
            outside = known[(known < 0.0) | (known > 1.0)]
            raise ValueError(
                f"{path}: column {name!r}: expected P(FAKE) in [0, 1] or empty, found "
                f"{outside[:5].tolist()}"
            )
        columns[name] = values
    status = tuple(df["status"].fillna("").astype(str)) if "status" in df.columns else None
    return Scores(path, tuple(df["video"].astype(str)), labels, status, columns)


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """Read a metrics CSV (one row per model or combiner and level). ``reason`` is "" where
    empty; the metric columns are numeric (NaN where undefined)."""
    path = _need_file(path, "metrics")
    if not path.read_text().strip():
        # what write_metrics_csv writes for no rows (e.g. a split without labels)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (*REQUIRED_METRICS, "reason")})
    df = _read_csv(path, "metrics CSV")
    missing = [c for c in REQUIRED_METRICS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: expected metrics columns {list(REQUIRED_METRICS)} (and a name column, "
            f"one of {list(NAME_COLUMNS)}); missing {missing}, found {list(df.columns)}"
        )
    for col in METRIC_KEYS:
        if col == "reason" or col not in df.columns:
            continue
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise ValueError(
                f"{path}: column {col!r}: expected numbers (NaN where undefined), found "
                f"{df[col].head(3).tolist()}"
            )
    df["level"] = df["level"].astype(str)
    if "reason" in df.columns:
        df["reason"] = df["reason"].astype(object).where(df["reason"].notna(), "").astype(str)
    else:
        df["reason"] = ""
    return df


def metrics_name_column(df: pd.DataFrame, path: str | os.PathLike = "metrics") -> str:
    for name in NAME_COLUMNS:
        if name in df.columns:
            return name
    raise ValueError(
        f"{path}: expected a column naming each row's model or combiner, one of "
        f"{list(NAME_COLUMNS)}; found {list(df.columns)}"
    )


def metrics_kind_column(df: pd.DataFrame) -> str | None:
    return next((c for c in KIND_COLUMNS if c in df.columns), None)


def read_training_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """Read one model's training metrics.csv (empty cells, values not measured, as NaN)."""
    path = _need_file(path, "training metrics")
    df = _read_csv(path, "training metrics CSV")
    missing = [c for c in TRAIN_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: expected training metrics columns {list(TRAIN_COLUMNS)}; missing "
            f"{missing}, found {list(df.columns)}"
        )
    if df.empty:  # a header only: training has not logged yet
        return df.astype({c: np.float64 for c in TRAIN_COLUMNS})
    for col in TRAIN_COLUMNS:
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise ValueError(
                f"{path}: column {col!r}: expected numbers or empty cells, found "
                f"{df[col].head(3).tolist()}"
            )
    return df.sort_values("iteration", kind="stable").reset_index(drop=True)


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def read_manifest_counts(manifests: list[str | os.PathLike]) -> list[tuple[str, dict[str, int]]]:
    """(part, status counts) per manifest, in natural part order (part_2 before part_10).

    The part is the one its rows name, or the file's stem for a manifest with no rows; a
    manifest whose rows name several parts is an error.
    """
    out = []
    seen: dict[str, Path] = {}
    for path in manifests:
        path = _need_file(path, "manifest")
        rows = read_manifest(path)
        parts = sorted({r.part for r in rows})
        if len(parts) > 1:
            raise ValueError(f"{path}: expected the rows of one part, found parts {parts}")
        part = parts[0] if parts else path.stem
        if part in seen:
            raise ValueError(f"{path}: part {part!r} is also the part of {seen[part]}")
        seen[part] = path
        out.append((part, status_counts(rows)))
    return sorted(out, key=lambda item: _natural_key(item[0]))
