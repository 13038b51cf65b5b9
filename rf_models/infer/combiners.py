"""Ways to turn per-model video scores into one score, beyond the seed's policy.

All combiners read a :class:`ScoreTable` (videos x models, NaN = the model gave no score),
are deterministic for a given seed, and serialise to plain JSON (no pickle):

- ``seed_policy``: the seed's group rule and weights (:mod:`rf_models.infer.policy`);
- ``mean``: the plain mean of the available scores;
- ``stacking``: logistic regression on logit scores, fitted on the validation split with
  k-fold cross-validation so the validation predictions it reports are out-of-fold;
- any of them with ``calibration: temperature``: one temperature fitted on the combiner's
  (out-of-fold) validation logits.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from rf_models.config import validate_section
from rf_models.infer.policy import EnsemblePolicy, ensemble_video
from rf_models.io_utils import atomic_write_text

COMBINERS = ("seed_policy", "mean", "stacking")
CALIBRATIONS = ("none", "temperature")


@dataclass(frozen=True)
class ScoreTable:
    """Per-model video scores: ``values[i, j]`` is model ``models[j]``'s P(FAKE) for video
    ``video_ids[i]``, NaN where the model gave none."""

    video_ids: tuple[str, ...]
    models: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        expected = (len(self.video_ids), len(self.models))
        if values.shape != expected:
            raise ValueError(
                f"score table: expected values of shape {expected}, found {values.shape}"
            )
        for what, names in (("video ids", self.video_ids), ("models", self.models)):
            if len(set(names)) != len(names):
                raise ValueError(f"score table: expected unique {what}, found {list(names)}")
        known = values[~np.isnan(values)]
        if not np.all((known >= 0.0) & (known <= 1.0)):
            bad = known[(known < 0.0) | (known > 1.0)]
            raise ValueError(f"score table: expected scores in [0, 1] or NaN, found {bad[:5]}")
        values.setflags(write=False)
        object.__setattr__(self, "video_ids", tuple(self.video_ids))
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "values", values)

    @classmethod
    def from_nested(
        cls,
        per_model: Mapping[str, Mapping[str, float | None]],
        video_ids: Iterable[str] | None = None,
        models: Iterable[str] | None = None,
    ) -> ScoreTable:
        """From ``per_model[model][video_id] = score`` (None or absent = no score). Videos
        default to every video any model scored, sorted; models to ``per_model``'s order."""
        models = tuple(per_model if models is None else models)
        if video_ids is None:
            video_ids = sorted({v for scores in per_model.values() for v in scores})
        video_ids = tuple(video_ids)
        values = np.full((len(video_ids), len(models)), np.nan)
        for j, model in enumerate(models):
            scores = per_model.get(model, {})
            for i, vid in enumerate(video_ids):
                score = scores.get(vid)
                if score is not None:
                    values[i, j] = score
        return cls(video_ids, models, values)

    def row(self, i: int) -> dict[str, float]:
        """Video ``i``'s available scores by model."""
        return {
            m: float(v)
            for m, v in zip(self.models, self.values[i], strict=True)
            if not math.isnan(v)
        }


