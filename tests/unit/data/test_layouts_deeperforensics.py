"""deeperforensics layout: split lists of fakes; FF++ c23 youtube reals get their fakes' set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_deeperforensics, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_deeperforensics(tmp_path)
    listing = list_dataset("df10", tree.block)
    assert observed(listing) == tree.videos
    assert {v.group for v in listing.videos} == {"real", "end_to_end"}


def test_a_real_video_takes_the_set_of_its_fakes(tmp_path: Path) -> None:
    tree = build_deeperforensics(tmp_path)
    videos = list_dataset("df10", tree.block).videos
    fakes = {v.original: v.set for v in videos if v.group == "end_to_end" and not v.problem}
    for real in (v for v in videos if v.group == "real" and v.in_metadata and not v.problem):
        assert real.set == fakes[real.name]
        assert real.path.parts[-5:-1] == ("original_sequences", "youtube", "c23", "videos")


def test_real_root_and_compression_keys(tmp_path: Path) -> None:
    tree = build_deeperforensics(tmp_path)
    ff = tmp_path / "FaceForensics++"
    moved = tmp_path / "ff" / "original_sequences" / "youtube" / "c40"
    moved.parent.mkdir(parents=True)
    (ff / "original_sequences" / "youtube" / "c23").rename(moved)
    with pytest.raises(DatasetError, match="FF\\+\\+ youtube c23 videos"):
        list_dataset("df10", tree.block)
    block = {**tree.block, "real_root": str(tmp_path / "ff"), "real_compression": "c40"}
    reals = [v for v in list_dataset("df10", block).videos if v.group == "real"]
    assert len(reals) == 7 and all(v.path.is_relative_to(moved) for v in reals)


def test_variant_key_picks_the_folder(tmp_path: Path) -> None:
    tree = build_deeperforensics(tmp_path)
    videos = list_dataset("df10", {**tree.block, "variant": "end_to_end_level_1"}).videos
    fakes = [v for v in videos if v.group == "end_to_end_level_1"]
    assert [(v.name, v.set, v.on_disk) for v in fakes if v.on_disk] == [
        ("000_M101.mp4", "train", True)
    ]
    with pytest.raises(DatasetError, match="variant end_to_end_level_9"):
        list_dataset("df10", {**tree.block, "variant": "end_to_end_level_9"})
    with pytest.raises(DatasetError, match="expected variant to be a folder name"):
        list_dataset("df10", {**tree.block, "variant": "../end_to_end"})


@pytest.mark.parametrize(
    "line",
    [
        "manipulated_videos/end_to_end/000_M101.mp4",
        "000-M101.mp4",
        "000_M101",
        "000_M101.mp4 1",
        "M101_000.mp4",
    ],
)
def test_malformed_split_line_is_an_error_naming_it(tmp_path: Path, line: str) -> None:
    tree = build_deeperforensics(tmp_path)
    path = tree.root / "lists" / "splits" / "val.txt"
    path.write_text(f"002_M103.mp4\n{line}\n")
    with pytest.raises(DatasetError, match="line 2: expected a fake video name") as err:
        list_dataset("df10", tree.block)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_missing_split_file_is_an_error(tmp_path: Path, split: str) -> None:
    tree = build_deeperforensics(tmp_path)
    path = tree.root / "lists" / "splits" / f"{split}.txt"
    path.unlink()
    with pytest.raises(DatasetError, match=f"split list {split}.txt not found") as err:
        list_dataset("df10", tree.block)
    assert str(path) in str(err.value)


def test_missing_real_part_is_an_error(tmp_path: Path) -> None:
    tree = build_deeperforensics(tmp_path)
    shutil.rmtree(tmp_path / "FaceForensics++")
    with pytest.raises(DatasetError, match="DeeperForensics-1.0 real part") as err:
        list_dataset("df10", tree.block)
    assert "FaceForensics++/original_sequences/youtube/c23/videos" in str(err.value)
