"""The cross-dataset and robustness tables, their figures and the printed summary."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import pytest

from rf_models.evaluate.summary import main, summarize
from rf_models.evaluate.tables import (
    ROBUSTNESS_COLUMNS,
    cross_dataset_table,
    gather_metrics,
    read_rows,
    robustness_rows,
    write_rows,
)
from rf_models.report.figures.evaluation import (
    plot_cross_dataset_heatmap,
    plot_robustness_curves,
)
from tests.support.report_inputs import COMBINERS, MODELS, make_scores, write_metrics_from_scores


@pytest.fixture
def metrics(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for k, name in enumerate(("dfdc", "ffpp", "celebdf")):
        path = tmp_path / name / "metrics.csv"
        path.parent.mkdir()
        out[name] = write_metrics_from_scores(path, make_scores(seed=k))
    return out


def test_the_table_has_a_row_per_model_and_ensemble_and_a_column_group_per_test_set(metrics):
    columns, rows = cross_dataset_table(metrics)
    assert [r["name"] for r in rows] == [*MODELS, *COMBINERS]
    assert columns[:2] == ["name", "type"] and "celebdf_frame_auc" in columns
    source = {r["name"]: r for r in read_rows(metrics["ffpp"]) if r["level"] == "video"}
    frames = {r["name"]: r for r in read_rows(metrics["ffpp"]) if r["level"] == "frame"}
    for row in rows:
        video = source[row["name"]]
        assert row["ffpp_video_auc"] == pytest.approx(float(video["roc_auc"]), nan_ok=True)
        assert row["ffpp_video_auc_ci_low"] == pytest.approx(float(video["roc_auc_ci_low"]))
        assert row["ffpp_log_loss"] == pytest.approx(float(video["log_loss"]))
        for metric in ("average_precision", "eer", "log_loss"):
            for col in (metric, f"{metric}_ci_low", f"{metric}_ci_high"):
                assert row[f"ffpp_{col}"] == pytest.approx(float(video[col]), nan_ok=True)
        assert row["ffpp_average_precision_ci_low"] <= row["ffpp_average_precision"]
        assert (row["ffpp_n"], row["ffpp_n_scored"]) == (int(video["n"]), int(video["n_scored"]))
        if row["name"] in frames:  # image models: DeepfakeBench's frame-level AUC
            assert row["ffpp_frame_auc"] == pytest.approx(float(frames[row["name"]]["roc_auc"]))
        else:  # combiners have no frame level
            assert math.isnan(row["ffpp_frame_auc"])
    long = gather_metrics(metrics)
    assert {r["test_set"] for r in long} == set(metrics)
    assert len(long) == sum(len(read_rows(p)) for p in metrics.values())


def test_the_heat_map_and_the_printed_table(metrics, tmp_path):
    columns, rows = cross_dataset_table(metrics)
    results = tmp_path / "results"
    write_rows(results / "evaluate" / "table.csv", columns, rows)
    png = results / "evaluate" / "heatmap.png"
    plot_cross_dataset_heatmap(rows, list(metrics), png)
    image = cv2.imread(str(png))
    assert image is not None and image.shape[1] > 400
    text = summarize(results)
    assert "Cross-dataset evaluation" in text
    first = next(r for r in rows if r["name"] == "seed_policy")
    assert f"{first['dfdc_video_auc']:.3f}" in text
    assert main([str(results)]) == 0 and main([]) == 2


def test_robustness_rows_start_at_the_clean_score(metrics, tmp_path):
    conditions = {"clean": metrics["dfdc"], "GB3": metrics["ffpp"], "VC5": metrics["celebdf"]}
    rows = robustness_rows(conditions)
    seed = [r for r in rows if r["name"] == "seed_policy"]
    assert [(r["perturbation"], r["level"]) for r in seed] == [("none", 0), ("GB", 3), ("VC", 5)]
    clean = next(r for r in read_rows(metrics["dfdc"]) if r["name"] == "seed_policy")
    assert seed[0]["video_auc"] == pytest.approx(float(clean["roc_auc"]))
    write_rows(tmp_path / "results" / "robustness" / "table.csv", ROBUSTNESS_COLUMNS, rows)
    png = tmp_path / "curves.png"
    plot_robustness_curves(rows, png)
    assert cv2.imread(str(png)) is not None
    text = summarize(tmp_path / "results")
    assert "Robustness" in text and "GB" in text and "VC" in text
    with pytest.raises(ValueError, match="expected a perturbation type"):
        robustness_rows({"XX9": metrics["dfdc"]})


def test_a_file_that_is_not_a_metrics_table_is_named(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected metrics columns"):
        cross_dataset_table({"x": bad})
    assert summarize(tmp_path) == f"{tmp_path}: no evaluation outputs yet"
