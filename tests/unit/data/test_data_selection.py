"""Datasets of a run: dealt into parts, chosen by selectors, carried to the part jobs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rf_models.config import ConfigError, validate_config
from rf_models.data.datasets import listing_signature, part_label, part_videos
from rf_models.data.selection import (
    DatasetParts,
    dataset_of,
    dataset_part_pattern,
    split_part_names,
    uses_selectors,
)
from tests.support.dataset_trees import build_celebdf, build_ffpp


def _config(tmp_path: Path, **extra) -> dict:
    ffpp = build_ffpp(tmp_path / "ffpp")
    celebdf = build_celebdf(tmp_path / "celebdf")
    config = {
        "data_root": "d",
        "parts": [0, 1, 2],
        "datasets": {
            "ff": {**ffpp.block, "part_size": 4},
            "cd": celebdf.block,
        },
        **extra,
    }
    return validate_config(config), ffpp, celebdf


def test_parts_are_named_by_dataset_set_group_and_number(tmp_path: Path) -> None:
    config, ffpp, _ = _config(tmp_path)
    datasets = DatasetParts(config)
    parts = datasets.parts("ff")
    for name, videos in parts.items():
        assert dataset_of(name) == "ff" and len(videos) <= 4
        _, set_, group, _ = name.split("-")
        assert {(v.set, v.group) for v in videos} == {(set_, group)}
    assert sum(len(v) for v in parts.values()) == len(ffpp.videos)  # no video lost
    pattern = re.compile(dataset_part_pattern("ff"))
    assert all(pattern.fullmatch(p) for p in parts)
    assert not pattern.fullmatch("ffx-test-youtube-0") and dataset_of("dfdc_train_part_3") is None


def test_selectors_pick_dfdc_parts_and_dataset_sets_and_groups(tmp_path: Path) -> None:
    config, ffpp, celebdf = _config(tmp_path)
    datasets = DatasetParts(config)
    assert datasets.select([{"parts": [2, 0]}], "t") == ["dfdc_train_part_2", "dfdc_train_part_0"]
    test = datasets.select([{"dataset": "ff", "set": "test"}], "t")
    assert test and all(p.split("-")[1] == "test" for p in test)
    videos = [v for p in test for v in datasets.videos(p)]
    truth = {path for path, e in ffpp.videos.items() if e.set == "test"}
    assert {v.path for v in videos} == truth
    fakes = datasets.select([{"dataset": "ff", "set": "test", "groups": ["Deepfakes"]}], "t")
    assert fakes and all(p.split("-")[2] == "Deepfakes" for p in fakes)
    # no part twice, in the order asked
    both = datasets.select([{"dataset": "cd", "set": "test"}, {"dataset": "cd"}], "t")
    assert len(both) == len(set(both)) and both[0].startswith("cd-test-")
    listed = {v.path for p in both for v in datasets.videos(p)}
    assert listed == set(celebdf.videos)


@pytest.mark.parametrize(
    ("selector", "match"),
    [
        ({"parts": [7]}, r"DFDC parts \[7\] are not in `parts`"),
        (
            {"dataset": "ff", "set": "val", "groups": ["NoSuchMethod"]},
            r"\['NoSuchMethod'\] are not groups of dataset 'ff'",
        ),
        # a misspelt group beside a right one is not ignored
        (
            {"dataset": "ff", "groups": ["Deepfakes", "Deepfake"]},
            r"evaluate.test_sets.x\[0\].groups: \['Deepfake'\] are not groups",
        ),
        ({"dataset": "cd", "set": "val"}, "selects no part"),  # Celeb-DF has no val set
    ],
)
def test_a_selector_that_picks_nothing_is_an_error(tmp_path, selector, match) -> None:
    config, _, _ = _config(tmp_path)
    with pytest.raises(ConfigError, match=match):
        DatasetParts(config).select([selector], "evaluate.test_sets.x")


def test_a_selector_of_an_unconfigured_dataset_is_refused_when_validating(tmp_path) -> None:
    with pytest.raises(ConfigError, match="'nope' is not in `datasets`"):
        _config(tmp_path / "a", evaluate={"test_sets": {"x": [{"dataset": "nope"}]}})
    splits = {"s": {"train": [{"dataset": "x"}], "val": [0]}}
    with pytest.raises(ConfigError, match=r"lists.splits.s.train\[0\].dataset"):
        _config(tmp_path / "b", lists={"splits": splits})


def test_a_split_takes_train_and_val_from_a_dataset(tmp_path: Path) -> None:
    splits = {
        "ff": {
            "train": [{"dataset": "ff", "set": "train"}],
            "val": [{"dataset": "ff", "set": "val"}],
        },
        "mixed": {"train": "rest", "val": [0]},
    }
    config, _, _ = _config(tmp_path, lists={"splits": splits})
    datasets = DatasetParts(config)
    assert uses_selectors(config, "ff") and not uses_selectors(config, "mixed")
    train, val = split_part_names(config, "ff", datasets)
    assert train and val and not set(train) & set(val)
    assert {p.split("-")[1] for p in train} == {"train"}
    assert {p.split("-")[1] for p in val} == {"val"}
    assert split_part_names(config, "mixed", datasets) == (
        ["dfdc_train_part_1", "dfdc_train_part_2"],
        ["dfdc_train_part_0"],
    )


def test_a_part_source_reaches_the_stages_as_its_videos(tmp_path: Path) -> None:
    config, ffpp, _ = _config(tmp_path)
    datasets = DatasetParts(config)
    part = next(iter(datasets.parts("ff")))
    source = datasets.source(part)
    entries = part_videos(source)
    assert part_label(source) == part and {e.part for e in entries} == {part}
    assert {e.path for e in entries} == {v.path for v in datasets.videos(part)}
    for entry in entries:
        truth = ffpp.videos[entry.path]
        assert entry.label == truth.label
    assert datasets.signature(part) == listing_signature(datasets.videos(part))


def test_listing_waits_for_the_build_and_happens_once(tmp_path: Path) -> None:
    config, _, _ = _config(tmp_path)
    calls: list[str] = []
    datasets = DatasetParts(config, before_listing=calls.append)
    datasets.parts("ff")
    datasets.select([{"dataset": "ff"}], "t")
    assert calls == ["ff"]
    with pytest.raises(ConfigError, match="no dataset 'zz'"):
        datasets.parts("zz")


def test_test_parts_must_be_held_out_from_the_training_splits(tmp_path: Path) -> None:
    config, ffpp, _ = _config(tmp_path)
    datasets = DatasetParts(config)
    train = datasets.select([{"dataset": "ff", "set": "train"}], "t")
    test = datasets.select([{"dataset": "ff", "set": "test"}], "t")
    cd_test = datasets.select([{"dataset": "cd", "set": "test"}], "t")
    dfdc = ["dfdc_train_part_0", "dfdc_train_part_1"]
    learned = {"s": train + dfdc}
    folder = str(tmp_path / "d" / "{}").format
    assert (
        datasets.training_overlap(test + cd_test + ["dfdc_train_part_2"], learned, folder) is None
    )
    # a part of both
    assert datasets.training_overlap(cd_test + [train[0]], learned, folder) == (
        f"part {train[0]} is also a training or validation part of split s"
    )
    assert "part dfdc_train_part_1 is also" in datasets.training_overlap(
        ["dfdc_train_part_1"], learned, folder
    )


def test_test_videos_shared_with_training_ones_are_found(tmp_path: Path) -> None:
    """Datasets that share files (DeeperForensics-1.0's reals are FF++'s), and dataset videos
    inside a DFDC training part's folder, are not held out."""
    config, ffpp, _ = _config(tmp_path)
    config["datasets"]["ff_again"] = {**config["datasets"]["ff"]}
    datasets = DatasetParts(config)
    train = datasets.select([{"dataset": "ff", "set": "train"}], "t")
    again = datasets.select([{"dataset": "ff_again", "set": "train"}], "t")
    problem = datasets.training_overlap(again, {"s": train}, str)
    assert problem and "is also a video of part ff-train-" in problem and "split s" in problem
    # videos in the folder of a DFDC training part, either way round
    originals = {str(v.path.parent) for p in again for v in datasets.videos(p)}
    folder = sorted(originals)[0]
    problem = datasets.training_overlap(again, {"s": ["dfdc_train_part_0"]}, lambda p: folder)
    assert problem and "dfdc_train_part_0" in problem
    problem = datasets.training_overlap(["dfdc_train_part_0"], {"s": train}, lambda p: folder)
    assert problem and problem.startswith(f"part dfdc_train_part_0's folder holds {folder}/")
