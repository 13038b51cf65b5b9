"""The preprocessing half of the DAG through the real snakemake, on a reduced demo."""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path

from rf_models.data.lists import read_list
from rf_models.data.manifest import read_manifest
from rf_models.detect.txt_io import read_detections_txt
from tests.support.snakemake import run_snakemake, write_config

# demo case -> the manifest status the workflow must give it
EXPECTED_STATUS = {
    "landscape_1080p": {"ok"},
    "portrait_1080p": {"ok"},
    "two_faces": {"ok"},
    "no_face": {"no_face"},
    "truncated": {"unreadable", "partial"},
    "zero_byte": {"empty_file"},
    "missing_file": {"missing"},
    "not_in_metadata": {"not_in_metadata"},
}


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    counts = {}
    table = dry_run_stdout.split("Job stats:", 1)[-1]
    for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M):
        if rule != "total":
            counts[rule] = int(n)
    return counts


def manifests(run, parts=None) -> dict[str, dict]:
    """The clean parts' manifest rows as {part/video: row}; only those of `parts` where given.
    The shared run also holds evaluation datasets' parts and perturbed copies of a part
    (`<part>~<condition>.tsv`, whose rows name the clean part)."""
    results = Path(run["config"]["results_dir"])
    rows = {}
    for path in sorted((results / "manifests").glob("*.tsv")):
        if "~" in path.stem or (parts is not None and path.stem not in parts):
            continue
        for row in read_manifest(path):
            rows[f"{row.part}/{row.video}"] = row
    return rows


def test_every_video_is_in_a_manifest_with_its_status(demo_run):
    summary = json.loads((Path(demo_run["config"]["data_root"]) / "demo_summary.json").read_text())
    processed = {f"dfdc_train_part_{k}" for k in demo_run["config"]["parts"]}
    rows = manifests(demo_run, processed)
    videos = [v for v in summary["videos"] if v["part"] in processed]
    assert len(rows) == len(videos)
    for video in videos:
        row = rows[f"{video['part']}/{video['filename']}"]
        expected = EXPECTED_STATUS.get(video["case"], {"ok"})
        assert row.status in expected, (video, row)
        if row.status not in ("ok", "partial"):
            assert row.reason, row
    for two in (v for v in videos if v["case"] == "two_faces"):
        assert rows[f"{two['part']}/{two['filename']}"].num_faces == 2


def test_detections_tracks_crops_and_lists(demo_run):
    results = Path(demo_run["config"]["results_dir"])
    rows = [r for r in manifests(demo_run).values() if r.status in ("ok", "partial")]
    assert rows
    for row in rows:
        txts = list((results / "detections" / row.part / row.video_id).glob("frame*.txt"))
        assert len(txts) == row.n_frames
        boxes = read_detections_txt(txts[0])
        assert boxes.shape[1] == 5
        crops = list((results / "faces" / row.part / row.video_id).glob("frame*_face*.jpg"))
        assert len(crops) == row.n_frames * row.num_faces
    assert not (results / "frames").exists(), "frames are temp() by default"
    lists = results / "lists" / "demo"
    train = read_list(lists / "train_image.txt")
    val = read_list(lists / "val_image.txt")
    assert train and val
    assert {line.label for line in train} == {0, 1}
    assert all(line.pattern.startswith("dfdc_train_part_0/") for line in train)
    assert all(line.pattern.startswith("dfdc_train_part_1/") for line in val)
    for line in read_list(lists / "val_video.txt"):
        for frame in line.frames():
            assert (results / "faces" / (line.pattern % frame)).is_file()


def test_part_jobs_log_progress_and_keep_each_video_in_their_work_area(demo_run):
    results = Path(demo_run["config"]["results_dir"])
    for rule in ("extract_frames", "detect_faces", "track_faces", "align_faces"):
        for k in demo_run["config"]["parts"]:
            part = f"dfdc_train_part_{k}"
            log = (results / "logs" / rule / f"{part}.log").read_text()
            done = re.search(
                rf"{rule} {part}: video (\d+)/(\d+) \(0 reused from an earlier attempt\), "
                r"elapsed \d+:\d\d:\d\d, ETA 0:00:00 \(finished\)",
                log,
            )
            assert done and done.group(1) == done.group(2), log
            entries = list((results / "work" / rule / part / "videos").glob("*/entry.json"))
            assert len(entries) == int(done.group(2)), (rule, part)


def test_second_run_has_nothing_to_do(demo_run):
    out = run_snakemake(["-n", "--configfile", str(demo_run["configfile"])], demo_run["workdir"])
    assert "Nothing to be done" in out.stdout + out.stderr
    # nor when snakemake starts through another name of the interpreter (python, python3)
    this = Path(sys.executable)
    other = this.with_name("python3" if this.name == "python" else "python")
    assert other.resolve() == this.resolve(), (this, other)  # a venv has both names
    out = run_snakemake(
        ["-n", "--configfile", str(demo_run["configfile"])], demo_run["workdir"], python=other
    )
    assert "Nothing to be done" in out.stdout + out.stderr


