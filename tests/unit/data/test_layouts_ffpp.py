"""ffpp layout: official split pairs over originals and every configured method, DFD."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError, listed_status
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import FFPP_ALL, build_ffpp, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    listing = list_dataset("ffpp", tree.block)
    assert observed(listing) == tree.videos
    assert {v.group for v in listing.videos} == {
        "youtube",
        "Deepfakes",
        "Face2Face",
        "FaceSwap",
        "NeuralTextures",
    }


def test_default_methods_are_the_four_classic_ones(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    block = {k: v for k, v in tree.block.items() if k not in ("methods", "dfd_set")}
    assert observed(list_dataset("ffpp", block)) == tree.videos


def test_all_methods_with_dfd_in_its_own_set(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp", methods=FFPP_ALL, dfd_set="val")
    listing = list_dataset("ffpp", tree.block)
    assert observed(listing) == tree.videos
    dfd = [v for v in listing.videos if v.group in ("actors", "DeepFakeDetection")]
    assert len(dfd) == 4 and {v.set for v in dfd} == {"val"}
    fake = next(v for v in dfd if v.name == "01_02__meeting_serious__YVGY8LOK.mp4")
    assert (fake.label, fake.original) == (1, "01__meeting_serious.mp4")


def test_a_pair_covers_originals_and_both_fakes(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    videos = list_dataset("ffpp", tree.block).videos
    covered = {(v.group, v.name): v for v in videos if v.set == "test"}
    for group in ("Deepfakes", "FaceSwap"):
        for name, original in (("953_974.mp4", "953.mp4"), ("974_953.mp4", "974.mp4")):
            video = covered[(group, name)]
            assert (video.label, video.original, listed_status(video)[0]) == (1, original, "listed")
    assert covered[("youtube", "953.mp4")].label == 0
    assert covered[("youtube", "974.mp4")].label == 0
    twice = next(v for v in videos if v.group == "youtube" and v.name == "006.mp4")
    assert twice.problem == "named by the splits train.json, test.json"


def test_only_dfd_needs_no_split_files(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp", methods=("DeepFakeDetection",))
    shutil.rmtree(tree.root / "splits")
    assert observed(list_dataset("ffpp", tree.block)) == tree.videos


def test_splits_dir_may_be_elsewhere(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    (tree.root / "splits").rename(tmp_path / "official")
    block = {**tree.block, "splits_dir": str(tmp_path / "official")}
    assert observed(list_dataset("ffpp", block)) == tree.videos


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_missing_split_file_is_an_error(tmp_path: Path, split: str) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    (tree.root / "splits" / f"{split}.json").unlink()
    with pytest.raises(DatasetError, match="not found") as err:
        list_dataset("ffpp", tree.block)
    assert str(tree.root / "splits" / f"{split}.json") in str(err.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"953": "974"}', "expected a JSON list of id pairs"),
        ('[["953", "974", "1"]]', r"item 0: expected a pair of video ids"),
        ('[["953", "974"], ["953", 974]]', r"item 1: expected a pair of video ids"),
        ('[["953", "../x"]]', r"item 0: expected a pair of video ids"),
        ("[[", "not valid JSON"),
    ],
)
def test_malformed_split_file_is_an_error_naming_it(
    tmp_path: Path, content: str, match: str
) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    (tree.root / "splits" / "val.json").write_text(content)
    with pytest.raises(DatasetError, match=match) as err:
        list_dataset("ffpp", tree.block)
    assert str(tree.root / "splits" / "val.json") in str(err.value)


@pytest.mark.parametrize(
    ("methods", "remove", "folder"),
    [
        (["Deepfakes", "FaceShifter"], "manipulated_sequences/FaceShifter", "FaceShifter"),
        (["Face2Face"], "original_sequences/youtube", "youtube"),
        (["DeepFakeDetection"], "original_sequences/actors", "actors"),
    ],
)
def test_missing_method_folder_is_an_error_naming_it(
    tmp_path: Path, methods: list[str], remove: str, folder: str
) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    shutil.rmtree(tree.root / remove)
    with pytest.raises(DatasetError, match=f"expected the folder of FF\\+\\+ {folder} videos"):
        list_dataset("ffpp", {**tree.block, "methods": methods})


def test_compression_picks_the_folder(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    with pytest.raises(DatasetError) as err:
        list_dataset("ffpp", {**tree.block, "compression": "c40"})
    assert str(tree.root / "original_sequences/youtube/c40/videos") in str(err.value)
    for old in tree.root.glob("*/*/c23"):
        old.rename(old.with_name("c40"))
    listing = list_dataset("ffpp", {**tree.block, "compression": "c40"})
    assert {v.path.parent.parent.name for v in listing.videos} == {"c40"}
    assert len(listing.videos) == len(tree.videos)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("methods", ["Deepfakes", "FaceSwapKowalski"], "expected methods among"),
        ("methods", [], "expected methods to be a list"),
        ("methods", "Deepfakes", "expected methods to be a list"),
        ("methods", ["Deepfakes", "Deepfakes"], "each method once"),
        ("compression", "c30", "expected compression to be one of c0, raw, c23, c40"),
        ("dfd_set", "unsplit", "expected dfd_set to be one of train, val, test"),
    ],
)
def test_bad_keys_are_errors(tmp_path: Path, key: str, value: object, match: str) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    with pytest.raises(DatasetError, match=match):
        list_dataset("ffpp", {**tree.block, key: value})


def test_split_pairs_are_read_as_the_official_json(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    pairs = json.loads((tree.root / "splits" / "train.json").read_text())
    names = {v.name for v in list_dataset("ffpp", tree.block).videos if v.set == "train"}
    # a video named by two splits is reported in the first of them
    for a, b in pairs:
        assert {f"{a}.mp4", f"{b}.mp4", f"{a}_{b}.mp4", f"{b}_{a}.mp4"} <= names
