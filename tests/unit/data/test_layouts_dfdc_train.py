"""dfdc_train layout: DFDC's training parts as a dataset, against the generated truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError, listed_status
from rf_models.data.dfdc import part_entries
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_dfdc_train, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_dfdc_train(tmp_path / "train")
    listing = list_dataset("dfdc", tree.block)
    assert observed(listing) == tree.videos
    assert {v.group for v in listing.videos} == {"dfdc_train_part_0", "dfdc_train_part_10"}


def test_statuses_are_those_the_runs_own_parts_get(tmp_path: Path) -> None:
    tree = build_dfdc_train(tmp_path / "train")
    videos = {v.path: v for v in list_dataset("dfdc", tree.block).videos}
    for entry in part_entries(tree.root / "dfdc_train_part_0"):
        video = videos[entry.path]
        assert (video.label, video.problem, video.original) == (
            entry.label,
            entry.problem,
            entry.original,
        )
    bad = videos[tree.root / "dfdc_train_part_0" / "abhggqdift.mp4"]
    assert listed_status(bad) == (
        "bad_metadata",
        "bad metadata.json row: expected a label REAL or FAKE, found 'MAYBE'",
    )


def test_parts_set_and_prefix_keys(tmp_path: Path) -> None:
    tree = build_dfdc_train(tmp_path / "train")
    block = {**tree.block, "parts": [10], "set": "test"}
    listing = list_dataset("dfdc", block)
    assert {v.name for v in listing.videos} == {"bbbbbbbbbb.mp4", "cccccccccc.mp4"}
    assert {(v.set, v.group) for v in listing.videos} == {("test", "dfdc_train_part_10")}
    shutil.copytree(tree.root / "dfdc_train_part_10", tmp_path / "other" / "part_3")
    listing = list_dataset(
        "o", {"layout": "dfdc_train", "root": str(tmp_path / "other"), "prefix": "part_"}
    )
    assert {v.group for v in listing.videos} == {"part_3"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"parts": [0, 4]}, r"dfdc_train_part_4: expected the folder of DFDC part"),
        ({"prefix": "nothing_"}, "expected DFDC part folders nothing_<k>, found none"),
        ({"prefix": "a/b"}, "expected prefix to be a folder name prefix"),
        ({"parts": ["0"]}, "expected parts to be a list of part numbers"),
        ({"set": "dev"}, "expected set to be one of train, val, test"),
    ],
)
def test_bad_keys_are_errors_naming_them(tmp_path: Path, change: dict, match: str) -> None:
    tree = build_dfdc_train(tmp_path / "train")
    with pytest.raises(DatasetError, match=match):
        list_dataset("dfdc", {**tree.block, **change})


def test_an_unreadable_metadata_json_is_an_error_naming_it(tmp_path: Path) -> None:
    tree = build_dfdc_train(tmp_path / "train")
    metadata = tree.root / "dfdc_train_part_10" / "metadata.json"
    metadata.write_text("{not json")
    with pytest.raises(DatasetError, match=f"{metadata}: not valid JSON"):
        list_dataset("dfdc", tree.block)
    metadata.unlink()
    with pytest.raises(DatasetError, match="metadata.json not found"):
        list_dataset("dfdc", tree.block)