def test_stage_parameter_reruns_that_stage_and_downstream_only(demo_run, tmp_path):
    config = copy.deepcopy(demo_run["config"])
    config["track"] = {"crop_scale": 1.4}
    cfg = write_config(tmp_path / "config.yaml", config)
    workdir = demo_run["workdir"]
    dry = run_snakemake(["-n", "--configfile", str(cfg)], workdir).stdout
    counts = job_counts(dry)
    assert "Params have changed since last execution" in dry
    assert counts.get("track_faces") == 3 and counts.get("align_faces") == 3, counts
    assert "extract_frames" not in counts and "detect_faces" not in counts, counts
    assert "build_demo_data" not in counts and "export_detector" not in counts, counts


def test_changed_video_reruns_only_its_part(demo_run, tmp_path):
    workdir = demo_run["workdir"]
    summary = json.loads((Path(demo_run["config"]["data_root"]) / "demo_summary.json").read_text())
    video = next(
        v for v in summary["videos"] if v["part"] == "dfdc_train_part_1" and v["case"] == "normal"
    )
    path = Path(demo_run["config"]["data_root"]) / video["part"] / video["filename"]
    original, stat = path.read_bytes(), path.stat()
    try:
        path.write_bytes(original + b"\0")  # new content: new size and mtime
        counts = job_counts(
            run_snakemake(["-n", "--configfile", str(demo_run["configfile"])], workdir).stdout
        )
    finally:  # the old mtime too: the run is shared with later tests
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert counts.get("extract_frames") == 1, counts
    assert counts.get("align_faces") == 1, counts
    assert "build_demo_data" not in counts, counts


def test_unknown_config_key_is_a_clear_error(tmp_path):
    config = {"data_root": str(tmp_path), "parts": [0], "frames": {"strde": 2}}
    cfg = write_config(tmp_path / "config.yaml", config)
    out = run_snakemake(["-n", "--configfile", str(cfg)], tmp_path, check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "frames.strde" in text and "stride" in text


def test_dry_run_lists_placeholder_videos_without_opening_them(tmp_path):
    data = tmp_path / "data"
    for k in range(3):
        part = data / f"dfdc_train_part_{k}"
        part.mkdir(parents=True)
        meta = {}
        for i in range(20):
            (part / f"v{i}.mp4").write_bytes(b"not a video")
            meta[f"v{i}.mp4"] = {"label": "FAKE", "split": "train"}
        (part / "metadata.json").write_text(json.dumps(meta))
    config = {
        "data_root": str(data),
        "results_dir": str(tmp_path / "results"),
        "parts": [0, 1, 2],
        "lists": {"build": ["s"], "splits": {"s": {"val": [2], "train": "rest"}}},
        "train": {"models": []},
        "ensemble": {"split": "s"},
    }
    cfg = write_config(tmp_path / "config.yaml", config)
    counts = job_counts(run_snakemake(["-n", "--configfile", str(cfg)], tmp_path).stdout)
    assert counts["extract_frames"] == 3 and counts["make_lists"] == 1


def _placeholder_parts(data, parts, videos=3):
    for k in parts:
        part = data / f"dfdc_train_part_{k}"
        part.mkdir(parents=True)
        meta = {}
        for i in range(videos):
            (part / f"v{i}.mp4").write_bytes(b"not a video")
            meta[f"v{i}.mp4"] = {"label": "FAKE", "split": "train"}
        (part / "metadata.json").write_text(json.dumps(meta))


def test_subset_of_parts_runs_what_those_parts_can_form(tmp_path):
    # config.yaml unchanged but for `parts` (the way a user tries one part): its splits need
    # parts 30-39 (val_30-39) and 0-49 (alldata), so both are left out with a warning, and so
    # are the models and the ensemble that need them; preprocessing of the two parts runs.
    data = tmp_path / "data"
    _placeholder_parts(data, [0, 1])
    args = [
        "-n",
        "--config",
        f"data_root={data}",
        f"results_dir={tmp_path / 'results'}",
        "parts=[0,1]",
    ]
    out = run_snakemake(args, tmp_path)
    counts = job_counts(out.stdout)
    assert counts["extract_frames"] == 2 and counts["align_faces"] == 2, counts
    assert not {"train_model", "predict_model", "ensemble", "make_lists"} & set(counts), counts
    text = out.stdout + out.stderr
    assert "split val_30-39 is left out" in text and "split alldata is left out" in text, text
    # asking for an output of a left-out split says which parts it lacks
    lists = tmp_path / "results" / "lists" / "val_30-39" / "train_image.txt"
    failed = run_snakemake([str(lists), *args], tmp_path, check=False)
    assert failed.returncode != 0
    assert "val_30-39" in failed.stdout + failed.stderr
    assert "are not in `parts`" in failed.stdout + failed.stderr
