"""run_ensemble on hand-built prediction files with known labels."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from rf_models.config import ConfigError
from rf_models.data.manifest import ManifestRow, write_manifest
from rf_models.infer.combiners import ScoreTable, StackingCombiner
from rf_models.infer.ensemble_stage import FittedCombiners, load_combiners, run_ensemble
from rf_models.infer.policy import EnsemblePolicy, ensemble_scores
from rf_models.infer.predictions import FORMAT, read_predictions
from tests.support.seed_config import policy_config

PART = "part_5"
COMBINERS = {
    "mean": {"type": "mean"},
    "stacking": {"type": "stacking", "cv_folds": 3, "calibration": "none"},
    "stacking_t": {"type": "stacking", "cv_folds": 3, "calibration": "temperature"},
}
SEED_POLICY = policy_config()


def write_pred(path, model, kind, faces, skipped=()):
    """A predictions file in predict_split's format from ``video -> per-face logits``."""
    video, face, frame, logits = [], [], [], []
    for vid, per_face in faces.items():
        for k, arr in enumerate(per_face, 1):
            arr = np.asarray(arr, np.float32).reshape(-1, 2)
            video += [vid] * len(arr)
            face += [k] * len(arr)
            frame += list(range(1, len(arr) + 1)) if kind == "image" else [-1]
            logits.append(arr)
    logits = np.concatenate(logits) if logits else np.zeros((0, 2), np.float32)
    np.savez(
        path,
        video=np.array(video, dtype=str),
        face=np.array(face, np.int32),
        frame=np.array(frame, np.int32),
        logit_real=logits[:, 0],
        logit_fake=logits[:, 1],
        skipped_video=np.array(list(skipped), dtype=str),
        skipped_reason=np.array(["missing crop frame3_face1.jpg"] * len(skipped), dtype=str),
        model=np.array(model),
        kind=np.array(kind),
        format=np.array(FORMAT),
    )
    return path


def mrow(name, label, status="ok", num_faces=2):
    return ManifestRow(
        part=PART,
        video=f"{name}.mp4",
        label=label,
        status=status,
        n_frames=10,
        num_faces=num_faces,
        reason="" if status == "ok" else f"{status} reason",
    )


def key(name):
    return f"{PART}/{name}.mp4"


@pytest.fixture
def data(tmp_path):
    """24 labelled scored videos, plus: no face (labelled), crops skipped by every model,
    scored by sf only, and one unlabelled video."""
    rng = np.random.default_rng(0)
    rows = [mrow(f"v{i:02d}", i % 2) for i in range(24)]
    rows += [
        mrow("noface", 1, status="no_face", num_faces=0),
        mrow("skipped", 0, num_faces=1),
        mrow("onlysf", 1),
        mrow("unlabelled", None),
    ]
    scored = [r for r in rows if r.video_id.startswith("v") or r.video_id == "unlabelled"]
    faces = {"xcep": {}, "b3": {}, "sf": {}}
    for r in scored:
        y = 1 if r.label is None else r.label
        for model, strength in (("xcep", 1.5), ("b3", 0.7), ("sf", 1.0)):
            n = 10 if model != "sf" else 1
            diff = rng.normal((2 * y - 1) * strength, 1.5, size=(2, n))
            per_face = [np.stack([-d / 2, d / 2], axis=1) for d in diff]
            faces[model][key(r.video_id)] = per_face if model != "sf" else [p[0] for p in per_face]
    faces["sf"][key("onlysf")] = [np.array([0.0, 3.0]), np.array([0.5, 1.0])]
    preds = {
        "xcep": write_pred(tmp_path / "xcep.npz", "xcep", "image", faces["xcep"], [key("skipped")]),
        "b3": write_pred(tmp_path / "b3.npz", "b3", "image", faces["b3"], [key("skipped")]),
        "sf": write_pred(tmp_path / "sf.npz", "sf", "video", faces["sf"], [key("skipped")]),
    }
    manifest = tmp_path / "manifest.tsv"
    write_manifest(manifest, rows)
    return {"rows": rows, "preds": preds, "manifests": [manifest], "out": tmp_path / "ens"}


def run(data, **kwargs):
    args = dict(
        predictions=data["preds"],
        manifests=data["manifests"],
        policy_cfg=SEED_POLICY,
        combiners_cfg=COMBINERS,
        out_dir=data["out"],
    )
    args.update(kwargs)
    return run_ensemble(**args)


