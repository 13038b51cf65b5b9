"""The seed's ensemble policy (docs/reproduction.md §7) as data-driven, pure functions.

Every threshold, model list, group and weight lives in an :class:`EnsemblePolicy` built from a
config mapping; :data:`SEED_POLICY_CONFIG` holds the seed's values. Scores are P(FAKE) (1 = FAKE)
and logits are 2-way with the FAKE class at index 1.

"More than 70%" is tested as ``count / n > majority`` rather than ``count > majority * n``: the
product misrounds (``0.7 * 90 == 62.99999999999999``), while a quotient equal to ``majority`` as a
rational number always rounds to the same float, so exact boundaries never pass.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.special import expit

FAKE_INDEX = 1
INPUT_KINDS = ("frames", "clip")

SEED_POLICY_CONFIG: dict[str, Any] = {
    # Image models, per face: every ceil(n / max_frames)-th sampled frame, truncated to a
    # multiple of group_size, logits averaged per group of consecutive frames, then the
    # majority rule on the groups' P(FAKE).
    "frame_rule": {"max_frames": 35, "group_size": 5, "high": 0.85, "low": 0.15, "majority": 0.7},
    # Across a video's faces: max if max > max_above; max if all > all_above;
    # min if all < all_below; else mean.
    "face_rule": {"max_above": 0.9, "all_above": 0.6, "all_below": 0.4},
    # After the face rule: s >= high or s <= low becomes (s - 0.5) * factor + 0.5.
    "shrink": {"models": ["b3", "r34"], "high": 0.98, "low": 0.02, "factor": 0.96},
    # input "clip": one (2,) logit pair per face; "frames": (n_frames, 2) logits per face.
    "groups": {
        "video": {
            "input": "clip",
            "weight": 0.4,
            "models": {"sf": 10, "sf_noaug": 8, "sf_16x8": 4, "sf_alldata": 8},
        },
        "image": {
            "input": "frames",
            "weight": 0.6,
            "models": {
                "xcep": 10,
                "b3": 6,
                "r34": 4,
                "b1": 10,
                "b1long": 8,
                "b1short": 8,
                "b0": 7,
            },
        },
    },
    # Within a group: weighted mean of the scores > high if more than majority of them are;
    # else of those < low likewise; else of all.
    "group_rule": {"high": 0.8, "low": 0.2, "majority": 0.7},
    # Models whose logits the predictor averages with those of the mirrored input.
    "hflip_tta_models": ["xcep", "b1", "b0", "r34"],
    # Score of a video with no face, no scoring model or a failure.
    "default_score": 0.5,
}


@dataclass(frozen=True)
class FrameRule:
    max_frames: int = 35
    group_size: int = 5
    high: float = 0.85
    low: float = 0.15
    majority: float = 0.7


@dataclass(frozen=True)
class FaceRule:
    max_above: float = 0.9
    all_above: float = 0.6
    all_below: float = 0.4


@dataclass(frozen=True)
class ShrinkRule:
    models: tuple[str, ...] = ("b3", "r34")
    high: float = 0.98
    low: float = 0.02
    factor: float = 0.96


@dataclass(frozen=True)
class GroupRule:
    high: float = 0.8
    low: float = 0.2
    majority: float = 0.7


@dataclass(frozen=True)
class ModelGroup:
    """A named group of models, its weight in the final mix and each member's weight."""

    name: str
    input: str
    weight: float
    models: tuple[tuple[str, float], ...]

    @property
    def model_weights(self) -> dict[str, float]:
        return dict(self.models)


