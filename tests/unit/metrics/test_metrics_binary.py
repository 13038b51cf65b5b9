"""Binary metrics against scikit-learn, EER on hand-made ROC curves, one-class safety."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, log_loss, roc_auc_score

from rf_models.metrics import METRIC_KEYS, binary_metrics, equal_error_rate, log_loss_clipped


def test_binary_metrics_match_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.25, 500), 0.001, 0.999)
    m = binary_metrics(y, p)
    assert tuple(m) == METRIC_KEYS
    assert (m["n"], m["n_fake"], m["n_real"]) == (500, int(y.sum()), 500 - int(y.sum()))
    assert m["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-12)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert m["average_precision"] == pytest.approx(average_precision_score(y, p), rel=1e-12)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p > 0.5), rel=1e-12)
    assert 0.0 < m["eer"] < 0.5
    assert m["reason"] == ""


def test_log_loss_clips_at_1e15_like_dfdc():
    # FAKE scored 0: clipped to 1e-15, costs -ln(1e-15) = 15 ln 10 = 34.538776394910684
    assert log_loss_clipped([1], [0.0]) == pytest.approx(15 * math.log(10), rel=1e-12)
    # REAL scored 1: clipped to the double nearest 1 - 1e-15, which is 1 - 9.992e-16, so it
    # costs -ln(9.992007221626409e-16) = 34.539576..., as numpy computed it for Kaggle.
    assert log_loss_clipped([0], [1.0]) == pytest.approx(-math.log(1 - (1 - 1e-15)), rel=1e-12)
    assert log_loss_clipped([0], [1.0]) == pytest.approx(34.53957599234088, rel=1e-12)
    # Fully right and certain: -log(1 - 1e-15) ~ 1e-15
    assert log_loss_clipped([1, 0], [1.0, 0.0]) == pytest.approx(1e-15, rel=1e-3)
    # The all-0.5 submission scores log 2 = 0.6931...
    assert log_loss_clipped([1, 0, 1], [0.5, 0.5, 0.5]) == pytest.approx(math.log(2))


def test_accuracy_reads_exactly_half_as_real():
    # 0.5 is not > 0.5: predicted REAL, right for y=0 and wrong for y=1.
    assert binary_metrics([0, 1], [0.5, 0.5])["accuracy"] == 0.5
    assert binary_metrics([0, 1], [0.5, 0.51])["accuracy"] == 1.0


def test_eer_interpolates_inside_a_tied_segment():
    # REAL scores 0.1, 0.2, 0.6, 0.6; FAKE scores 0.6, 0.6, 0.8, 0.9.
    # ROC points: (fpr, tpr) = (0, 0), (0, .25), (0, .5), then the tie at 0.6 takes 2 REAL
    # and 2 FAKE at once -> (.5, 1), then (.75, 1), (1, 1).
    # fnr - fpr: 1, .75, .5, -.5 -> crosses 0 halfway along (0, .5) -> (.5, 1):
    # fpr = 0.25, tpr = 0.75, fnr = 0.25 -> EER = 0.25 (the nearest ROC point would say 0.5).
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    p = [0.1, 0.2, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9]
    assert equal_error_rate(y, p) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "p, expected",
    [
        ([0.1, 0.6, 0.4, 0.9], 0.5),  # ROC (0,.5) -> (.5,.5): fnr = fpr = 0.5 at a point
        ([0.1, 0.2, 0.8, 0.9], 0.0),  # separable
        ([0.9, 0.8, 0.2, 0.1], 1.0),  # inverted
        ([0.5, 0.5, 0.5, 0.5], 0.5),  # no information: the diagonal
    ],
)
def test_eer_hand_cases(p, expected):
    assert equal_error_rate([0, 0, 1, 1], p) == pytest.approx(expected)


def test_one_class_is_nan_with_a_reason_never_a_crash():
    m = binary_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert math.isnan(m["roc_auc"]) and math.isnan(m["average_precision"]) and math.isnan(m["eer"])
    assert "one class only (3 FAKE, 0 REAL)" in m["reason"]
    # -(ln 0.9 + ln 0.2 + ln 0.7)/3 and 2 of 3 right
    assert m["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.2) + math.log(0.7)) / 3)
    assert m["accuracy"] == pytest.approx(2 / 3)
    real_only = binary_metrics([0], [0.3])
    assert math.isnan(real_only["roc_auc"]) and "0 FAKE, 1 REAL" in real_only["reason"]
    with pytest.raises(ValueError, match="both classes"):
        equal_error_rate([1, 1], [0.2, 0.3])


def test_empty_set_is_all_nan_with_a_reason():
    m = binary_metrics([], [])
    assert m["n"] == 0 and "no samples" in m["reason"]
    assert all(math.isnan(m[k]) for k in ("log_loss", "roc_auc", "average_precision", "eer"))
    with pytest.raises(ValueError, match="at least one sample"):
        log_loss_clipped([], [])


@pytest.mark.parametrize(
    "y, p, words",
    [
        ([0, 1], [0.5], "same length"),
        ([[0, 1]], [[0.5, 0.5]], "1-D"),
        ([0, 2], [0.5, 0.5], "labels 0"),
        ([0, 1], [0.5, np.nan], r"scores in \[0, 1\]"),
        ([0, 1], [0.5, 1.2], r"scores in \[0, 1\]"),
    ],
)
def test_bad_inputs_are_refused(y, p, words):
    with pytest.raises(ValueError, match=words):
        binary_metrics(y, p)
