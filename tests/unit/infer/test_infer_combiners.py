"""Combiners beyond the seed: mean, stacking (out-of-fold), temperature calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import log_loss, roc_auc_score

from rf_models.config import ConfigError
from rf_models.infer.combiners import (
    CalibratedCombiner,
    MeanCombiner,
    PolicyCombiner,
    ScoreTable,
    StackingCombiner,
    TemperatureCalibrator,
    combiner_from_json,
    load_combiner,
    make_combiner,
    save_combiner,
)
from rf_models.infer.policy import EnsemblePolicy
from tests.support.seed_config import policy_config

SEED = EnsemblePolicy.from_config(policy_config())


def synthetic(n: int = 200, seed: int = 0) -> tuple[ScoreTable, np.ndarray]:
    """Two informative models, one pure noise, one informative but often missing."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    sign = 2.0 * y - 1.0
    good1 = expit(2.0 * sign + rng.normal(0, 1.0, n))
    good2 = expit(1.5 * sign + rng.normal(0, 1.5, n))
    noise = rng.uniform(0, 1, n)
    sparse = expit(2.0 * sign + rng.normal(0, 1.0, n))
    sparse[rng.uniform(0, 1, n) < 0.3] = np.nan
    values = np.column_stack([good1, good2, noise, sparse])
    ids = tuple(f"v{i:03d}" for i in range(n))
    return ScoreTable(ids, ("xcep", "b1", "b0", "sf"), values), y


# --- ScoreTable ---------------------------------------------------------------------------


def test_score_table_from_nested_marks_missing_as_nan():
    t = ScoreTable.from_nested({"a": {"v2": 0.2, "v1": 0.4}, "b": {"v1": 0.6, "v3": None}})
    assert t.video_ids == ("v1", "v2", "v3") and t.models == ("a", "b")
    np.testing.assert_array_equal(t.values, [[0.4, 0.6], [0.2, np.nan], [np.nan, np.nan]])
    assert t.row(1) == {"a": 0.2}
    t2 = ScoreTable.from_nested({"a": {"v1": 0.4}}, video_ids=["v9", "v1"], models=["b", "a"])
    np.testing.assert_array_equal(t2.values, [[np.nan, np.nan], [np.nan, 0.4]])


@pytest.mark.parametrize(
    "ids, models, values, words",
    [
        (("v1",), ("a",), [[0.5, 0.5]], "shape"),
        (("v1", "v1"), ("a",), [[0.5], [0.5]], "unique video ids"),
        (("v1",), ("a", "a"), [[0.5, 0.5]], "unique models"),
        (("v1",), ("a",), [[1.5]], r"\[0, 1\]"),
    ],
)
def test_score_table_refuses_bad_tables(ids, models, values, words):
    with pytest.raises(ValueError, match=words):
        ScoreTable(ids, models, np.array(values))


# --- mean and seed policy -----------------------------------------------------------------


def test_mean_combiner_averages_available_scores():
    t = ScoreTable(
        ("v1", "v2", "v3"),
        ("a", "b", "c"),
        np.array([[0.2, 0.4, np.nan], [np.nan, np.nan, np.nan], [0.9, 0.6, 0.3]]),
    )
    # v1: (0.2+0.4)/2 = 0.3; v2: no score -> 0.5; v3: (0.9+0.6+0.3)/3 = 0.6
    np.testing.assert_allclose(MeanCombiner(0.5).predict(t), [0.3, 0.5, 0.6])
    np.testing.assert_allclose(MeanCombiner(0.2).fit(t, [0, 1, 1]).predict(t)[1], 0.2)


def test_policy_combiner_applies_the_seed_policy_per_row():
    t = ScoreTable.from_nested(
        {
            "xcep": {"v1": 0.9, "v2": 0.1},
            "b3": {"v1": 0.85},
            "r34": {"v1": 0.95},
            "b1": {"v1": 0.9},
            "b1long": {"v1": 0.82},
            "b1short": {"v1": 0.3},
            "b0": {"v1": 0.5},
        }
    )
    # v1: 5 of 7 image models > 0.8 -> (9 + 5.1 + 3.8 + 9 + 6.56)/38 = 33.46/38 (image only)
    # v2: xcep alone, 0.1 < 0.2 -> 0.1
    np.testing.assert_allclose(PolicyCombiner(SEED).predict(t), [33.46 / 38, 0.1])
    unknown = ScoreTable(("v1",), ("resnet",), np.array([[0.5]]))
    with pytest.raises(ValueError, match="expected a model of"):
        PolicyCombiner(SEED).predict(unknown)


