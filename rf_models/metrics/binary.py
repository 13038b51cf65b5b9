"""Binary detection metrics over P(FAKE) scores (1 = FAKE), safe on one-class sets."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

# Kaggle's DFDC scoring clipped predictions to [eps, 1 - eps] before the log loss.
LOG_LOSS_EPS = 1e-15

METRIC_KEYS = (
    "n",
    "n_fake",
    "n_real",
    "log_loss",
    "roc_auc",
    "average_precision",
    "eer",
    "accuracy",
    "reason",
)


def _inputs(y_true: Any, p_fake: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(p_fake, dtype=np.float64)
    if y.ndim != 1 or p.shape != y.shape:
        raise ValueError(
            f"expected 1-D labels and scores of the same length, found shapes {y.shape} and "
            f"{p.shape}"
        )
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"expected labels 0 (REAL) or 1 (FAKE), found {np.unique(y)[:5]}")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        bad = p[~((p >= 0.0) & (p <= 1.0))]
        raise ValueError(f"expected P(FAKE) scores in [0, 1], found {bad[:5]}")
    return y.astype(np.int64), p


def log_loss_clipped(y_true: Any, p_fake: Any, eps: float = LOG_LOSS_EPS) -> float:
    """Mean binary log loss with scores clipped to [eps, 1 - eps], as DFDC scored it."""
    y, p = _inputs(y_true, p_fake)
    if y.size == 0:
        raise ValueError("log loss needs at least one sample, found none")
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def equal_error_rate(y_true: Any, p_fake: Any) -> float:
    """The rate where the ROC curve meets fpr = 1 - tpr (false positives = misses),
    interpolated linearly between the ROC points either side. Needs both classes."""
    y, p = _inputs(y_true, p_fake)
    if np.unique(y).size < 2:
        raise ValueError("the equal error rate needs both classes, found one")
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=False)
    gap = (1.0 - tpr) - fpr  # from 1 at (0, 0) down to -1 at (1, 1), never increasing
    i = int(np.argmax(gap <= 0.0))
    if gap[i] == 0.0:
        return float(fpr[i])
    t = gap[i - 1] / (gap[i - 1] - gap[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def binary_metrics(y_true: Any, p_fake: Any) -> dict[str, Any]:
    """Log loss (clipped at 1e-15), ROC AUC, average precision, EER and accuracy with
    P(FAKE) > 0.5 read as FAKE.

    Metrics that a set cannot define are NaN and ``reason`` says why (empty set, one class);
    ``reason`` is "" otherwise.
    """
    y, p = _inputs(y_true, p_fake)
    n_fake = int(y.sum())
    out: dict[str, Any] = {
        "n": int(y.size),
        "n_fake": n_fake,
        "n_real": int(y.size) - n_fake,
        "log_loss": math.nan,
        "roc_auc": math.nan,
        "average_precision": math.nan,
        "eer": math.nan,
        "accuracy": math.nan,
        "reason": "",
    }
    if y.size == 0:
        out["reason"] = "no samples: every metric is undefined"
        return out
    out["log_loss"] = log_loss_clipped(y, p)
    out["accuracy"] = float(np.mean((p > 0.5) == (y == 1)))
    if out["n_fake"] == 0 or out["n_real"] == 0:
        out["reason"] = (
            f"one class only ({out['n_fake']} FAKE, {out['n_real']} REAL): roc_auc, "
            "average_precision and eer are undefined"
        )
        return out
    out["roc_auc"] = float(roc_auc_score(y, p))
    out["average_precision"] = float(average_precision_score(y, p))
    out["eer"] = equal_error_rate(y, p)
    return out