def test_outputs_and_seed_policy(data):
    summary = run(data)
    scores = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    assert list(scores.columns) == [
        "label",
        "status",
        "n_models",
        "sf",
        "xcep",
        "b3",
        "seed_policy",
        "mean",
        "stacking",
        "stacking_t",
        "notes",
    ]
    assert len(scores) == 28
    # the seed policy column is the policy applied to the raw predictions
    per_model = {m: read_predictions(p) for m, p in data["preds"].items()}
    expected = ensemble_scores(
        per_model, EnsemblePolicy.from_config(SEED_POLICY), list(scores.index)
    )
    np.testing.assert_allclose(scores["seed_policy"], [expected[v] for v in scores.index])
    assert summary["videos"] == 28 and summary["labelled"] == 27 and summary["scored"] == 26
    assert summary["default_score"] == 2
    assert summary["models"] == ["sf", "xcep", "b3"]
    assert summary["skipped_by_model"] == {"sf": 1, "xcep": 1, "b3": 1}
    assert summary["combiners"] == ["seed_policy", "mean", "stacking", "stacking_t"]
    assert summary["primary"] == "seed_policy"
    assert summary["primary_metrics"]["n"] == 27


def test_unusable_and_unscored_videos_get_half_and_stay_in_metrics(data):
    run(data)
    scores = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    for name, status in (("noface", "no_face"), ("skipped", "no_prediction")):
        r = scores.loc[key(name)]
        assert r["status"] == status and r["n_models"] == 0
        assert r[["sf", "xcep", "b3"]].isna().all()
        for col in ("seed_policy", "mean", "stacking", "stacking_t"):
            assert r[col] == 0.5, (name, col)
    assert scores.loc[key("noface"), "notes"] == "no_face reason"
    assert "xcep: skipped: missing crop frame3_face1.jpg" in scores.loc[key("skipped"), "notes"]
    # only the video group scored it: the final score is sf's alone
    only = scores.loc[key("onlysf")]
    assert only["n_models"] == 1 and only["seed_policy"] == pytest.approx(only["sf"])
    assert pd.isna(scores.loc[key("unlabelled"), "label"])
    metrics = pd.read_csv(data["out"] / "metrics.csv")
    video = metrics[metrics["level"] == "video"]
    assert set(video["n"]) == {27}  # every labelled video, unusable ones included


def test_metrics_rows_and_columns(data):
    run(data)
    metrics = pd.read_csv(data["out"] / "metrics.csv")
    for col in ("name", "type", "group", "n_scored", "level", "n", "log_loss", "roc_auc", "eer"):
        assert col in metrics.columns
    got = set(zip(metrics["name"], metrics["level"], strict=True))
    assert got == {
        ("sf", "video"),
        ("xcep", "video"),
        ("xcep", "frame"),
        ("b3", "video"),
        ("b3", "frame"),
        ("seed_policy", "video"),
        ("mean", "video"),
        ("stacking", "video"),
        ("stacking_t", "video"),
    }
    frame = metrics[(metrics["name"] == "xcep") & (metrics["level"] == "frame")].iloc[0]
    assert frame["n"] == 24 * 2 * 10  # every frame of every face of the labelled videos
    sf = metrics[(metrics["name"] == "sf") & (metrics["level"] == "video")].iloc[0]
    assert sf["n_scored"] == 25 and sf["n"] == 27
    rows = json.loads((data["out"] / "metrics.json").read_text())
    assert len(rows) == len(metrics)
    seed = metrics[metrics["name"] == "seed_policy"].iloc[0]
    assert seed["roc_auc"] > 0.8  # informative fake models: the ensemble separates the classes


def test_stacking_is_out_of_fold(data):
    run(data)
    scores = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    fit = scores[(scores["n_models"] > 0) & scores["label"].notna()]
    table = ScoreTable(tuple(fit.index), ("sf", "xcep", "b3"), fit[["sf", "xcep", "b3"]].values)
    y = fit["label"].astype(int).values
    stack = StackingCombiner(cv_folds=3, seed=0).fit(table, y)
    np.testing.assert_allclose(fit["stacking"], stack.oof_predictions_, rtol=1e-9)
    in_sample = stack.predict(table)
    assert not np.allclose(fit["stacking"], in_sample)
    # the fitted parameters are saved and reproduce the in-sample predictions
    combiners = load_combiners(data["out"] / "combiners.json")
    assert set(combiners) == {"seed_policy", "mean", "stacking", "stacking_t"}
    np.testing.assert_allclose(combiners["stacking"].predict(table), in_sample, rtol=1e-9)
    saved = json.loads((data["out"] / "combiners.json").read_text())
    assert saved["stacking"]["models"] == ["sf", "xcep", "b3"]
    assert saved["stacking_t"]["calibrator"]["temperature"] > 0
    # an unlabelled scored video gets the model fitted on every labelled one
    un = scores.loc[[key("unlabelled")]]
    un_table = ScoreTable(tuple(un.index), ("sf", "xcep", "b3"), un[["sf", "xcep", "b3"]].values)
    assert un["stacking"].iloc[0] == pytest.approx(stack.predict(un_table)[0])