@dataclass(frozen=True)
class EnsemblePolicy:
    frame_rule: FrameRule
    face_rule: FaceRule
    shrink: ShrinkRule
    groups: tuple[ModelGroup, ...]
    group_rule: GroupRule
    hflip_tta_models: tuple[str, ...]
    default_score: float
    _group_of: dict[str, ModelGroup] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_group_of", {m: g for g in self.groups for m, _ in g.models})

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | None = None, source: str = "ensemble policy config"
    ) -> EnsemblePolicy:
        """Build a policy; absent sections or keys take the seed's values (``groups`` is
        replaced as a whole when given). ``source`` names the file in error messages."""
        return _parse_policy({} if config is None else config, source)

    @classmethod
    def seed(cls) -> EnsemblePolicy:
        return cls.from_config(SEED_POLICY_CONFIG, "SEED_POLICY_CONFIG")

    def to_config(self) -> dict[str, Any]:
        """The plain mapping :meth:`from_config` reads back to an equal policy."""
        fr, fa, sh, gr = self.frame_rule, self.face_rule, self.shrink, self.group_rule
        return {
            "frame_rule": {
                "max_frames": fr.max_frames,
                "group_size": fr.group_size,
                "high": fr.high,
                "low": fr.low,
                "majority": fr.majority,
            },
            "face_rule": {
                "max_above": fa.max_above,
                "all_above": fa.all_above,
                "all_below": fa.all_below,
            },
            "shrink": {
                "models": list(sh.models),
                "high": sh.high,
                "low": sh.low,
                "factor": sh.factor,
            },
            "groups": {
                g.name: {"input": g.input, "weight": g.weight, "models": dict(g.models)}
                for g in self.groups
            },
            "group_rule": {"high": gr.high, "low": gr.low, "majority": gr.majority},
            "hflip_tta_models": list(self.hflip_tta_models),
            "default_score": self.default_score,
        }

    @property
    def models(self) -> tuple[str, ...]:
        """Every model of every group, in config order."""
        return tuple(self._group_of)

    def group_of(self, model: str) -> ModelGroup:
        try:
            return self._group_of[model]
        except KeyError:
            raise ValueError(
                f"ensemble policy: expected a model of {list(self._group_of)}, found {model!r}"
            ) from None


def _fail(source: str, key: str, expected: str, found: Any) -> ValueError:
    return ValueError(f"{source}: {key} must be {expected}, found {found!r}")


