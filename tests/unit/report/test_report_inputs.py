"""Readers of the report's inputs: what they accept, and the errors for what they do not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rf_models.report.inputs import (
    is_combiner,
    metrics_name_column,
    read_manifest_counts,
    read_metrics,
    read_scores,
    read_training_metrics,
)
from tests.support.report_inputs import (
    COMBINERS,
    MODELS,
    make_scores,
    training_rows,
    write_part_manifest,
    write_scores,
    write_training,
)


def test_read_scores_columns_labels_and_status(scores_csv):
    scores = read_scores(scores_csv)
    df = make_scores()
    assert scores.models == MODELS
    assert scores.combiners == COMBINERS
    assert "n_models" not in scores.columns and "notes" not in scores.columns
    assert len(scores.videos) == len(df) == len(scores.labels)
    assert np.isnan(scores.labels[-2:]).all() and scores.labelled.sum() == len(df) - 2
    assert set(scores.labels[:-2]) == {0.0, 1.0}
    assert np.isnan(scores.columns["b3_empty"]).all()
    np.testing.assert_allclose(scores.columns["b1"], df["b1"])
    assert set(scores.status) == {"ok", "no_face"}


def test_combiners_by_name_without_a_seed_policy_column(tmp_path):
    df = make_scores(20).drop(columns=["seed_policy"])
    df["stacking+temperature"] = df["stacking"]
    scores = read_scores(write_scores(tmp_path / "s.csv", df))
    assert scores.combiners == ("mean", "stacking", "stacking_t", "stacking+temperature")
    assert scores.models == MODELS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("seed_policy", True),
        ("seed_policy_temperature", True),
        ("stacking+temperature", True),
        ("mean", True),
        ("meanwhile", False),
        ("b1", False),
        ("sf_16x8", False),
    ],
)
def test_is_combiner(name, expected):
    assert is_combiner(name) is expected


def test_read_scores_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_scores(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv: expected a scores CSV with a header"):
        read_scores(empty)
    df = make_scores(10)
    with pytest.raises(ValueError, match=r"missing \['label'\]"):
        read_scores(write_scores(tmp_path / "a.csv", df.drop(columns=["label"])))
    bad = df.copy()
    bad["label"] = bad["label"].astype(object)
    bad.loc[3, "label"] = "FAKE"
    with pytest.raises(ValueError, match=r"b.csv: expected label 1 \(FAKE\).*'FAKE'"):
        read_scores(write_scores(tmp_path / "b.csv", bad))
    bad = df.copy()
    bad.loc[2, "label"] = 2
    with pytest.raises(ValueError, match="expected label"):
        read_scores(write_scores(tmp_path / "c.csv", bad))
    bad = df.copy()
    bad.loc[1, "xcep"] = 1.5
    with pytest.raises(ValueError, match=r"d.csv: column 'xcep': expected P\(FAKE\).*1.5"):
        read_scores(write_scores(tmp_path / "d.csv", bad))


def test_read_metrics(metrics_csv, tmp_path):
    df = read_metrics(metrics_csv)
    assert metrics_name_column(df) == "name"
    assert set(df["level"]) == {"video", "frame"}
    assert df["reason"].map(type).eq(str).all()
    # the ensemble writes an empty file when no video is labelled
    empty = tmp_path / "none.csv"
    empty.write_text("\n")
    assert read_metrics(empty).empty


def test_read_metrics_bad_inputs(metrics_csv, tmp_path):
    df = pd.read_csv(metrics_csv)
    path = tmp_path / "m.csv"
    df.drop(columns=["roc_auc"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"m.csv: expected metrics columns.*missing \['roc_auc'\]"):
        read_metrics(path)
    bad = df.copy()
    bad["log_loss"] = bad["log_loss"].astype(object)
    bad.loc[0, "log_loss"] = "low"
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError, match="column 'log_loss': expected numbers"):
        read_metrics(path)
    df.drop(columns=["name"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="a column naming each row's model or combiner"):
        metrics_name_column(read_metrics(path), path)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_metrics(tmp_path / "missing.csv")


def test_read_training_metrics(tmp_path):
    rows = training_rows(100, 0)
    df = read_training_metrics(write_training(tmp_path / "t.csv", rows[::-1]))
    assert df["iteration"].is_monotonic_increasing
    assert len(df) == len(rows)
    assert math.isnan(df["val_auc"].iloc[1]) and not math.isnan(df["val_auc"].iloc[5])
    header_only = read_training_metrics(write_training(tmp_path / "empty.csv", []))
    assert header_only.empty and header_only["val_loss"].dtype == np.float64


def test_read_training_metrics_bad_inputs(tmp_path):
    path = write_training(tmp_path / "t.csv", training_rows(50, 0))
    df = pd.read_csv(path)
    df.drop(columns=["lr"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"t.csv: expected training metrics columns.*\['lr'\]"):
        read_training_metrics(path)
    # what curves.write_metrics_csv writes when handed numpy floats
    df = pd.read_csv(write_training(tmp_path / "u.csv", training_rows(50, 0)))
    df["train_loss"] = [f"np.float64({v})" for v in df["train_loss"]]
    df.to_csv(tmp_path / "u.csv", index=False)
    with pytest.raises(ValueError, match="u.csv: column 'train_loss': expected numbers"):
        read_training_metrics(tmp_path / "u.csv")
    with pytest.raises(FileNotFoundError, match="training metrics"):
        read_training_metrics(tmp_path / "none.csv")


def test_read_manifest_counts_order_and_empty(manifests):
    counts = read_manifest_counts(manifests)
    assert [p for p, _ in counts] == [
        "dfdc_train_part_0",
        "dfdc_train_part_2",
        "dfdc_train_part_10",
    ]
    by_part = dict(counts)
    assert by_part["dfdc_train_part_0"]["no_face"] == 3
    assert sum(by_part["dfdc_train_part_2"].values()) == 0  # empty manifest: part from its name
    assert by_part["dfdc_train_part_10"]["not_in_metadata"] == 1


def test_read_manifest_counts_bad_inputs(tmp_path, manifests):
    with pytest.raises(ValueError, match="is also the part of"):
        read_manifest_counts([manifests[0], manifests[0]])
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text(
        manifests[0].read_text() + manifests[1].read_text().split("\n", 1)[1], encoding="utf-8"
    )
    with pytest.raises(ValueError, match="mixed.tsv: expected the rows of one part"):
        read_manifest_counts([mixed])
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("video\tstatus\na.mp4\tok\n")
    with pytest.raises(ValueError, match="wrong.tsv: expected manifest columns"):
        read_manifest_counts([wrong])
    with pytest.raises(FileNotFoundError, match="manifest"):
        read_manifest_counts([tmp_path / "absent.tsv"])
    write_part_manifest(tmp_path / "p.tsv", "p", {"ok": 1})
    assert read_manifest_counts([tmp_path / "p.tsv"])[0][1]["ok"] == 1