def test_mean_combiner_column(data):
    run(data)
    scores = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    scored = scores[scores["n_models"] > 0]
    np.testing.assert_allclose(scored["mean"], scored[["sf", "xcep", "b3"]].mean(axis=1))


def test_missing_models_are_left_out(data):
    preds = {"xcep": data["preds"]["xcep"], "sf": None}
    summary = run(data, predictions=preds)
    assert summary["models"] == ["xcep"]
    assert "sf" in summary["missing_models"] and "b3" in summary["missing_models"]
    scores = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    assert "sf" not in scores.columns and "b3" not in scores.columns
    scored = scores[scores["n_models"] > 0]
    # the image group alone: the final score is xcep's own video score
    np.testing.assert_allclose(scored["seed_policy"], scored["xcep"])
    assert scores.loc[key("onlysf"), "seed_policy"] == 0.5


def test_one_class_skips_learning_combiners(data, tmp_path):
    rows = [r for r in data["rows"] if r.label != 0]
    manifest = tmp_path / "fakes.tsv"
    write_manifest(manifest, rows)
    per_model = {m: read_predictions(p) for m, p in data["preds"].items()}
    keep = {key(r.video_id) for r in rows}
    preds = {}
    for model, kind in (("xcep", "image"), ("b3", "image"), ("sf", "video")):
        faces = {v: f for v, f in per_model[model].items() if v in keep}
        preds[model] = write_pred(tmp_path / f"{model}.npz", model, kind, faces)
    summary = run(data, predictions=preds, manifests=[manifest])
    assert set(summary["skipped_combiners"]) == {"stacking", "stacking_t"}
    assert "both classes" in summary["skipped_combiners"]["stacking"]
    scores = pd.read_csv(data["out"] / "scores.csv")
    assert "mean" in scores.columns and "stacking" not in scores.columns
    metrics = pd.read_csv(data["out"] / "metrics.csv")
    assert metrics["roc_auc"].isna().all()  # undefined on one class, recorded, not a crash


def test_primary_combiner_metrics(data):
    summary = run(data, primary="stacking")
    assert summary["primary"] == "stacking"
    assert summary["primary_metrics"]["name"] == "stacking"


def test_no_combiners_only_the_seed_policy(data):
    summary = run(data, combiners_cfg=None)
    assert summary["combiners"] == ["seed_policy"]
    assert set(load_combiners(data["out"] / "combiners.json")) == {"seed_policy"}


# -- bad inputs ---------------------------------------------------------------------------


def test_prediction_for_a_model_outside_the_policy(data):
    with pytest.raises(ValueError, match=r"\['zz'\].*not in the policy"):
        run(data, predictions={**data["preds"], "zz": data["preds"]["xcep"]})


def test_prediction_of_the_wrong_kind_or_model(data):
    with pytest.raises(
        ValueError, match="sf.npz: expected .* image model 'xcep', found video model 'sf'"
    ):
        run(data, predictions={"xcep": data["preds"]["sf"], "sf": data["preds"]["sf"]})
    with pytest.raises(ValueError, match="xcep.npz.*image model 'b3'"):
        run(data, predictions={"b3": data["preds"]["xcep"]})


