"""The evaluate target through the real snakemake: the demo's FF++- and Celeb-DF-layout
datasets preprocessed as parts, every model and ensemble on every test set, the robustness
grid in both modes (reduced demo, tiny scale)."""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path

from rf_models.data.manifest import read_manifest
from rf_models.demo.eval_sets import load_eval_summary
from rf_models.evaluate.tables import read_rows
from rf_models.infer.predictions import read_prediction_file
from rf_models.infer.sampling import sample_frames
from tests.support.snakemake import run_snakemake, write_config

JOB_ROW = re.compile(r"^(\w+)\s+(\d+)$", re.MULTILINE)


def results(run) -> Path:
    return Path(run["config"]["results_dir"])


def job_counts(out: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in JOB_ROW.finditer(out) if m[1] not in ("total", "count")}


def test_the_datasets_are_parts_with_the_truths_labels_and_sets(demo_run):
    truth = load_eval_summary(demo_run["config"]["demo"]["evaluation"]["root"])
    seen = {}
    for manifest in sorted((results(demo_run) / "manifests").glob("tiny_*.tsv")):
        dataset, set_, group, _ = manifest.stem.split("-")
        assert set_ == "test", manifest  # only the test sets' parts were preprocessed
        for row in read_manifest(manifest):
            seen[(dataset, group, row.video)] = row
    expected = {}
    for video in truth.videos:
        if video.split != "test":
            continue
        dataset = {"ffpp": "tiny_ffpp", "celebdf": "tiny_celebdf"}[video.dataset]
        folder = Path(video.relpath).parts
        group = (
            folder[1]
            if folder[0] == "manipulated_sequences"
            else ("youtube" if dataset == "tiny_ffpp" else folder[0].replace("-", "_"))
        )
        expected[(dataset, group, Path(video.relpath).name)] = 1 if video.label == "FAKE" else 0
    assert {k: r.label for k, r in seen.items()} == expected
    assert all(r.status in ("ok", "partial", "no_face") for r in seen.values())
    # every video of each dataset, test or not, is in its index with its set
    index = list(
        csv.DictReader(open(results(demo_run) / "datasets" / "tiny_celebdf.tsv"), delimiter="\t")
    )
    sets = {Path(r["path"]).name: r["set"] for r in index}
    listed = {Path(v.relpath).name: v.split for v in truth.videos if v.dataset == "celebdf"}
    assert sets == listed and set(listed.values()) == {"test", "train"}


def test_the_cross_dataset_table_scores_every_model_and_ensemble_on_every_test_set(demo_run):
    table = read_rows(results(demo_run) / "evaluate" / "table.csv")
    names = [r["name"] for r in table]  # the ensemble stage's order: video models first
    assert names[:2] == ["sf", "b0"] and "seed_policy" in names and "stacking" in names
    for test_set in ("dfdc_heldout", "ffpp_test", "celebdf_test"):
        for row in table:
            auc = float(row[f"{test_set}_video_auc"])
            assert 0.0 <= auc <= 1.0, (test_set, row["name"])
            assert float(row[f"{test_set}_log_loss"]) > 0
        b0 = next(r for r in table if r["name"] == "b0")
        assert 0.0 <= float(b0[f"{test_set}_frame_auc"]) <= 1.0  # DeepfakeBench's headline
    assert (results(demo_run) / "evaluate" / "heatmap.png").stat().st_size > 0
    # the protocol's frames: 8 evenly spaced per face for the image model
    predictions = read_prediction_file(
        results(demo_run) / "evaluate" / "ffpp_test" / "predictions" / "b0.npz"
    )
    rows = {
        f"{r.part}/{r.video}": r
        for m in (results(demo_run) / "manifests").glob("tiny_ffpp-test-*.tsv")
        for r in read_manifest(m)
    }
    assert predictions.frames
    for video, faces in predictions.frames.items():
        wanted = sample_frames(rows[video].n_frames, 8, spacing="even")
        assert all(list(frames) == wanted for frames in faces), video