def _labels(y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise ValueError(f"expected {n} labels (one per video), found shape {arr.shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"expected labels 0 (REAL) or 1 (FAKE), found {np.unique(arr)[:5]}")
    counts = np.bincount(arr.astype(np.int64), minlength=2)
    if counts.min() == 0:
        raise ValueError(f"fitting needs both classes, found {counts[0]} REAL and {counts[1]} FAKE")
    return arr.astype(np.int64)


def _folds(y: np.ndarray, cv_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds; fewer than asked when the smaller class is too small for them."""
    k = min(cv_folds, int(np.bincount(y, minlength=2).min()))
    if k < 2:
        raise ValueError(
            f"cross-validation needs at least 2 videos of each class, found "
            f"{np.bincount(y, minlength=2).tolist()} (REAL, FAKE)"
        )
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(y, y))


def _to_logit(p: np.ndarray, eps: float) -> np.ndarray:
    return logit(np.clip(p, eps, 1.0 - eps))


def _check_keys(d: Mapping[str, Any], expected: set[str], what: str) -> None:
    if not isinstance(d, Mapping) or set(d) != expected:
        found = sorted(d) if isinstance(d, Mapping) else d
        raise ValueError(f"{what}: expected keys {sorted(expected)}, found {found}")


class Combiner(ABC):
    """Per-model video scores -> one P(FAKE) per video."""

    name: ClassVar[str]

    def fit(self, table: ScoreTable, y: Any) -> Combiner:
        """Fit on labelled videos (1 = FAKE); a no-op for combiners without parameters."""
        _labels(y, len(table.video_ids))
        return self

    @abstractmethod
    def predict(self, table: ScoreTable) -> np.ndarray: ...

    def fit_predict(self, table: ScoreTable, y: Any) -> np.ndarray:
        """Fit, then the predictions to report for the fitting videos (out-of-fold where the
        combiner learns from them)."""
        return self.fit(table, y).predict(table)

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...


class MeanCombiner(Combiner):
    name = "mean"

    def __init__(self, default_score: float) -> None:
        self.default_score = float(default_score)  # the policy's, for a video no model scored

    def predict(self, table: ScoreTable) -> np.ndarray:
        values = table.values
        counts = np.count_nonzero(~np.isnan(values), axis=1)
        sums = np.nansum(values, axis=1)
        out = np.full(len(values), self.default_score)
        np.divide(sums, counts, out=out, where=counts > 0)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "default_score": self.default_score}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MeanCombiner:
        _check_keys(d, {"type", "default_score"}, "mean combiner JSON")
        return cls(d["default_score"])


class PolicyCombiner(Combiner):
    """The seed's policy applied to per-model video scores (already face-combined and shrunk)."""

    name = "seed_policy"

    def __init__(self, policy: EnsemblePolicy) -> None:
        self.policy = policy

    def predict(self, table: ScoreTable) -> np.ndarray:
        return np.array(
            [ensemble_video(table.row(i), self.policy) for i in range(len(table.values))]
        )

    def to_json(self) -> dict[str, Any]:
        return {"type": self.name, "policy": self.policy.to_config()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PolicyCombiner:
        _check_keys(d, {"type", "policy"}, "seed_policy combiner JSON")
        return cls(EnsemblePolicy.from_config(d["policy"], "seed_policy combiner JSON"))


class StackingCombiner(Combiner):
    """Logistic regression on logit(score) per model, a missing score imputed as 0.5.

    ``fit`` keeps the model fitted on every video plus the out-of-fold predictions of
    ``cv_folds`` stratified folds (``oof_predictions_``), which ``fit_predict`` returns.
    """

    name = "stacking"

    def __init__(
        self,
        cv_folds: int = 5,
        C: float = 1.0,
        seed: int = 0,
        logit_eps: float = 1e-6,
        max_iter: int = 1000,
    ) -> None:
        self.cv_folds, self.C, self.seed = cv_folds, float(C), int(seed)
        self.logit_eps, self.max_iter = float(logit_eps), int(max_iter)
        self.models_: tuple[str, ...] | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: float | None = None
        self.oof_predictions_: np.ndarray | None = None

    def _features(self, table: ScoreTable, models: tuple[str, ...]) -> np.ndarray:
        cols = {m: j for j, m in enumerate(table.models)}
        x = np.full((len(table.video_ids), len(models)), 0.5)
        for k, model in enumerate(models):
            if model in cols:
                x[:, k] = table.values[:, cols[model]]
        x[np.isnan(x)] = 0.5
        return _to_logit(x, self.logit_eps)

    def _regression(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed)

    def fit(self, table: ScoreTable, y: Any) -> StackingCombiner:
        y = _labels(y, len(table.video_ids))
        if not table.models:
            raise ValueError("stacking: the score table has no model columns to fit on")
        x = self._features(table, table.models)
        oof = np.empty(len(y))
        for train, test in _folds(y, self.cv_folds, self.seed):
            oof[test] = self._regression().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        final = self._regression().fit(x, y)
        self.models_ = table.models
        self.coef_ = final.coef_[0].astype(np.float64)
        self.intercept_ = float(final.intercept_[0])
        self.oof_predictions_ = oof
        return self

    def fit_predict(self, table: ScoreTable, y: Any) -> np.ndarray:
        return self.fit(table, y).oof_predictions_.copy()

    def predict(self, table: ScoreTable) -> np.ndarray:
        if self.coef_ is None:
            raise ValueError("stacking: predict called before fit")
        return expit(self._features(table, self.models_) @ self.coef_ + self.intercept_)

    def to_json(self) -> dict[str, Any]:
        if self.coef_ is None:
            raise ValueError("stacking: to_json called before fit")
        return {
            "type": self.name,
            "params": {
                "cv_folds": self.cv_folds,
                "C": self.C,
                "seed": self.seed,
                "logit_eps": self.logit_eps,
                "max_iter": self.max_iter,
            },
            "models": list(self.models_),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StackingCombiner:
        _check_keys(d, {"type", "params", "models", "coef", "intercept"}, "stacking JSON")
        params = {"cv_folds", "C", "seed", "logit_eps", "max_iter"}
        _check_keys(d["params"], params, "stacking JSON params")
        out = cls(**d["params"])
        coef = np.asarray(d["coef"], dtype=np.float64)
        if coef.shape != (len(d["models"]),) or not np.all(np.isfinite(coef)):
            raise ValueError(
                f"stacking JSON: expected {len(d['models'])} finite coefficients (one per "
                f"model), found {d['coef']!r}"
            )
        out.models_ = tuple(d["models"])
        out.coef_ = coef
        out.intercept_ = float(d["intercept"])
        return out


class TemperatureCalibrator:
    """p -> sigmoid(logit(p) / T), with T fitted by minimising log loss (bounded 1-D search
    over log T)."""

    def __init__(
        self, temperature: float = 1.0, logit_eps: float = 1e-6, bounds: tuple = (0.01, 100.0)
    ) -> None:
        if not (0 < bounds[0] < bounds[1] and temperature > 0 and 0 < logit_eps < 0.5):
            raise ValueError(
                "temperature calibrator: expected 0 < bounds[0] < bounds[1], temperature > 0 "
                f"and 0 < logit_eps < 0.5, found {bounds}, {temperature}, {logit_eps}"
            )
        self.temperature = float(temperature)
        self.logit_eps = float(logit_eps)
        self.bounds = (float(bounds[0]), float(bounds[1]))

    def _logits(self, p: Any) -> np.ndarray:
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim != 1 or not np.all((arr >= 0.0) & (arr <= 1.0)):
            raise ValueError("temperature calibrator: expected a 1-D array of scores in [0, 1]")
        return _to_logit(arr, self.logit_eps)

    def fit(self, p: Any, y: Any) -> TemperatureCalibrator:
        z = self._logits(p)
        y = _labels(y, len(z)).astype(np.float64)

        def loss(log_t: float) -> float:
            # log loss of sigmoid(z / T), written with logaddexp for stability
            s = z / math.exp(log_t)
            return float(np.mean(np.logaddexp(0.0, -s) * y + np.logaddexp(0.0, s) * (1 - y)))

        res = minimize_scalar(
            loss,
            bounds=(math.log(self.bounds[0]), math.log(self.bounds[1])),
            method="bounded",
            options={"xatol": 1e-8},
        )
        self.temperature = float(math.exp(res.x))
        return self

    def transform(self, p: Any) -> np.ndarray:
        return expit(self._logits(p) / self.temperature)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "temperature",
            "temperature": self.temperature,
            "logit_eps": self.logit_eps,
            "bounds": list(self.bounds),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TemperatureCalibrator:
        _check_keys(d, {"type", "temperature", "logit_eps", "bounds"}, "temperature JSON")
        return cls(d["temperature"], d["logit_eps"], tuple(d["bounds"]))


class CalibratedCombiner(Combiner):
    """A combiner followed by a temperature fitted on its validation predictions.

    ``fit_predict`` cross-fits the temperature over stratified folds, so its validation
    predictions stay out-of-fold; ``fit`` keeps one temperature fitted on all of them.
    """

    def __init__(
        self,
        base: Combiner,
        calibrator: TemperatureCalibrator | None = None,
        cv_folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.base = base
        self.calibrator = TemperatureCalibrator() if calibrator is None else calibrator
        self.cv_folds, self.seed = int(cv_folds), int(seed)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.base.name}+temperature"

    def _settings(self) -> dict[str, Any]:
        return {"logit_eps": self.calibrator.logit_eps, "bounds": self.calibrator.bounds}

    def fit(self, table: ScoreTable, y: Any) -> CalibratedCombiner:
        self.fit_predict(table, y)
        return self

    def fit_predict(self, table: ScoreTable, y: Any) -> np.ndarray:
        y = _labels(y, len(table.video_ids))
        base_p = self.base.fit_predict(table, y)
        out = np.empty(len(y))
        for train, test in _folds(y, self.cv_folds, self.seed):
            fold_cal = TemperatureCalibrator(**self._settings()).fit(base_p[train], y[train])
            out[test] = fold_cal.transform(base_p[test])
        self.calibrator.fit(base_p, y)
        return out

    def predict(self, table: ScoreTable) -> np.ndarray:
        return self.calibrator.transform(self.base.predict(table))

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "calibrated",
            "cv_folds": self.cv_folds,
            "seed": self.seed,
            "base": self.base.to_json(),
            "calibrator": self.calibrator.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CalibratedCombiner:
        _check_keys(d, {"type", "cv_folds", "seed", "base", "calibrator"}, "calibrated JSON")
        return cls(
            combiner_from_json(d["base"]),
            TemperatureCalibrator.from_json(d["calibrator"]),
            d["cv_folds"],
            d["seed"],
        )


def make_combiner(
    cfg: Mapping[str, Any], policy: EnsemblePolicy, where: str = "ensemble.combiners"
) -> Combiner:
    """Build a combiner from its config mapping (schema: definitions.combiner): ``type``
    seed_policy, mean or stacking, ``calibration`` none or temperature, ``cv_folds`` and
    ``seed`` for the fitted ones, ``C`` / ``logit_eps`` / ``max_iter`` for stacking. The seed's
    policy (``policy``) drives seed_policy and gives mean its score for unscored videos."""
    c = validate_section(cfg, "combiner", where)
    if c["type"] == "seed_policy":
        base: Combiner = PolicyCombiner(policy)
    elif c["type"] == "mean":
        base = MeanCombiner(policy.default_score)
    else:
        own = {k: c[k] for k in ("C", "logit_eps", "max_iter") if k in c}
        base = StackingCombiner(cv_folds=c["cv_folds"], seed=c["seed"], **own)
    if c["calibration"] == "temperature":
        return CalibratedCombiner(base, cv_folds=c["cv_folds"], seed=c["seed"])
    return base


_FROM_JSON = {
    "seed_policy": PolicyCombiner.from_json,
    "mean": MeanCombiner.from_json,
    "stacking": StackingCombiner.from_json,
    "calibrated": CalibratedCombiner.from_json,
}


def combiner_from_json(d: Mapping[str, Any]) -> Combiner:
    """The combiner a ``to_json`` mapping describes."""
    kind = d.get("type") if isinstance(d, Mapping) else None
    if kind not in _FROM_JSON:
        raise ValueError(f"combiner JSON: expected type among {sorted(_FROM_JSON)}, found {kind!r}")
    return _FROM_JSON[kind](d)


def save_combiner(path: str | Path, combiner: Combiner) -> None:
    """Write a fitted combiner as JSON, atomically."""
    atomic_write_text(path, json.dumps(combiner.to_json(), indent=2) + "\n")


def load_combiner(path: str | Path) -> Combiner:
    path = Path(path)
    try:
        d = json.loads(path.read_text())
        return combiner_from_json(d)
    except (json.JSONDecodeError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path}: not a combiner JSON: {err}") from None