def _number(value: Any, source: str, key: str, lo: float, hi: float, *, lo_open=False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise _fail(source, key, f"a number in {bracket}{lo}, {hi}]", value)
    return float(value)


def _positive_int(value: Any, source: str, key: str) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise _fail(source, key, "an integer >= 1", value)
    return int(value)


def _section(config: Mapping[str, Any], name: str, source: str) -> dict[str, Any]:
    """The seed's section ``name`` overlaid with the config's keys, unknown keys refused."""
    merged = copy.deepcopy(SEED_POLICY_CONFIG[name])
    given = config.get(name, {})
    if not isinstance(given, Mapping):
        raise _fail(source, name, "a mapping", given)
    unknown = sorted(set(given) - set(merged))
    if unknown:
        raise _fail(source, name, f"a mapping with keys among {sorted(merged)}", unknown)
    merged.update(given)
    return merged


def _low_high(sec: Mapping[str, Any], source: str, name: str) -> tuple[float, float]:
    low = _number(sec["low"], source, f"{name}.low", 0.0, 1.0)
    high = _number(sec["high"], source, f"{name}.high", 0.0, 1.0)
    if not low < high:
        raise _fail(source, f"{name}.low", f"below {name}.high ({high})", low)
    return low, high


def _model_names(value: Any, source: str, key: str, known: Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _fail(source, key, "a list of model names", value)
    unknown = [m for m in value if m not in known]
    if unknown:
        raise _fail(source, key, f"models among the groups' {list(known)}", unknown)
    return tuple(value)


def _parse_groups(value: Any, source: str) -> tuple[ModelGroup, ...]:
    if not isinstance(value, Mapping) or not value:
        raise _fail(source, "groups", "a non-empty mapping of group name to group", value)
    groups, seen = [], {}
    for name, spec in value.items():
        key = f"groups.{name}"
        if not isinstance(spec, Mapping) or set(spec) != {"input", "weight", "models"}:
            raise _fail(source, key, "a mapping with exactly input, weight and models", spec)
        if spec["input"] not in INPUT_KINDS:
            raise _fail(source, f"{key}.input", f"one of {INPUT_KINDS}", spec["input"])
        weight = _number(spec["weight"], source, f"{key}.weight", 0.0, math.inf, lo_open=True)
        models = spec["models"]
        if not isinstance(models, Mapping) or not models:
            raise _fail(source, f"{key}.models", "a non-empty mapping of model to weight", models)
        members = []
        for model, w in models.items():
            if not isinstance(model, str) or not model:
                raise _fail(source, f"{key}.models", "keys that are model names", model)
            if model in seen:
                raise _fail(source, f"{key}.models.{model}", f"only in {seen[model]}", name)
            seen[model] = key
            mw = _number(w, source, f"{key}.models.{model}", 0.0, math.inf, lo_open=True)
            members.append((model, mw))
        groups.append(ModelGroup(str(name), spec["input"], weight, tuple(members)))
    return tuple(groups)


def _parse_policy(config: Mapping[str, Any], source: str) -> EnsemblePolicy:
    if not isinstance(config, Mapping):
        raise _fail(source, "the ensemble policy", "a mapping", config)
    unknown = sorted(set(config) - set(SEED_POLICY_CONFIG))
    if unknown:
        raise _fail(
            source, "the ensemble policy", f"keys among {list(SEED_POLICY_CONFIG)}", unknown
        )

    fr = _section(config, "frame_rule", source)
    fr_low, fr_high = _low_high(fr, source, "frame_rule")
    frame_rule = FrameRule(
        max_frames=_positive_int(fr["max_frames"], source, "frame_rule.max_frames"),
        group_size=_positive_int(fr["group_size"], source, "frame_rule.group_size"),
        high=fr_high,
        low=fr_low,
        majority=_number(fr["majority"], source, "frame_rule.majority", 0.0, 1.0),
    )
    fa = _section(config, "face_rule", source)
    face_rule = FaceRule(**{k: _number(fa[k], source, f"face_rule.{k}", 0.0, 1.0) for k in fa})
    gr = _section(config, "group_rule", source)
    gr_low, gr_high = _low_high(gr, source, "group_rule")
    group_rule = GroupRule(
        high=gr_high,
        low=gr_low,
        majority=_number(gr["majority"], source, "group_rule.majority", 0.0, 1.0),
    )
    groups = _parse_groups(config.get("groups", SEED_POLICY_CONFIG["groups"]), source)
    known = {m: g for g in groups for m, _ in g.models}

    sh = _section(config, "shrink", source)
    sh_low, sh_high = _low_high(sh, source, "shrink")
    shrink_rule = ShrinkRule(
        models=_model_names(sh["models"], source, "shrink.models", known),
        high=sh_high,
        low=sh_low,
        factor=_number(sh["factor"], source, "shrink.factor", 0.0, 1.0, lo_open=True),
    )
    tta = config.get("hflip_tta_models", SEED_POLICY_CONFIG["hflip_tta_models"])
    return EnsemblePolicy(
        frame_rule=frame_rule,
        face_rule=face_rule,
        shrink=shrink_rule,
        groups=groups,
        group_rule=group_rule,
        hflip_tta_models=_model_names(tta, source, "hflip_tta_models", known),
        default_score=_number(
            config.get("default_score", SEED_POLICY_CONFIG["default_score"]),
            source,
            "default_score",
            0.0,
            1.0,
        ),
    )


def _majority_mean(
    scores: np.ndarray, weights: np.ndarray, high: float, low: float, majority: float
) -> float:
    """Weighted mean of the scores > high if more than ``majority`` of them are, else of those
    < low likewise, else of all."""
    n = scores.size
    for selected in (scores > high, scores < low):
        if np.count_nonzero(selected) / n > majority:
            return float(np.average(scores[selected], weights=weights[selected]))
    return float(np.average(scores, weights=weights))


def _logits(value: Any, shape_text: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"expected logits of shape {shape_text}, found {type(value)}") from None
    if arr.ndim != ndim or arr.shape[-1] != 2:
        raise ValueError(f"expected logits of shape {shape_text}, found shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"expected finite logits, found {np.count_nonzero(~np.isfinite(arr))} "
            "NaN or infinite values"
        )
    return arr


def _p_fake(logits: np.ndarray) -> np.ndarray:
    # softmax(l)[1] == sigmoid(l1 - l0), without overflow for large logits
    return expit(logits[..., FAKE_INDEX] - logits[..., 1 - FAKE_INDEX])


def image_face_score(frame_logits: Any, policy: EnsemblePolicy) -> float | None:
    """P(FAKE) of one face from an image model's per-frame logits, shape (n_frames, 2).

    None when fewer than ``group_size`` frames remain after subsampling.
    """
    arr = _logits(frame_logits, "(n_frames, 2)", 2)
    rule = policy.frame_rule
    n = arr.shape[0]
    if n == 0:
        return None
    picked = arr[:: math.ceil(n / rule.max_frames)]
    n_groups = picked.shape[0] // rule.group_size
    if n_groups == 0:
        return None
    grouped = picked[: n_groups * rule.group_size].reshape(n_groups, rule.group_size, 2)
    p = _p_fake(grouped.mean(axis=1))
    return _majority_mean(p, np.ones_like(p), rule.high, rule.low, rule.majority)


def video_face_score(clip_logits: Any) -> float:
    """P(FAKE) of one face from a video model's logits for the face's whole clip, shape (2,)."""
    return float(_p_fake(_logits(clip_logits, "(2,)", 1)))


def _scores(values: Iterable[Any], what: str) -> np.ndarray:
    values = list(values)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"expected {what} as a list of numbers in [0, 1], found {values}"
        ) from None
    if arr.ndim != 1 or not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError(f"expected {what} as a list of numbers in [0, 1], found {arr.tolist()}")
    return arr


def combine_faces(face_scores: Sequence[float], policy: EnsemblePolicy) -> float | None:
    """One model's video score from its per-face scores; None when there is no face."""
    s = _scores(face_scores, "face scores")
    if s.size == 0:
        return None
    rule = policy.face_rule
    if s.max() > rule.max_above or np.all(s > rule.all_above):
        return float(s.max())
    if np.all(s < rule.all_below):
        return float(s.min())
    return float(s.mean())


def shrink(score: float, policy: EnsemblePolicy) -> float:
    """Pull an extreme score towards 0.5 (applied by the policy to ``shrink.models`` only)."""
    rule = policy.shrink
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"expected a score in [0, 1] to shrink, found {score!r}")
    if score >= rule.high or score <= rule.low:
        return float((score - 0.5) * rule.factor + 0.5)
    return float(score)


