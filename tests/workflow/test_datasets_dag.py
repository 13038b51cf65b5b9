"""Datasets through the real snakemake's DAG (dry runs on generated trees with the real names:
no video is opened): DeepfakeBench's protocol as a configfile, every layout at once, and the
errors a bad dataset gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rf_models.config import validate_config
from rf_models.data.layouts import list_dataset
from rf_models.data.selection import DatasetParts
from tests.support.dataset_trees import BUILDERS, build_celebdf, build_dfdcp, build_ffpp
from tests.support.snakemake import REPO, run_snakemake, write_config

JOB_ROW = re.compile(r"^(\w+)\s+(\d+)$", re.MULTILINE)


def job_counts(out: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in JOB_ROW.finditer(out) if m[1] not in ("total", "count")}


def deepfakebench_config(tmp_path: Path) -> dict:
    config = yaml.safe_load((REPO / "profiles/deepfakebench/deepfakebench-config.yaml").read_text())
    roots = {
        "ffpp_c23": build_ffpp(tmp_path / "FaceForensics++").block,
        "celebdf_v2": build_celebdf(tmp_path / "Celeb-DF-v2").block,
        "dfdcp": build_dfdcp(tmp_path / "DFDCP").block,
    }
    for name, block in roots.items():
        config["datasets"][name].update({k: v for k, v in block.items() if k != "layout"})
    config["results_dir"] = str(tmp_path / "results")
    # the ImageNet files the blocks' init keys name, as placeholders (a dry run reads none)
    seed = yaml.safe_load((REPO / "config.yaml").read_text())
    for block in [*seed["models"]["defaults"].values(), *seed["models"].values()]:
        if block.get("init"):
            (tmp_path / block["init"]).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / block["init"]).touch()
    return config


def test_deepfakebench_protocol_is_a_configfile(tmp_path: Path) -> None:
    config = deepfakebench_config(tmp_path)
    cfg = write_config(tmp_path / "dfb.yaml", config)
    out = run_snakemake(["-n", "evaluate", "--configfile", str(cfg)], tmp_path).stdout
    counts = job_counts(out)
    assert counts["train_model"] == 11  # the seed's eleven recipes, on FF++ c23
    assert counts["predict_test_set"] == 11 * 3 and counts["ensemble_test_set"] == 3
    full = validate_config({**yaml.safe_load((REPO / "config.yaml").read_text()), **config})
    datasets = DatasetParts(full)
    used = set()
    for selectors in [*full["evaluate"]["test_sets"].values()]:
        used |= set(datasets.select(selectors, "t"))
    for key in ("train", "val"):
        used |= set(datasets.select(full["lists"]["splits"]["ffpp_c23"][key], "t"))
    assert counts["extract_frames"] == counts["align_faces"] == len(used)  # no DFDC part
    assert "dfdc_train_part" not in out
    train_parts = {p for p in used if "-train-" in p}
    test_parts = set(datasets.select(full["evaluate"]["test_sets"]["ffpp_c23_test"], "t"))
    assert train_parts and not train_parts & test_parts


def test_a_test_set_that_holds_training_videos_stops_evaluate(tmp_path: Path) -> None:
    """DeepfakeBench's profile with FF++ as a test set without `set: test`: its train and val
    videos too."""
    config = deepfakebench_config(tmp_path)
    config["evaluate"]["test_sets"]["ffpp_all"] = [{"dataset": "ffpp_c23"}]
    cfg = write_config(tmp_path / "leak.yaml", config)
    out = run_snakemake(["-n", "evaluate", "--configfile", str(cfg)], tmp_path, check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "config key evaluate.test_sets.ffpp_all: part ffpp_c23-train-" in text
    assert "is also a training or validation part of split ffpp_c23" in text
    # `all` does not evaluate, so it does not check
    assert run_snakemake(["-n", "--configfile", str(cfg)], tmp_path).returncode == 0


def test_every_layout_at_once_and_only_the_parts_a_target_needs(tmp_path: Path) -> None:
    datasets, test_sets = {}, {}
    for layout, build in BUILDERS.items():
        tree = build(tmp_path / layout)
        datasets[layout] = tree.block
        # FF++ trains the models below: its test set alone is held out
        test_sets[layout] = [{"dataset": layout}]
    test_sets["ffpp"] = [{"dataset": "ffpp", "set": "test"}]  # its train and val train the models
    deepfakebench_config(tmp_path / "init")  # placeholders of the init files
    for init in (tmp_path / "init" / "pretrain").iterdir():
        (tmp_path / "pretrain").mkdir(exist_ok=True)
        (tmp_path / "pretrain" / init.name).touch()
    base = {"data_root": str(tmp_path / "nodfdc"), "parts": [], "results_dir": "results"}
    config = {
        **base,
        "datasets": datasets,
        "evaluate": {"test_sets": test_sets},
        # the eleven train on FF++'s train and val (the DeepfakeBench protocol's split)
        "lists": {
            "build": ["ffpp"],
            "splits": {
                "ffpp": {
                    "train": [{"dataset": "ffpp", "set": "train"}],
                    "val": [{"dataset": "ffpp", "set": "val"}],
                }
            },
        },
        "train": {"overrides": {"splits": {"val_30-39": "ffpp", "alldata": "ffpp"}}},
        "ensemble": {"split": "ffpp"},
    }
    cfg = write_config(tmp_path / "all.yaml", config)
    out = run_snakemake(["-n", "evaluate", "--configfile", str(cfg)], tmp_path).stdout
    counts = job_counts(out)
    full = validate_config({**yaml.safe_load((REPO / "config.yaml").read_text()), **config})
    parts = DatasetParts(full)
    tested = {p for selectors in test_sets.values() for p in parts.select(selectors, "t")}
    split = full["lists"]["splits"]["ffpp"]
    training = set(parts.select(split["train"], "t")) | set(parts.select(split["val"], "t"))
    assert tested and training and not tested & training  # held out
    assert counts["extract_frames"] == len(tested | training)
    assert counts["index_dataset"] == len(datasets)
    assert counts["predict_test_set"] == 11 * len(datasets)
    # `all` needs only the training split's parts
    quiet = job_counts(run_snakemake(["-n", "--configfile", str(cfg)], tmp_path).stdout)
    assert quiet["extract_frames"] == len(training)


def test_a_missing_split_file_is_a_clear_error(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    (tree.root / "splits" / "test.json").unlink()
    config = {
        "data_root": str(tmp_path),
        "parts": [],
        "datasets": {"ff": tree.block},
        "evaluate": {"test_sets": {"ff": [{"dataset": "ff", "set": "test"}]}},
    }
    target = str(tmp_path / "results" / "datasets" / "ff.tsv")
    config["results_dir"] = str(tmp_path / "results")
    cfg = write_config(tmp_path / "c.yaml", config)
    out = run_snakemake(["-n", target, "--configfile", str(cfg)], tmp_path, check=False)
    assert out.returncode != 0
    assert f"{tree.root / 'splits' / 'test.json'}: " in out.stdout + out.stderr
    with pytest.raises(ValueError, match="test.json"):
        list_dataset("ff", tree.block)
    config["datasets"]["ff"]["layout"] = "ffpp_v9"
    cfg = write_config(tmp_path / "c.yaml", config)
    out = run_snakemake(["-n", target, "--configfile", str(cfg)], tmp_path, check=False)
    assert out.returncode != 0 and "datasets.ff.layout" in out.stdout + out.stderr