# --- stacking -------------------------------------------------------------------------------


def test_stacking_beats_chance_out_of_fold():
    t, y = synthetic()
    stack = StackingCombiner(cv_folds=5, seed=0)
    oof = stack.fit_predict(t, y)
    assert roc_auc_score(y, oof) > 0.9
    assert log_loss(y, oof) < 0.5 < np.log(2)  # chance is log 2 = 0.693
    # The noise model gets a much smaller weight than the informative ones.
    coef = dict(zip(stack.models_, stack.coef_, strict=True))
    assert abs(coef["b0"]) < 0.5 * min(coef["xcep"], coef["b1"])


def test_stacking_out_of_fold_differs_from_in_sample_and_is_deterministic():
    t, y = synthetic()
    a = StackingCombiner(seed=3)
    oof = a.fit_predict(t, y)
    in_sample = a.predict(t)
    assert np.max(np.abs(oof - in_sample)) > 1e-3
    np.testing.assert_array_equal(a.oof_predictions_, oof)
    np.testing.assert_array_equal(StackingCombiner(seed=3).fit_predict(t, y), oof)
    assert not np.array_equal(StackingCombiner(seed=4).fit_predict(t, y), oof)


def test_stacking_json_round_trip_and_imputation():
    t, y = synthetic()
    stack = StackingCombiner(seed=1).fit(t, y)
    back = combiner_from_json(json.loads(json.dumps(stack.to_json())))
    assert isinstance(back, StackingCombiner)
    np.testing.assert_array_equal(back.predict(t), stack.predict(t))
    # A model absent at prediction time is imputed 0.5, as if every score of it were missing.
    without_sf = ScoreTable(t.video_ids, t.models[:3], t.values[:, :3])
    all_nan = ScoreTable(
        t.video_ids, t.models, np.column_stack([t.values[:, :3], np.full(200, np.nan)])
    )
    np.testing.assert_allclose(stack.predict(without_sf), stack.predict(all_nan))


def test_stacking_refuses_bad_fits():
    t, y = synthetic(n=20)
    with pytest.raises(ValueError, match="both classes"):
        StackingCombiner().fit(t, np.zeros(20))
    with pytest.raises(ValueError, match="at least 2 videos of each class"):
        StackingCombiner().fit(t, np.r_[1, np.zeros(19)])
    with pytest.raises(ValueError, match="20 labels"):
        StackingCombiner().fit(t, y[:10])
    with pytest.raises(ValueError, match="labels 0"):
        StackingCombiner().fit(t, y * 2)
    with pytest.raises(ValueError, match="before fit"):
        StackingCombiner().predict(t)
    bad = StackingCombiner().fit(t, y).to_json()
    bad["coef"] = bad["coef"][:2]
    with pytest.raises(ValueError, match="coefficients"):
        StackingCombiner.from_json(bad)
    bad_params = StackingCombiner().fit(t, y).to_json()
    bad_params["params"]["alpha"] = 1
    with pytest.raises(ValueError, match="params"):
        StackingCombiner.from_json(bad_params)


def test_stacking_uses_fewer_folds_for_a_small_class():
    t, y = synthetic(n=20)
    y = np.zeros(20, dtype=int)
    y[:3] = 1  # 3 FAKE: 3 folds, not 5
    oof = StackingCombiner(cv_folds=5).fit_predict(t, y)
    assert oof.shape == (20,) and np.all((oof > 0) & (oof < 1))


# --- temperature --------------------------------------------------------------------------


def overconfident(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z), reported scores sigmoid(4 z): a true temperature of 4."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    y = (rng.uniform(0, 1, n) < expit(z)).astype(int)
    return expit(4.0 * z), y