def _model_video_score(
    model: str, per_face_inputs: Sequence[Any], policy: EnsemblePolicy
) -> tuple[float | None, str]:
    group = policy.group_of(model)
    if isinstance(per_face_inputs, (str, bytes)) or not isinstance(
        per_face_inputs, (Sequence, np.ndarray)
    ):
        raise ValueError(
            f"{model}: expected a list of per-face logit arrays, found {type(per_face_inputs)}"
        )
    face_scores, skipped = [], []
    for k, face in enumerate(per_face_inputs):
        try:
            if group.input == "clip":
                face_scores.append(video_face_score(face))
            else:
                score = image_face_score(face, policy)
                if score is None:
                    skipped.append(k + 1)
                else:
                    face_scores.append(score)
        except ValueError as err:
            raise ValueError(f"{model}, face {k + 1}: {err}") from None
    note = ""
    if skipped:
        note = (
            f"{model}: face(s) {skipped} had fewer than {policy.frame_rule.group_size} "
            "frames after subsampling"
        )
    if not face_scores:
        return None, note or f"{model}: no faces"
    score = combine_faces(face_scores, policy)
    if model in policy.shrink.models:
        score = shrink(score, policy)
    return score, note


def model_video_score(
    model: str, per_face_inputs: Sequence[Any], policy: EnsemblePolicy
) -> float | None:
    """A model's video score from its per-face logits: (n_frames, 2) arrays for a "frames"
    group, (2,) arrays for a "clip" group. Face rule, then shrink for ``shrink.models``.
    None when no face could be scored."""
    return _model_video_score(model, per_face_inputs, policy)[0]


