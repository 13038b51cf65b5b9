"""The seed's ensemble policy (docs/reproduction.md §7) as data-driven, pure functions.

Every threshold, model list, group and weight lives in an :class:`EnsemblePolicy` built from a
config mapping checked by the schema (definitions.policy); the seed's values are config.yaml's
ensemble.policy. Scores are P(FAKE) (1 = FAKE)
and logits are 2-way with the FAKE class at index 1.

"More than 70%" is tested as ``count / n > majority`` rather than ``count > majority * n``: the
product misrounds (``0.7 * 90 == 62.99999999999999``), while a quotient equal to ``majority`` as a
rational number always rounds to the same float, so exact boundaries never pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from rf_models.config import ConfigError, validate_section

FAKE_INDEX = 1
INPUT_KINDS = ("frames", "clip")


@dataclass(frozen=True)
class FrameRule:
    """Image models, per face: every ceil(n / max_frames)-th sampled frame, cut to a multiple
    of group_size, logits averaged per group, then the majority rule on the groups."""

    max_frames: int
    group_size: int
    high: float
    low: float
    majority: float


@dataclass(frozen=True)
class FaceRule:
    """Across a video's faces: max if max > max_above or all > all_above; min if all <
    all_below; else mean."""

    max_above: float
    all_above: float
    all_below: float


@dataclass(frozen=True)
class ShrinkRule:
    """For these models, a video score >= high or <= low becomes (s - 0.5) * factor + 0.5."""

    models: tuple[str, ...]
    high: float
    low: float
    factor: float


@dataclass(frozen=True)
class GroupRule:
    """Within a group: weighted mean of the scores > high if more than ``majority`` of them
    are, else of those < low likewise, else of all."""

    high: float
    low: float
    majority: float


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
    default_score: float  # a video with no face, no scoring model or a failure
    _group_of: dict[str, ModelGroup] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_group_of", {m: g for g in self.groups for m, _ in g.models})

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], where: str = "ensemble.policy"
    ) -> EnsemblePolicy:
        """Build a policy from a complete mapping (the seed's is config.yaml's
        ensemble.policy), checked against the schema; ``where`` names it in errors."""
        return _parse_policy(config, where)

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


def _parse_policy(config: Any, where: str) -> EnsemblePolicy:
    """The schema checks types and ranges; what it cannot say is checked here."""
    c = validate_section(config, "policy", where)
    for name in ("frame_rule", "group_rule", "shrink"):
        if not c[name]["low"] < c[name]["high"]:
            raise ConfigError(
                f"config key {where}.{name}.low: must be below {name}.high "
                f"({c[name]['high']}), found {c[name]['low']}"
            )
    groups, seen = [], {}
    for name, spec in c["groups"].items():
        for model in spec["models"]:
            if model in seen:
                raise ConfigError(
                    f"config key {where}.groups.{name}.models.{model}: the model is already "
                    f"in group {seen[model]!r}; a model belongs to one group"
                )
            seen[model] = name
        members = tuple((m, float(w)) for m, w in spec["models"].items())
        groups.append(ModelGroup(str(name), spec["input"], float(spec["weight"]), members))
    unknown = [m for m in c["shrink"]["models"] if m not in seen]
    if unknown:
        raise ConfigError(
            f"config key {where}.shrink.models: {unknown} are in no group; expected models "
            f"among {list(seen)}"
        )
    sh = c["shrink"]
    return EnsemblePolicy(
        frame_rule=FrameRule(**c["frame_rule"]),
        face_rule=FaceRule(**c["face_rule"]),
        shrink=ShrinkRule(tuple(sh["models"]), sh["high"], sh["low"], sh["factor"]),
        groups=tuple(groups),
        group_rule=GroupRule(**c["group_rule"]),
        default_score=float(c["default_score"]),
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
