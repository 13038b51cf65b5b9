"""Bootstrap intervals: the vectorised metrics equal binary_metrics; intervals behave."""

import math

import numpy as np
import pytest

from rf_models.metrics import binary_metrics
from rf_models.metrics.bootstrap import (
    CI_METRICS,
    bootstrap_intervals,
    ci_columns,
    metrics_by_row,
)
from rf_models.metrics.tables import video_and_frame_metrics


def test_vectorised_metrics_equal_binary_metrics_row_by_row_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 40))
        y = (rng.random(n) < 0.6).astype(int)
        y[:2] = [0, 1]
        p = np.round(rng.random(n), int(rng.integers(0, 3)))  # 0 decimals: many ties
        expected = binary_metrics(y, p)
        got = metrics_by_row(y[None], p[None])
        for m in CI_METRICS:
            assert got[m][0] == pytest.approx(expected[m], abs=1e-12), (m, y, p)


def test_intervals_contain_the_estimate_and_shrink_with_more_videos():
    rng = np.random.default_rng(1)

    def sample(n):
        y = (rng.random(n) < 0.6).astype(int)
        return y, np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)

    widths = []
    for n in (40, 400):
        y, p = sample(n)
        point, ci = binary_metrics(y, p), bootstrap_intervals(y, p)
        for m in CI_METRICS:
            low, high = (ci[c] for c in ci_columns(m))
            assert low <= point[m] <= high, m
        widths.append(ci["roc_auc_ci_high"] - ci["roc_auc_ci_low"])
    assert widths[1] < widths[0] / 2


def test_a_perfect_ranking_has_a_degenerate_auc_interval_and_the_seed_fixes_the_result():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.7, 0.8, 0.9])
    ci = bootstrap_intervals(y, p)
    assert ci["roc_auc_ci_low"] == ci["roc_auc_ci_high"] == 1.0
    assert ci == bootstrap_intervals(y, p)
    assert bootstrap_intervals(y, np.array([0.6, 0.2, 0.7, 0.3, 0.9]), seed=1) != (
        bootstrap_intervals(y, np.array([0.6, 0.2, 0.7, 0.3, 0.9]), seed=2)
    )


@pytest.mark.parametrize("y", [[], [1, 1, 1]])
def test_no_interval_without_both_classes(y):
    ci = bootstrap_intervals(y, [0.5] * len(y))
    assert all(math.isnan(v) for v in ci.values()) and len(ci) == 2 * len(CI_METRICS)


def test_bad_arguments():
    with pytest.raises(ValueError, match="replicates >= 1"):
        bootstrap_intervals([0, 1], [0.1, 0.9], replicates=0)
    with pytest.raises(ValueError, match="0 < level < 1"):
        bootstrap_intervals([0, 1], [0.1, 0.9], level=1.0)


def test_video_rows_carry_intervals_frame_rows_do_not():
    labels = {"a": 0, "b": 1, "c": 1, "d": 0}
    scores = {"a": 0.2, "b": 0.7, "c": 0.4, "d": 0.5}
    frames = {"a": [0.1, 0.3], "b": [0.8], "c": [0.4], "d": [0.5]}
    video, frame = video_and_frame_metrics(labels, scores, frames)
    for m in CI_METRICS:
        low, high = ci_columns(m)
        assert video[low] <= video[m] <= video[high]
        assert low not in frame