def test_missing_prediction_file(data, tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.npz"):
        run(data, predictions={"xcep": tmp_path / "gone.npz"})


def test_predicted_video_not_in_manifests(data, tmp_path):
    manifest = tmp_path / "small.tsv"
    write_manifest(manifest, data["rows"][:5])
    with pytest.raises(ValueError, match="not in the manifests"):
        run(data, manifests=[manifest])


@pytest.mark.parametrize(
    "combiners, match",
    [
        ({"seed_policy": {"type": "seed_policy"}}, "give a variant its own name"),
        ({"stack": {"type": "stack"}}, "combiners.stack.type: 'stack' is not one of"),
        ({"mean": {"type": "mean", "C": 1.0}}, "combiners.mean: {'type': 'mean', 'C': 1.0}"),
        ({"mean": []}, "combiners.mean: [] is not of type 'object'"),
    ],
)
def test_bad_combiner_config(data, combiners, match):
    with pytest.raises(ConfigError) as err:
        run(data, combiners_cfg=combiners)
    assert match in str(err.value)


def test_bad_primary_and_policy(data):
    with pytest.raises(ValueError, match="ensemble.primary"):
        run(data, primary="median")
    with pytest.raises(ValueError, match="ensemble.policy"):
        run(data, policy_cfg=policy_config(face_rule={"max_above": 2}))
    # no file is written for a configuration error
    assert not data["out"].exists()


def test_a_calibrated_seed_policy_is_a_column_of_its_own(data):
    summary = run(
        data, combiners_cfg={"seed_t": {"type": "seed_policy", "calibration": "temperature"}}
    )
    assert summary["combiners"] == ["seed_policy", "seed_t"]


def _moved(data, tmp_path, part, flip_labels=False):
    """The fixture's videos as another part (other video keys), labels optionally flipped."""
    rows = [
        dataclasses.replace(
            r, part=part, label=None if r.label is None or not flip_labels else 1 - r.label
        )
        for r in data["rows"]
    ]
    manifest = tmp_path / f"{part}.tsv"
    write_manifest(manifest, rows)
    preds = {}
    for (model, path), kind in zip(data["preds"].items(), ("image", "image", "video"), strict=True):
        faces = {v.replace(PART, part, 1): f for v, f in read_predictions(path).items()}
        preds[model] = write_pred(tmp_path / f"{part}_{model}.npz", model, kind, faces)
    return preds, [manifest]


def test_an_evaluation_scores_with_the_combiners_the_ensemble_split_fitted(data, tmp_path):
    run(data)  # the ensemble split: fits the learned combiners
    fitted = FittedCombiners.load(data["out"] / "combiners.json", data["manifests"])
    frozen = load_combiners(data["out"] / "combiners.json")
    columns = {}
    for flip in (False, True):
        preds, manifests = _moved(data, tmp_path, f"test{int(flip)}", flip_labels=flip)
        out = tmp_path / f"eval{int(flip)}"
        run(data, predictions=preds, manifests=manifests, out_dir=out, fitted=fitted)
        scores = pd.read_csv(out / "scores.csv").set_index("video")
        scored = scores[scores["n_models"] > 0]
        table = ScoreTable(
            tuple(scored.index), ("sf", "xcep", "b3"), scored[["sf", "xcep", "b3"]].values
        )
        for name in ("stacking", "stacking_t"):
            np.testing.assert_allclose(scored[name], frozen[name].predict(table), rtol=1e-9)
        columns[flip] = scores[["stacking", "stacking_t"]].to_numpy()
        # combiners.json records the parameters that scored the set: the ensemble split's
        assert json.loads((out / "combiners.json").read_text()) == json.loads(
            (data["out"] / "combiners.json").read_text()
        )
    # the test set's labels are never learned from: flipping them changes no score
    np.testing.assert_array_equal(columns[False], columns[True])


def test_an_evaluation_of_the_ensemble_splits_own_videos_stays_out_of_fold(data, tmp_path):
    run(data)
    own = pd.read_csv(data["out"] / "scores.csv").set_index("video")
    fitted = FittedCombiners.load(data["out"] / "combiners.json", data["manifests"])
    summary = run(data, out_dir=tmp_path / "again", fitted=fitted)
    assert not summary["skipped_combiners"]
    again = pd.read_csv(tmp_path / "again" / "scores.csv").set_index("video")
    labelled = own["label"].notna() & (own["n_models"] > 0)
    # the labelled videos it was fitted on: out of fold, as the ensemble stage scored them
    np.testing.assert_allclose(
        again.loc[labelled, "stacking"], own.loc[labelled, "stacking"], rtol=1e-12
    )
    # the unlabelled one: the fitted parameters
    np.testing.assert_allclose(
        again.loc[~labelled, "stacking"], own.loc[~labelled, "stacking"], rtol=1e-12
    )


def test_an_evaluation_without_fitted_combiners_skips_the_learned_ones(data, tmp_path):
    summary = run(data, fitted=FittedCombiners({}, frozenset()))
    assert set(summary["skipped_combiners"]) == {"stacking", "stacking_t"}
    assert "has no fitted stacking" in summary["skipped_combiners"]["stacking"]
    scores = pd.read_csv(data["out"] / "scores.csv")
    assert "mean" in scores.columns and "stacking" not in scores.columns
