"""Training, the ensemble, the report and predict through the real snakemake (reduced demo)."""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import yaml

from rf_models.data.manifest import read_manifest
from rf_models.infer.submission import read_submission
from rf_models.report.registry import FIGURE_NAMES
from tests.support.snakemake import run_snakemake, write_config


def results(run) -> Path:
    return Path(run["config"]["results_dir"])


def test_each_model_has_checkpoint_metrics_and_curves(demo_run):
    for model in demo_run["config"]["train"]["models"]:
        folder = results(demo_run) / "models" / model
        for name in ("best.pt", "last.pt", "metrics.csv", "curves.png"):
            assert (folder / name).stat().st_size > 0, folder / name
        rows = list(csv.DictReader(open(folder / "metrics.csv")))
        assert rows and all(np.isfinite(float(r["train_loss"])) for r in rows)
        log = (results(demo_run) / "logs" / "train" / f"{model}.log").read_text()
        assert "rank 0 of 1" in log


def test_a_model_starts_from_the_block_it_names_trained_first(demo_run):
    models = results(demo_run) / "models"
    source = models / "sf_pretrain" / "best.pt"
    assert source.stat().st_size > 0
    block = yaml.safe_load((models / "sf" / "model_config.yaml").read_text())["models"]["sf"]
    assert block["init"] == str(source)
    logs = results(demo_run) / "logs" / "train"
    assert f"initial weights: {source}" in (logs / "sf.log").read_text()
    assert "initial weights: random" in (logs / "sf_pretrain.log").read_text()
    # trained, not scored: no predictions, no ensemble column
    assert sorted(p.name for p in (results(demo_run) / "predictions" / "demo").iterdir()) == [
        "b0.npz",
        "sf.npz",
    ]
    metrics = (results(demo_run) / "ensemble" / "demo" / "metrics.csv").read_text()
    assert "sf_pretrain" not in metrics


def test_ensemble_scores_every_validation_video(demo_run):
    val_rows = read_manifest(results(demo_run) / "manifests" / "dfdc_train_part_1.tsv")
    folder = results(demo_run) / "ensemble" / "demo"
    scores = list(csv.DictReader(open(folder / "scores.csv")))
    assert len(scores) == len(val_rows)  # every video of the part, unlabelled ones included
    for row in scores:
        p = float(row["seed_policy"])
        assert 0.0 <= p <= 1.0
        if row["status"] not in ("ok", "partial"):  # partial videos are scored
            assert p == 0.5, row
    metrics = list(csv.DictReader(open(folder / "metrics.csv")))
    names = {m.get("name") or m.get("model") for m in metrics}
    assert {"b0", "sf", "seed_policy", "mean", "stacking"} <= names, names
    assert (folder / "metrics.json").stat().st_size > 0


def test_predict_writes_one_row_per_video_and_logs_failures(demo_run):
    folder = Path(demo_run["config"]["predict_dir"])
    videos = sorted(p.name for p in folder.glob("*.mp4"))
    submission = results(demo_run) / "predict" / "submission.csv"
    rows = read_submission(submission)
    assert list(rows) == videos
    assert all(0.0 <= p <= 1.0 for p in rows.values())
    details = {r["filename"]: r for r in csv.DictReader(open(submission.with_name("details.csv")))}
    log = (results(demo_run) / "logs" / "predict_videos.log").read_text()
    for name, row in details.items():
        if row["status"] not in ("ok", "partial"):
            assert rows[name] == 0.5 and row["reason"], row
            assert name in log
    assert any(r["status"] == "empty_file" for r in details.values())
    doc = json.loads((submission.with_name("predictions.json")).read_text())
    assert [v["file"] for v in doc["videos"]] == videos
    scored = sorted(n for n, r in details.items() if r["status"] in ("ok", "partial"))
    assert scored
    pictures = submission.with_name("pictures")
    assert sorted(p.name for p in pictures.glob("*.png")) == [f"{n}.png" for n in scored]


def test_predict_scores_with_a_models_folder_that_is_not_the_runs(demo_run, tmp_path):
    # a folder in import_seed's layout (here: one of the run's models, copied), and a results
    # folder of its own: nothing is trained, only that model scores
    models = tmp_path / "models"
    shutil.copytree(results(demo_run) / "models" / "b0", models / "b0")
    config = copy.deepcopy(demo_run["config"])
    config.update(predict_models=str(models), results_dir=str(tmp_path / "results"))
    cfg = write_config(tmp_path / "config.yaml", config)
    out = run_snakemake(["predict", "--configfile", str(cfg), "--cores", "2"], demo_run["workdir"])
    assert "train_model" not in out.stdout + out.stderr
    submission = tmp_path / "results" / "predict" / "submission.csv"
    videos = sorted(p.name for p in Path(config["predict_dir"]).glob("*.mp4"))
    assert list(read_submission(submission)) == videos
    details = list(csv.DictReader(open(submission.with_name("details.csv"))))
    assert list(details[0])[6:] == ["b0"]  # the folder's one model, the ensemble renormalised
    ok = [r for r in details if r["status"] in ("ok", "partial")]
    assert ok and all(0.0 <= float(r["b0"]) <= 1.0 for r in ok)
    # a folder with no model the ensemble weighs stops the run before any job
    (models / "b0" / "best.pt").rename(models / "b0" / "old.pt")
    failed = run_snakemake(
        ["-n", "predict", "--configfile", str(cfg)], demo_run["workdir"], check=False
    )
    assert failed.returncode != 0 and "expected <model>/best.pt" in failed.stdout + failed.stderr


def test_report_html_has_every_figure(demo_run):
    report = demo_run["workdir"] / "report.html"
    run_snakemake(
        ["--configfile", str(demo_run["configfile"]), "--report", str(report)], demo_run["workdir"]
    )
    html = report.read_text(errors="replace")
    for figure in FIGURE_NAMES:
        assert re.search(rf"{figure}\.png", html), figure
    # the predict target's pictures, one per scored video of the held-out folder
    pictures = results(demo_run) / "predict" / "pictures"
    names = [p.name for p in pictures.glob("*.png")]
    assert names and all(name in html for name in names)