def test_temperature_lowers_log_loss_of_overconfident_scores():
    p, y = overconfident()
    cal = TemperatureCalibrator().fit(p, y)
    assert 3.0 < cal.temperature < 5.0
    before, after = log_loss(y, p), log_loss(y, cal.transform(p))
    assert after < before - 0.1
    back = TemperatureCalibrator.from_json(json.loads(json.dumps(cal.to_json())))
    np.testing.assert_array_equal(back.transform(p), cal.transform(p))


def test_temperature_refuses_bad_inputs():
    with pytest.raises(ValueError, match="scores in"):
        TemperatureCalibrator().fit([0.2, 1.5], [0, 1])
    with pytest.raises(ValueError, match="both classes"):
        TemperatureCalibrator().fit([0.2, 0.7], [1, 1])
    with pytest.raises(ValueError, match="bounds"):
        TemperatureCalibrator(bounds=(2.0, 1.0))


def test_calibrated_combiner_from_config_and_json(tmp_path):
    p, y = overconfident(n=600)
    t = ScoreTable(tuple(f"v{i}" for i in range(600)), ("xcep",), p[:, None])
    plain = make_combiner({"type": "mean"}, SEED)
    calibrated = make_combiner(
        {"type": "mean", "calibration": "temperature", "cv_folds": 4, "seed": 2}, SEED
    )
    assert isinstance(calibrated, CalibratedCombiner) and calibrated.name == "mean+temperature"
    oof = calibrated.fit_predict(t, y)
    assert log_loss(y, oof) < log_loss(y, plain.fit_predict(t, y)) - 0.1
    # Cross-fitted temperatures differ from the single one fitted on every video.
    assert not np.allclose(oof, calibrated.predict(t))
    save_combiner(tmp_path / "combiner.json", calibrated)
    back = load_combiner(tmp_path / "combiner.json")
    np.testing.assert_array_equal(back.predict(t), calibrated.predict(t))
    assert [f.name for f in tmp_path.iterdir()] == ["combiner.json"]


def test_make_combiner_by_type():
    policy = EnsemblePolicy.from_config(policy_config(default_score=0.3))
    mean = make_combiner({"type": "mean"}, policy)
    assert isinstance(mean, MeanCombiner) and mean.default_score == 0.3
    seed = make_combiner({"type": "seed_policy"}, policy)
    assert seed.policy == policy
    assert combiner_from_json(seed.to_json()).policy == seed.policy
    stack = make_combiner({"type": "stacking", "C": 0.5, "cv_folds": 3, "seed": 7}, policy)
    assert (stack.C, stack.cv_folds, stack.seed, stack.max_iter) == (0.5, 3, 7, 1000)


@pytest.mark.parametrize(
    "cfg, words",
    [
        ({"type": "median"}, "ensemble.combiners.x.type: 'median' is not one of"),
        ({}, "ensemble.combiners.x: 'type' is a required property"),
        ({"type": "mean", "C": 1.0}, "ensemble.combiners.x: {'type': 'mean', 'C': 1.0} should not"),
        ({"type": "stacking", "calibration": "platt"}, "calibration: 'platt' is not one of"),
        ({"type": "stacking", "cv_folds": 1}, "cv_folds: 1 is less than the minimum of 2"),
        ({"type": "stacking", "logit_eps": 0.5}, "logit_eps: 0.5 is greater than or equal"),
        ({"type": "mean", "policy": {}}, "ensemble.combiners.x.policy: unknown key"),
    ],
)
def test_make_combiner_refuses_bad_configs_naming_the_key(cfg, words):
    with pytest.raises(ConfigError) as err:
        make_combiner(cfg, SEED, "ensemble.combiners.x")
    assert words in str(err.value)


def test_load_combiner_refuses_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load_combiner(bad)
    bad.write_text(json.dumps({"type": "median"}))
    with pytest.raises(ValueError, match="bad.json.*expected type among"):
        load_combiner(bad)
    bad.write_text(json.dumps({"type": "mean"}))
    with pytest.raises(ValueError, match="default_score"):
        load_combiner(bad)