def group_score(
    group_name: str, model_scores: Mapping[str, float | None], policy: EnsemblePolicy
) -> float | None:
    """The group rule over the group's models that have a score (None = no score); None when
    none has."""
    groups = {g.name: g for g in policy.groups}
    if group_name not in groups:
        raise ValueError(
            f"ensemble policy: expected a group of {list(groups)}, found {group_name!r}"
        )
    weights = groups[group_name].model_weights
    present = [m for m in weights if model_scores.get(m) is not None]
    if not present:
        return None
    s = _scores((model_scores[m] for m in present), f"{group_name} model scores")
    w = np.array([weights[m] for m in present])
    rule = policy.group_rule
    return _majority_mean(s, w, rule.high, rule.low, rule.majority)


def _group_scores(
    model_scores: Mapping[str, float | None], policy: EnsemblePolicy
) -> dict[str, float]:
    for model in model_scores:
        policy.group_of(model)
    out = {}
    for group in policy.groups:
        score = group_score(group.name, model_scores, policy)
        if score is not None:
            out[group.name] = score
    return out


def _final(group_scores: Mapping[str, float], policy: EnsemblePolicy) -> float:
    if not group_scores:
        return policy.default_score
    weights = {g.name: g.weight for g in policy.groups}
    names = list(group_scores)
    return float(np.average([group_scores[n] for n in names], weights=[weights[n] for n in names]))


def ensemble_video(model_scores: Mapping[str, float | None], policy: EnsemblePolicy) -> float:
    """Final P(FAKE) of a video from its per-model video scores (None = no score).

    Group weights are renormalised over the groups that have a score, so the seed's
    0.4 * video + 0.6 * image becomes the one group alone when the other is missing;
    ``default_score`` when no model scored.
    """
    return _final(_group_scores(model_scores, policy), policy)


@dataclass(frozen=True)
class VideoEnsemble:
    """One video's ensemble result and how it came about.

    status: "ok" when at least one model scored, "default" when the score is the default.
    notes: one line per model that did not contribute (no prediction, no faces, bad logits).
    """

    video_id: str
    score: float
    status: str
    model_scores: dict[str, float]
    group_scores: dict[str, float]
    notes: tuple[str, ...]


def ensemble_details(
    per_model: Mapping[str, Mapping[str, Sequence[Any]]],
    policy: EnsemblePolicy,
    video_ids: Iterable[str] | None = None,
) -> dict[str, VideoEnsemble]:
    """Run the policy over many videos: ``per_model[model][video_id]`` is the list of that
    video's per-face logit arrays.

    A model without an entry for a video, with no faces, or with malformed logits for it, is
    left out of that video (recorded in its notes) and never fails the others. ``video_ids``
    fixes the output's videos (those missing everywhere get the default score); without it,
    every video any model saw, sorted.
    """
    for model in per_model:
        policy.group_of(model)
    seen = sorted({v for videos in per_model.values() for v in videos})
    if video_ids is None:
        ids = seen
    else:
        ids = list(video_ids)
        extra = sorted(set(seen) - set(ids))
        if extra:
            raise ValueError(
                f"ensemble: {len(extra)} scored video(s) are not among the {len(ids)} "
                f"requested, e.g. {extra[:5]}"
            )
    results = {}
    for vid in ids:
        scores: dict[str, float] = {}
        notes = []
        for model, videos in per_model.items():
            if vid not in videos:
                notes.append(f"{model}: no prediction")
                continue
            try:
                score, note = _model_video_score(model, videos[vid], policy)
            except ValueError as err:
                notes.append(str(err))
                continue
            if note:
                notes.append(note)
            if score is not None:
                scores[model] = score
        groups = _group_scores(scores, policy)
        results[vid] = VideoEnsemble(
            video_id=vid,
            score=_final(groups, policy),
            status="ok" if scores else "default",
            model_scores=scores,
            group_scores=groups,
            notes=tuple(notes),
        )
    return results


def ensemble_scores(
    per_model: Mapping[str, Mapping[str, Sequence[Any]]],
    policy: EnsemblePolicy,
    video_ids: Iterable[str] | None = None,
) -> dict[str, float]:
    """Final P(FAKE) per video; see :func:`ensemble_details` for the inputs."""
    return {v: r.score for v, r in ensemble_details(per_model, policy, video_ids).items()}
