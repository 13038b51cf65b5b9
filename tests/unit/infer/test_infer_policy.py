"""The seed's ensemble policy (docs/reproduction.md §7) on hand-built scores.

Logits are built as [0, logit(p)] so a group's P(FAKE) is exactly p up to rounding; every
expected value is worked out in the comment beside it.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from rf_models.config import ConfigError
from rf_models.infer.policy import (
    EnsemblePolicy,
    combine_faces,
    ensemble_details,
    ensemble_scores,
    ensemble_video,
    group_score,
    image_face_score,
    model_video_score,
    shrink,
    video_face_score,
)
from tests.support.seed_config import policy_config

SEED = EnsemblePolicy.from_config(policy_config())


def lg(p: float) -> float:
    return math.log(p / (1.0 - p))


def frames(ps: list[float], group_size: int = 5) -> np.ndarray:
    """Consecutive groups of ``group_size`` frames whose mean logit is logit(p), the frames
    within a group spread around it so averaging probabilities would give another value."""
    rows = []
    for p in ps:
        for d in np.linspace(-2.0, 2.0, group_size):
            rows.append([0.0, lg(p) + d])
    return np.array(rows)


def const_frames(p: float, n: int = 35) -> np.ndarray:
    return np.tile([0.0, lg(p)], (n, 1))


def custom_group_policy(n_models: int, **extra) -> EnsemblePolicy:
    """One group of ``n_models`` equally weighted image models m0, m1, ..."""
    cfg = policy_config(
        groups={
            "only": {
                "input": "frames",
                "weight": 1.0,
                "models": {f"m{i}": 1 for i in range(n_models)},
            }
        },
        shrink={"models": []},
        **extra,
    )
    return EnsemblePolicy.from_config(cfg, "test.yaml")


# --- config ------------------------------------------------------------------------------


def test_config_yaml_holds_the_seed_values():
    c = policy_config()
    assert c["frame_rule"] == {
        "max_frames": 35,
        "group_size": 5,
        "high": 0.85,
        "low": 0.15,
        "majority": 0.7,
    }
    assert c["face_rule"] == {"max_above": 0.9, "all_above": 0.6, "all_below": 0.4}
    assert c["shrink"] == {"models": ["b3", "r34"], "high": 0.98, "low": 0.02, "factor": 0.96}
    assert c["groups"]["video"]["weight"] == 0.4
    assert c["groups"]["video"]["models"] == {
        "sf": 10,
        "sf_noaug": 8,
        "sf_16x8": 4,
        "sf_alldata": 8,
    }
    assert c["groups"]["image"]["weight"] == 0.6
    assert c["groups"]["image"]["models"] == {
        "xcep": 10,
        "b3": 6,
        "r34": 4,
        "b1": 10,
        "b1long": 8,
        "b1short": 8,
        "b0": 7,
    }
    assert c["group_rule"] == {"high": 0.8, "low": 0.2, "majority": 0.7}
    assert c["default_score"] == 0.5
    json.dumps(c)


def test_from_config_round_trip_and_no_mutation():
    cfg = policy_config()
    before = copy.deepcopy(cfg)
    assert EnsemblePolicy.from_config(SEED.to_config()) == SEED
    assert cfg == before
    assert SEED.models == (
        "sf",
        "sf_noaug",
        "sf_16x8",
        "sf_alldata",
        "xcep",
        "b3",
        "r34",
        "b1",
        "b1long",
        "b1short",
        "b0",
    )
    assert SEED.group_of("b3").name == "image" and SEED.group_of("sf").input == "clip"


@pytest.mark.parametrize(
    "cfg, words",
    [
        ({**policy_config(), "thresholds": {}}, "ensemble.policy.thresholds: unknown key"),
        (policy_config(frame_rule={"max_frame": 35}), "frame_rule.max_frame: unknown key"),
        ({**policy_config(), "face_rule": None}, "ensemble.policy.face_rule: None is not"),
        ({k: v for k, v in policy_config().items() if k != "shrink"}, "'shrink' is a required"),
        (policy_config(frame_rule={"high": 1.5}), "frame_rule.high: 1.5 is greater than"),
        (policy_config(frame_rule={"low": 0.9}), "frame_rule.low: must be below"),
        (policy_config(frame_rule={"max_frames": 0}), "frame_rule.max_frames: 0 is less than"),
        (policy_config(frame_rule={"group_size": 2.5}), "frame_rule.group_size: 2.5 is not"),
        (policy_config(frame_rule={"group_size": True}), "frame_rule.group_size: True is not"),
        (policy_config(face_rule={"max_above": "0.9"}), "face_rule.max_above: '0.9' is not"),
        (policy_config(shrink={"models": ["b4"]}), "shrink.models: ['b4'] are in no group"),
        (policy_config(shrink={"models": "b3"}), "shrink.models: 'b3' is not of type 'array'"),
        (policy_config(shrink={"factor": 0}), "shrink.factor: 0 is less than or equal"),
        (policy_config(default_score=-0.1), "default_score: -0.1 is less than"),
        (policy_config(groups={}), "groups: {} should be non-empty"),
        (policy_config(groups={"g": {"input": "frames", "weight": 1}}), "'models' is a required"),
        (
            policy_config(groups={"g": {"input": "audio", "weight": 1, "models": {"a": 1}}}),
            "groups.g.input: 'audio' is not one of",
        ),
        (
            policy_config(groups={"g": {"input": "clip", "weight": 0, "models": {"a": 1}}}),
            "groups.g.weight: 0 is less than or equal",
        ),
        (
            policy_config(groups={"g": {"input": "clip", "weight": 1, "models": {"a": -1}}}),
            "groups.g.models.a: -1 is less than or equal",
        ),
        (
            policy_config(
                groups={
                    "g": {"input": "clip", "weight": 1, "models": {"a": 1}},
                    "h": {"input": "frames", "weight": 1, "models": {"a": 1}},
                },
                shrink={"models": []},
            ),
            "groups.h.models.a: the model is already in group 'g'",
        ),
        ("not a mapping", "ensemble.policy: 'not a mapping' is not of type 'object'"),
    ],
)
def test_from_config_refuses_bad_configs_naming_the_key(cfg, words):
    with pytest.raises(ConfigError) as err:
        EnsemblePolicy.from_config(cfg)
    assert words in str(err.value)


def test_custom_groups_must_restate_shrink_models():
    # The seed's shrink list names b3 and r34, which a custom group set may not have.
    with pytest.raises(ConfigError, match="shrink.models"):
        EnsemblePolicy.from_config(
            policy_config(groups={"g": {"input": "clip", "weight": 1, "models": {"a": 1}}})
        )


# --- image models: the frame rule -------------------------------------------------------


def test_frame_rule_high_majority_on_160_sampled_frames():
    # 160 frames: step ceil(160/35) = 5 picks indices 0, 5, ..., 155 (32 frames); truncated to
    # 30 (indices 0..145) = 6 groups; group k holds indices 25k, 25k+5, ..., 25k+20.
    # Every other frame, and the truncated picks 150 and 155, say "surely fake" (logit 50) so
    # a wrong selection shows.
    groups = [0.9, 0.9, 0.95, 0.95, 0.9, 0.5]
    arr = np.tile([0.0, 50.0], (160, 1))
    arr[0:150:5] = frames(groups)
    # 5 of 6 groups (83%) > 0.85 -> mean of those = (0.9+0.9+0.95+0.95+0.9)/5 = 4.6/5 = 0.92
    assert image_face_score(arr, SEED) == pytest.approx(0.92, abs=1e-12)


def test_frame_rule_averages_logits_not_probabilities():
    # One group with logits logit(0.9) + [-2, -1, 0, 1, 2]: mean logit = logit(0.9) -> 0.9
    # (the mean of the five probabilities would be about 0.86).
    assert image_face_score(frames([0.9]), SEED) == pytest.approx(0.9, abs=1e-12)


def test_frame_rule_no_majority_is_mean_of_all():
    # 30 frames (step 1) = 6 groups; 4 of 6 (66.7%) > 0.85 is not more than 70%; none < 0.15
    # -> mean of all = (4*0.9 + 2*0.5)/6 = 4.6/6 = 0.7666...
    got = image_face_score(frames([0.9, 0.9, 0.9, 0.9, 0.5, 0.5]), SEED)
    assert got == pytest.approx(4.6 / 6, abs=1e-12)


def test_frame_rule_low_majority():
    # 5 of 6 groups < 0.15 -> mean of those = (0.1+0.1+0.05+0.05+0.1)/5 = 0.4/5 = 0.08
    got = image_face_score(frames([0.1, 0.1, 0.05, 0.05, 0.1, 0.5]), SEED)
    assert got == pytest.approx(0.08, abs=1e-12)


def test_frame_rule_seven_groups_from_35_frames():
    # 35 frames = 7 groups; 5 of 7 (71.4%) > 0.85 -> mean of those = (3*0.9 + 2*0.95)/5 = 0.92
    got = image_face_score(frames([0.9, 0.9, 0.9, 0.95, 0.95, 0.5, 0.1]), SEED)
    assert got == pytest.approx(0.92, abs=1e-12)


def test_frame_rule_exact_70_percent_is_not_more_than_70():
    # max_frames 50 -> 50 frames make 10 groups.
    policy = EnsemblePolicy.from_config(policy_config(frame_rule={"max_frames": 50}))
    # 7 of 10 > 0.85 is exactly 70%, not more -> mean of all = (7*0.9 + 3*0.5)/10 = 0.78
    assert image_face_score(frames([0.9] * 7 + [0.5] * 3), policy) == pytest.approx(0.78)
    # 8 of 10 -> mean of those = 0.9
    assert image_face_score(frames([0.9] * 8 + [0.5] * 2), policy) == pytest.approx(0.9)
    # 7 of 10 < 0.15 -> mean of all = (7*0.1 + 3*0.5)/10 = 0.22
    assert image_face_score(frames([0.1] * 7 + [0.5] * 3), policy) == pytest.approx(0.22)
    # 8 of 10 < 0.15 -> mean of those = 0.1
    assert image_face_score(frames([0.1] * 8 + [0.5] * 2), policy) == pytest.approx(0.1)


def test_frame_rule_threshold_is_strict():
    # A group of zero logits has P(FAKE) exactly 0.5. With high = 0.5, five groups at 0.5 are
    # not > 0.5, so the one group at 0.1 decides nothing: 1 of 6 < 0.15 is no majority
    # -> mean of all = (5*0.5 + 0.1)/6 = 2.6/6 (a ">=" rule would give 0.5).
    policy = EnsemblePolicy.from_config(policy_config(frame_rule={"high": 0.5}))
    arr = np.zeros((30, 2))
    arr[25:] = frames([0.1])
    assert image_face_score(arr, policy) == pytest.approx(2.6 / 6, abs=1e-12)


def test_frame_rule_subsampling_and_too_few_frames():
    # 36 frames: step 2 picks 18, truncated to 15 = 3 groups (picked indices 0..28, even).
    arr = np.tile([0.0, -50.0], (36, 1))
    arr[0:30:2] = frames([0.9, 0.9, 0.9])
    assert image_face_score(arr, SEED) == pytest.approx(0.9, abs=1e-12)
    assert image_face_score(frames([0.9])[:4], SEED) is None  # 4 frames: no group of 5
    assert image_face_score(np.zeros((0, 2)), SEED) is None


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 3)), np.zeros(10), np.full((10, 2), np.nan), [[0.0, np.inf]] * 5, "x"],
)
def test_frame_rule_refuses_bad_logits(bad):
    with pytest.raises(ValueError, match="logits"):
        image_face_score(bad, SEED)


# --- video models -------------------------------------------------------------------------


def test_video_face_score_is_softmax_fake():
    assert video_face_score([0.0, 0.0]) == 0.5
    assert video_face_score([1.0, 3.0]) == pytest.approx(1 / (1 + math.exp(-2)))
    assert video_face_score([0.0, 1000.0]) == 1.0  # no overflow
    assert video_face_score([1000.0, 0.0]) == pytest.approx(0.0, abs=1e-300)
    for bad in ([0.0, 1.0, 2.0], [[0.0, 1.0]], [np.nan, 0.0]):
        with pytest.raises(ValueError, match="logits"):
            video_face_score(bad)


# --- faces ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faces, expected",
    [
        ([0.95, 0.1], 0.95),  # max 0.95 > 0.9 -> max
        ([0.9, 0.1], 0.5),  # max 0.9 is not > 0.9; not all > 0.6; not all < 0.4 -> mean
        ([0.7, 0.65], 0.7),  # all > 0.6 -> max
        ([0.6, 0.7], 0.65),  # 0.6 is not > 0.6 -> mean (0.6+0.7)/2
        ([0.3, 0.1], 0.1),  # all < 0.4 -> min
        ([0.4, 0.1], 0.25),  # 0.4 is not < 0.4 -> mean
        ([0.7, 0.2], 0.45),  # mixed -> mean
        ([0.5], 0.5),  # one face: mean of itself
        ([0.8], 0.8),  # one face > 0.6: max of itself
    ],
)
def test_face_rule_branches(faces, expected):
    assert combine_faces(faces, SEED) == pytest.approx(expected, abs=1e-15)


def test_face_rule_no_faces_and_bad_scores():
    assert combine_faces([], SEED) is None
    with pytest.raises(ValueError, match="face scores"):
        combine_faces([0.5, 1.2], SEED)
    with pytest.raises(ValueError, match="face scores"):
        combine_faces([np.nan], SEED)


# --- shrink --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score, expected",
    [
        (0.98, 0.9608),  # (0.98 - 0.5) * 0.96 + 0.5 = 0.48*0.96 + 0.5 (bound inclusive)
        (0.02, 0.0392),  # (0.02 - 0.5) * 0.96 + 0.5 = -0.4608 + 0.5 (bound inclusive)
        (1.0, 0.98),  # 0.5*0.96 + 0.5
        (0.0, 0.02),
        (0.979, 0.979),  # inside the bounds: untouched
        (0.021, 0.021),
        (0.5, 0.5),
    ],
)
def test_shrink_bounds(score, expected):
    assert shrink(score, SEED) == pytest.approx(expected, abs=1e-15)


def test_shrink_refuses_scores_outside_unit_interval():
    with pytest.raises(ValueError, match="shrink"):
        shrink(1.01, SEED)


def test_model_video_score_shrinks_b3_and_r34_only():
    p = 1 / (1 + math.exp(-10))  # 0.9999546
    faces = [const_frames(p), const_frames(p)]
    # Each face: 7 groups at p > 0.85 -> p; faces: max p > 0.9 -> p.
    assert model_video_score("xcep", faces, SEED) == pytest.approx(p)
    for m in ("b3", "r34"):
        # p >= 0.98 -> (p - 0.5)*0.96 + 0.5 = 0.979956...
        assert model_video_score(m, faces, SEED) == pytest.approx((p - 0.5) * 0.96 + 0.5)
    # A SlowFast model scores one (2,) logit pair per face: faces 0.7 and 0.65 -> all > 0.6
    # -> max 0.7.
    assert model_video_score("sf", [[0.0, lg(0.7)], [0.0, lg(0.65)]], SEED) == pytest.approx(0.7)


def test_model_video_score_missing_faces_and_bad_inputs():
    assert model_video_score("xcep", [], SEED) is None
    assert model_video_score("xcep", [np.zeros((4, 2))], SEED) is None  # too few frames
    # A face with too few frames is skipped; the other decides.
    assert model_video_score("xcep", [np.zeros((4, 2)), const_frames(0.3)], SEED) == (
        pytest.approx(0.3)
    )
    with pytest.raises(ValueError, match="sf, face 1"):
        model_video_score("sf", [np.zeros((35, 2))], SEED)  # a clip model given frames
    with pytest.raises(ValueError, match="xcep, face 2"):
        model_video_score("xcep", [const_frames(0.3), np.zeros(2)], SEED)
    with pytest.raises(ValueError, match="expected a model of"):
        model_video_score("b7", [const_frames(0.3)], SEED)
    with pytest.raises(ValueError, match="list of per-face"):
        model_video_score("xcep", "faces", SEED)


# --- groups and the final mix ------------------------------------------------------------

IMAGE_HIGH = {
    "xcep": 0.9,
    "b3": 0.85,
    "r34": 0.95,
    "b1": 0.9,
    "b1long": 0.82,
    "b1short": 0.3,
    "b0": 0.5,
}
# 5 of 7 (71.4%) > 0.8 -> weighted mean of xcep, b3, r34, b1, b1long (weights 10, 6, 4, 10, 8):
# (9 + 5.1 + 3.8 + 9 + 6.56) / 38 = 33.46 / 38 = 0.880526...
IMAGE_HIGH_SCORE = 33.46 / 38

VIDEO_LOW = {"sf": 0.1, "sf_noaug": 0.15, "sf_16x8": 0.05, "sf_alldata": 0.9}
# 3 of 4 (75%) < 0.2 -> weighted mean of sf, sf_noaug, sf_16x8 (10, 8, 4):
# (1 + 1.2 + 0.2) / 22 = 2.4 / 22 = 0.10909...
VIDEO_LOW_SCORE = 2.4 / 22


def test_group_rule_high_majority_image_only():
    assert group_score("image", IMAGE_HIGH, SEED) == pytest.approx(IMAGE_HIGH_SCORE)
    # Only the image group scored -> final = image group.
    assert ensemble_video(IMAGE_HIGH, SEED) == pytest.approx(IMAGE_HIGH_SCORE)


def test_group_rule_no_majority_is_weighted_mean_of_all():
    scores = dict(IMAGE_HIGH, b1long=0.5)
    # 4 of 7 (57%) > 0.8, none < 0.2 -> all, weights 10, 6, 4, 10, 8, 8, 7 (53):
    # (9 + 5.1 + 3.8 + 9 + 4 + 2.4 + 3.5) / 53 = 36.8 / 53
    assert ensemble_video(scores, SEED) == pytest.approx(36.8 / 53)


def test_group_rule_low_majority_video_only():
    assert group_score("video", VIDEO_LOW, SEED) == pytest.approx(VIDEO_LOW_SCORE)
    assert ensemble_video(VIDEO_LOW, SEED) == pytest.approx(VIDEO_LOW_SCORE)


def test_both_groups_mix_04_video_06_image():
    both = {**IMAGE_HIGH, **VIDEO_LOW}
    expected = 0.4 * VIDEO_LOW_SCORE + 0.6 * IMAGE_HIGH_SCORE  # 0.04364 + 0.52832 = 0.57195...
    assert ensemble_video(both, SEED) == pytest.approx(expected)


def test_missing_models_renormalise_weights():
    # Video group: only sf (10) and sf_16x8 (4): 1 of 2 > 0.8 (50%), none < 0.2
    # -> (10*0.9 + 4*0.3) / 14 = 10.2 / 14 = 0.728571 (not divided by all 30 of the group).
    # Image group: b3 alone at 0.9 -> 1 of 1 > 0.8 -> 0.9.
    # Final = 0.4 * 10.2/14 + 0.6 * 0.9 = 0.291428... + 0.54 = 0.831428...
    scores = {"sf": 0.9, "sf_16x8": 0.3, "b3": 0.9, "xcep": None}
    assert group_score("video", scores, SEED) == pytest.approx(10.2 / 14)
    assert ensemble_video(scores, SEED) == pytest.approx(0.4 * 10.2 / 14 + 0.6 * 0.9)


def test_group_threshold_is_strict():
    # Six models at exactly 0.8 are not > 0.8; b0 at 0.1: 1 of 7 < 0.2 is no majority
    # -> weighted mean of all = (0.8*46 + 0.1*7) / 53 = 37.5 / 53 (">=" would give 0.8).
    scores = {m: 0.8 for m in IMAGE_HIGH} | {"b0": 0.1}
    assert ensemble_video(scores, SEED) == pytest.approx(37.5 / 53)


def test_group_exact_70_percent_boundary():
    policy = custom_group_policy(10)
    seven = {f"m{i}": 0.9 if i < 7 else 0.5 for i in range(10)}
    eight = {f"m{i}": 0.9 if i < 8 else 0.5 for i in range(10)}
    # 7 of 10 is not more than 70% -> mean of all = (6.3 + 1.5)/10 = 0.78; 8 of 10 -> 0.9
    assert ensemble_video(seven, policy) == pytest.approx(0.78)
    assert ensemble_video(eight, policy) == pytest.approx(0.9)


def test_group_boundary_where_a_float_product_misrounds():
    # 0.7 * 90 == 62.99999999999999 in floating point, so "count > 0.7 * n" would let 63 of
    # 90 pass; 63/90 is exactly 70% -> mean of all = (63*0.9 + 27*0.5)/90 = 70.2/90 = 0.78.
    policy = custom_group_policy(90)
    scores = {f"m{i}": 0.9 if i < 63 else 0.5 for i in range(90)}
    assert ensemble_video(scores, policy) == pytest.approx(0.78)


def test_no_model_scored_gives_default_and_bad_scores_are_refused():
    assert ensemble_video({}, SEED) == 0.5
    assert ensemble_video({"xcep": None}, SEED) == 0.5
    assert ensemble_video({}, EnsemblePolicy.from_config(policy_config(default_score=0.3))) == 0.3
    with pytest.raises(ValueError, match="expected a model of"):
        ensemble_video({"resnet": 0.5}, SEED)
    with pytest.raises(ValueError, match="image model scores"):
        ensemble_video({"xcep": 1.2}, SEED)
    with pytest.raises(ValueError, match="expected a group of"):
        group_score("audio", {}, SEED)


# --- the driver over many videos ------------------------------------------------------------


def test_ensemble_scores_over_videos_with_missing_models_and_faces():
    per_model = {
        "xcep": {
            # one face at 0.9: 7 groups > 0.85 -> 0.9; one face, all > 0.6 -> max 0.9
            "v1": [const_frames(0.9)],
            "v2": [],  # no faces
            # faces 0.95 and 0.2: max 0.95 > 0.9 -> 0.95
            "v3": [const_frames(0.95), const_frames(0.2)],
        },
        # b3 on v1: 0.3 (all groups < 0.15? no, 0.3 -> mean of all 0.3); all faces < 0.4 -> 0.3
        "b3": {"v1": [const_frames(0.3, n=160)]},
        "sf": {"v1": [np.array([0.0, lg(0.7)])], "v4": [np.array([np.nan, 0.0])]},
    }
    got = ensemble_scores(per_model, SEED, video_ids=["v1", "v2", "v3", "v4", "v5"])
    # v1: image = xcep 0.9 (10), b3 0.3 (6): 1 of 2 > 0.8 -> (9 + 1.8)/16 = 0.675;
    #     video = sf 0.7; final = 0.4*0.7 + 0.6*0.675 = 0.28 + 0.405 = 0.685
    assert got["v1"] == pytest.approx(0.685)
    assert got["v2"] == 0.5  # no faces anywhere
    assert got["v3"] == pytest.approx(0.95)  # xcep alone
    assert got["v4"] == 0.5  # the only model failed on it
    assert got["v5"] == 0.5  # no model saw it
    assert list(got) == ["v1", "v2", "v3", "v4", "v5"]

    details = ensemble_details(per_model, SEED, video_ids=["v1", "v2", "v4", "v3", "v5"])
    assert details["v1"].status == "ok"
    assert details["v1"].group_scores == pytest.approx({"video": 0.7, "image": 0.675})
    assert details["v2"].status == "default"
    assert "xcep: no faces" in details["v2"].notes
    assert any("sf, face 1" in n and "finite" in n for n in details["v4"].notes)
    assert set(details["v5"].notes) == {
        "xcep: no prediction",
        "b3: no prediction",
        "sf: no prediction",
    }
    # Without video_ids: every video any model saw, sorted.
    assert list(ensemble_scores(per_model, SEED)) == ["v1", "v2", "v3", "v4"]


def test_ensemble_scores_refuses_unknown_models_and_unlisted_videos():
    with pytest.raises(ValueError, match="expected a model of"):
        ensemble_scores({"b7": {"v1": []}}, SEED)
    with pytest.raises(ValueError, match="not among the 1 requested"):
        ensemble_scores({"xcep": {"v1": [], "v2": []}}, SEED, video_ids=["v1"])
