"""Each figure builds from small synthetic inputs into a PNG that decodes, and says on the
figure what its data cannot define instead of failing."""

from __future__ import annotations

import html
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from rf_models.report.figures import (
    common,
    manifest_summary_table,
    metrics_html_table,
    plot_combiners,
    plot_manifest_summary,
    plot_metrics_table,
    plot_reliability,
    plot_roc,
    plot_score_histograms,
    plot_training_curves,
)
from rf_models.report.figures import manifests as manifest_figures
from rf_models.report.figures import metrics as metric_figures
from rf_models.report.figures import scores as score_figures
from rf_models.report.figures import training as training_figures
from tests.support.report_inputs import (
    make_scores,
    training_rows,
    write_metrics_from_scores,
    write_part_manifest,
    write_scores,
    write_training,
)


def check_png(path: Path, min_wh=(500, 250), max_wh=(2400, 2400)) -> np.ndarray:
    """The file decodes as a PNG of a plausible size with something drawn on it, and no
    temporary sibling is left beside it."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, f"{path} does not decode"
    h, w = img.shape[:2]
    assert min_wh[0] <= w <= max_wh[0] and min_wh[1] <= h <= max_wh[1], (w, h)
    assert img.std() > 10  # not a blank canvas
    assert not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]
    return img


@pytest.fixture
def messages(monkeypatch) -> list[str]:
    """The texts figures put on panels they cannot draw."""
    seen: list[str] = []
    original = common.message

    def record(ax, text, fontsize=12):
        seen.append(text)
        original(ax, text, fontsize)

    for family in (score_figures, metric_figures, training_figures, manifest_figures):
        monkeypatch.setattr(family, "message", record)
    return seen


def test_roc(scores_csv, tmp_path, messages):
    out = tmp_path / "fig" / "roc.png"
    plot_roc(scores_csv, out)
    check_png(out)
    assert messages == []
    plot_roc(scores_csv, tmp_path / "two.png", columns=["b1", "seed_policy", "nope"])
    check_png(tmp_path / "two.png")


@pytest.mark.parametrize("one_class", [0, 1])
def test_roc_single_class_says_so(tmp_path, messages, one_class):
    path = write_scores(tmp_path / "s.csv", make_scores(30, one_class=one_class))
    plot_roc(path, tmp_path / "roc.png")
    check_png(tmp_path / "roc.png")
    which = "FAKE" if one_class else "REAL"
    assert len(messages) == 1 and f"ROC not defined: only {which} videos" in messages[0]


def test_roc_without_labels(tmp_path, messages):
    df = make_scores(20)
    df["label"] = pd.NA
    plot_roc(write_scores(tmp_path / "s.csv", df), tmp_path / "roc.png")
    check_png(tmp_path / "roc.png")
    assert "no labelled videos" in messages[0]


def test_roc_no_file_no_output(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        plot_roc(tmp_path / "absent.csv", tmp_path / "roc.png")
    assert list(tmp_path.iterdir()) == []


def test_reliability(scores_csv, tmp_path, messages):
    plot_reliability(scores_csv, tmp_path / "rel.png")
    check_png(tmp_path / "rel.png")
    plot_reliability(scores_csv, tmp_path / "all.png", columns=None, bins=5)
    check_png(tmp_path / "all.png")
    assert messages == []
    # a model with no score at all and a column that is not there
    plot_reliability(scores_csv, tmp_path / "none.png", columns=["b3_empty", "gone"])
    check_png(tmp_path / "none.png")
    assert messages == ["no labelled scores in the requested columns:\nnothing to calibrate"]
    for bins in (1, 2.5):
        with pytest.raises(ValueError, match="expected bins >= 2"):
            plot_reliability(scores_csv, tmp_path / "bad.png", bins=bins)
    assert not (tmp_path / "bad.png").exists()


def test_reliability_bins_and_ece():
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    count, mean_p, frac, ece = score_figures._reliability_bins(p, y, 10)
    assert count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]  # p = 1.0 in the last bin
    np.testing.assert_allclose(mean_p[[0, 1, 9]], [0.05, 0.15, 0.975])
    np.testing.assert_allclose(frac[[0, 1, 9]], [0.0, 0.5, 1.0])
    assert np.isnan(frac[2])
    assert ece == pytest.approx((1 * 0.05 + 2 * 0.35 + 2 * 0.025) / 5)


def test_one_class_reliability_and_histograms_still_draw(tmp_path, messages):
    path = write_scores(tmp_path / "s.csv", make_scores(30, one_class=1))
    plot_reliability(path, tmp_path / "rel.png")
    plot_score_histograms(path, tmp_path / "hist.png")
    check_png(tmp_path / "rel.png")
    check_png(tmp_path / "hist.png")
    assert messages == ["no scores"]  # the all-NaN model's small panel only


def test_score_histograms(scores_csv, tmp_path, messages):
    plot_score_histograms(scores_csv, tmp_path / "hist.png")
    img = check_png(tmp_path / "hist.png")
    assert img.shape[0] > 600  # the small multiples below the main panel
    assert messages == ["no scores"]  # b3_empty
    plot_score_histograms(scores_csv, tmp_path / "gone.png", column="gone")
    check_png(tmp_path / "gone.png")
    assert "no column 'gone'" in messages[1] and "seed_policy" in messages[1]
    with pytest.raises(ValueError, match="expected bins >= 2"):
        plot_score_histograms(scores_csv, tmp_path / "bad.png", bins=0)


def test_score_histograms_without_models_or_labels(tmp_path, messages):
    df = make_scores(25)[["video", "label", "seed_policy"]]
    df["label"] = pd.NA
    plot_score_histograms(write_scores(tmp_path / "s.csv", df), tmp_path / "h.png")
    check_png(tmp_path / "h.png", min_wh=(500, 200))
    assert messages == []  # unlabelled videos are drawn when no video has a label


def test_metrics_table(metrics_csv, tmp_path, messages):
    plot_metrics_table(metrics_csv, tmp_path / "t.png")
    check_png(tmp_path / "t.png")
    assert messages == []


def test_metrics_table_undefined_metrics_and_no_rows(tmp_path, messages):
    path = write_metrics_from_scores(tmp_path / "m.csv", make_scores(30, one_class=0))
    plot_metrics_table(path, tmp_path / "t.png")
    check_png(tmp_path / "t.png")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    plot_metrics_table(empty, tmp_path / "e.png")
    check_png(tmp_path / "e.png", min_wh=(400, 100))
    assert messages == ["the metrics file has no rows (no labelled videos?)"]


def test_metrics_html_table(metrics_csv, tmp_path):
    text = metrics_html_table(metrics_csv)
    df = pd.read_csv(metrics_csv)
    assert text.startswith('<table class="rf-metrics">')
    assert text.count("<tr>") == len(df) + 1
    video = df[df["level"] == "video"]
    best_ll = video.loc[video["log_loss"].idxmin()]
    best_auc = video["roc_auc"].max()
    # the best value in bold, followed by its 95% bootstrap interval
    ll_ci = f"[{best_ll['log_loss_ci_low']:.4f}, {best_ll['log_loss_ci_high']:.4f}]"
    assert f"<strong>{best_ll['log_loss']:.4f} {ll_ci}</strong>" in text
    assert f"<strong>{best_auc:.4f} [" in text
    assert "[" not in text.split("<tbody>")[0]  # no interval columns of their own
    # undefined metrics: "n/a" with the reason as a tooltip, and a reason column
    one = write_metrics_from_scores(tmp_path / "one.csv", make_scores(30, one_class=1))
    text = metrics_html_table(one)
    assert '<span title="one class only' in text and "<th>reason</th>" in text
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "no rows" in metrics_html_table(empty)


def test_metrics_html_escapes(tmp_path):
    df = pd.read_csv(write_metrics_from_scores(tmp_path / "m.csv", make_scores(20)))
    df.loc[0, "name"] = "<b>&x"
    df.to_csv(tmp_path / "m.csv", index=False)
    text = metrics_html_table(tmp_path / "m.csv")
    assert html.escape("<b>&x") in text and "<b>&x" not in text


def test_combiners(metrics_csv, tmp_path, messages):
    plot_combiners(metrics_csv, tmp_path / "c.png")
    check_png(tmp_path / "c.png")
    split = write_metrics_from_scores(tmp_path / "s.csv", make_scores(), splits=("val", "test"))
    plot_combiners(split, tmp_path / "s.png")
    check_png(tmp_path / "s.png")
    # without a type column, combiners are recognised by their names
    df = pd.read_csv(metrics_csv).drop(columns=["type"])
    df.to_csv(tmp_path / "untyped.csv", index=False)
    plot_combiners(tmp_path / "untyped.csv", tmp_path / "u.png")
    check_png(tmp_path / "u.png")
    assert messages == []


def test_combiners_missing_rows_and_one_class(metrics_csv, tmp_path, messages):
    df = pd.read_csv(metrics_csv)
    df[df["type"] == "model"].to_csv(tmp_path / "models.csv", index=False)
    plot_combiners(tmp_path / "models.csv", tmp_path / "m.png")
    check_png(tmp_path / "m.png", min_wh=(500, 150))
    assert messages == ["no combiner rows at video level in models.csv"]
    one = write_metrics_from_scores(tmp_path / "one.csv", make_scores(30, one_class=1))
    plot_combiners(one, tmp_path / "one.png")  # AUC undefined: log loss bars only
    check_png(tmp_path / "one.png")
    df.drop(columns=["name"]).to_csv(tmp_path / "noname.csv", index=False)
    with pytest.raises(ValueError, match="noname.csv: expected a column naming"):
        plot_combiners(tmp_path / "noname.csv", tmp_path / "x.png")


def test_training_curves(training_csvs, tmp_path, messages):
    plot_training_curves(training_csvs, tmp_path / "tc.png")
    check_png(tmp_path / "tc.png")
    assert messages == []


def test_training_curves_partial_runs(tmp_path, messages):
    no_val = [{k: v for k, v in r.items() if not k.startswith("val")} for r in training_rows(80, 0)]
    paths = {
        "empty": write_training(tmp_path / "e.csv", []),
        "no_val": write_training(tmp_path / "n.csv", no_val),
    }
    plot_training_curves(paths, tmp_path / "tc.png")
    check_png(tmp_path / "tc.png")
    assert messages.count("no values logged") == 3  # val loss, val log loss, val AUC
    with pytest.raises(ValueError, match="at least one model"):
        plot_training_curves({}, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="gone.csv"):
        plot_training_curves({"a": tmp_path / "gone.csv"}, tmp_path / "x.png")


def test_manifest_summary(manifests, tmp_path, messages):
    plot_manifest_summary(manifests, tmp_path / "m.png")
    check_png(tmp_path / "m.png")
    assert messages == []


def test_manifest_summary_empty_manifests(tmp_path, messages):
    paths = [write_part_manifest(tmp_path / f"p{k}.tsv", f"p{k}", {}) for k in range(2)]
    plot_manifest_summary(paths, tmp_path / "m.png")
    check_png(tmp_path / "m.png")
    assert messages == ["the manifests list no videos", "every video is ok"]


def test_manifest_summary_many_parts(tmp_path):
    paths = [
        write_part_manifest(
            tmp_path / f"dfdc_train_part_{k}.tsv",
            f"dfdc_train_part_{k}",
            {"ok": 3 + k % 4, "no_face": k % 2},
        )  # fmt: skip
        for k in range(50)
    ]
    plot_manifest_summary(paths, tmp_path / "m.png")
    check_png(tmp_path / "m.png", max_wh=(2400, 1200))


def test_short_part_labels():
    parts = ["dfdc_train_part_0", "dfdc_train_part_10", "dfdc_train_part_12"]
    assert manifest_figures._short_parts(parts) == (["0", "10", "12"], "dfdc_train_part_")
    assert manifest_figures._short_parts(["a", "b"]) == (["a", "b"], "")
    assert manifest_figures._short_parts(["p1"]) == (["p1"], "")


def test_manifest_summary_table(manifests):
    tsv = manifest_summary_table(manifests, fmt="tsv")
    lines = [line.split("\t") for line in tsv.strip().split("\n")]
    header = lines[0]
    assert header[:3] == ["part", "videos", "usable"] and header[3] == "ok"
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in lines[1:]}
    assert list(rows) == ["dfdc_train_part_0", "dfdc_train_part_2", "dfdc_train_part_10", "total"]
    assert (
        rows["dfdc_train_part_0"]["videos"] == "26" and rows["dfdc_train_part_0"]["usable"] == "22"
    )
    assert rows["dfdc_train_part_2"]["videos"] == "0"
    assert rows["total"]["videos"] == "48" and rows["total"]["missing"] == "2"
    text = manifest_summary_table(manifests)
    assert text.startswith('<table class="rf-manifests">')
    assert re.search(r'<tr class="total"><th scope="row">total</th><td>48</td>', text)
    with pytest.raises(ValueError, match="expected fmt 'html' or 'tsv', found 'csv'"):
        manifest_summary_table(manifests, fmt="csv")


def test_colours_are_stable_across_figures():
    # a model keeps its colour whichever of the report's models a figure draws
    models = ["xcep", "sf", "b1"]
    assert common.line_styles(["b1"], models=models)["b1"] == common.line_styles(models)["b1"]
    assert common.line_styles(["xcep", "b1"])["b1"] != common.line_styles(["xcep", "b1"])["xcep"]
    combiners = ["seed_policy", "stacking", "stacking_temperature", "custom"]
    styles = common.line_styles(["b1", *combiners], combiners)
    assert styles["stacking"]["color"] == styles["stacking_temperature"]["color"]
    assert (styles["stacking"]["ls"], styles["stacking_temperature"]["ls"]) == ("-", "--")
    assert styles["custom"]["lw"] > styles["b1"]["lw"]
    assert len({styles[c]["color"] for c in ("seed_policy", "stacking", "custom", "b1")}) == 4