def test_the_robustness_grid_scores_each_condition_from_the_clean_tracks(demo_run):
    rows = read_rows(results(demo_run) / "robustness" / "table.csv")
    seed = {(r["perturbation"], r["level"]) for r in rows if r["name"] == "seed_policy"}
    assert seed == {("none", "0"), ("GB", "5"), ("VC", "5")}
    faces = results(demo_run) / "robustness" / "GB5" / "faces" / "dfdc_train_part_2"
    videos = [v for v in faces.iterdir() if v.is_dir()]
    assert videos
    for video in videos:  # the sampled frames only: 8 per video at most
        crops = [p.name for p in video.glob("*.jpg")]
        assert 0 < len({c.split("_")[0] for c in crops}) <= 8, video
    assert (results(demo_run) / "robustness" / "auc_vs_level.png").stat().st_size > 0


def test_a_new_model_scores_only_its_own_row(demo_run, tmp_path):
    config = copy.deepcopy(demo_run["config"])
    config["train"]["models"] = ["b0", "sf", "b1"]
    cfg = write_config(tmp_path / "config.yaml", config)
    out = run_snakemake(["-n", "evaluate", "--configfile", str(cfg)], demo_run["workdir"]).stdout
    counts = job_counts(out)
    assert counts["predict_test_set"] == 3, counts  # b1 on each test set, nothing else
    assert counts["predict_robustness"] == 1 and counts["train_model"] == 1, counts
    assert counts["ensemble_test_set"] == 3 and counts["ensemble_robustness"] == 3, counts
    assert "extract_frames" not in counts and "perturb_crops" not in counts, counts


def test_a_condition_added_to_the_grid_is_scored_and_tabled(demo_run, tmp_path):
    config = copy.deepcopy(demo_run["config"])
    config["evaluate"]["robustness"]["types"].append("CS")
    cfg = write_config(tmp_path / "config.yaml", config)
    out = run_snakemake(["-n", "evaluate", "--configfile", str(cfg)], demo_run["workdir"]).stdout
    counts = job_counts(out)
    assert counts["perturb_crops"] == 1 and counts["robustness_table"] == 1, counts
    # each model's one job re-scores the grid, so every condition's ensemble follows
    assert counts["predict_robustness"] == 2 and counts["ensemble_robustness"] == 4, counts
    assert "predict_test_set" not in counts and "align_faces" not in counts, counts


def test_redetect_runs_the_perturbed_videos_through_every_stage(demo_run, tmp_path):
    config = copy.deepcopy(demo_run["config"])
    config["evaluate"]["robustness"].update(mode="redetect", types=["CS"], levels=[5])
    cfg = write_config(tmp_path / "config.yaml", config)
    run_snakemake(["--configfile", str(cfg), "--cores", "2", "evaluate"], demo_run["workdir"])
    derived = results(demo_run) / "manifests" / "dfdc_train_part_2~CS5.tsv"
    clean = {
        r.video: r for r in read_manifest(results(demo_run) / "manifests" / "dfdc_train_part_2.tsv")
    }
    rows = read_manifest(derived)
    assert {r.video for r in rows} == set(clean)  # every video, perturbed, missing or unlabelled
    for row in rows:
        assert row.label == clean[row.video].label
        if clean[row.video].label is None:
            assert row.status == "bad_metadata", row
        elif clean[row.video].usable:
            assert row.status in ("ok", "partial", "no_face"), row
        else:
            assert row.status == "missing", row
    detections = results(demo_run) / "detections" / "dfdc_train_part_2~CS5"
    assert any(detections.rglob("frame1.txt"))  # the detector met the perturbed frames
    table = read_rows(results(demo_run) / "robustness" / "table.csv")
    assert {(r["perturbation"], r["level"]) for r in table if r["name"] == "seed_policy"} == {
        ("none", "0"),
        ("CS", "5"),
    }
