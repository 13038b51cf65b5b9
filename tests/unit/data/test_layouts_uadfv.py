"""uadfv layout: real/ and fake/ folders, every video in one set."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_uadfv, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_uadfv(tmp_path / "UADFV")
    assert observed(list_dataset("uadfv", tree.block)) == tree.videos


def test_set_key(tmp_path: Path) -> None:
    tree = build_uadfv(tmp_path / "UADFV")
    videos = list_dataset("uadfv", {**tree.block, "set": "val"}).videos
    assert {v.set for v in videos} == {"val"}
    assert sorted((v.group, v.label) for v in videos if v.problem is None) == [
        ("fake", 1),
        ("fake", 1),
        ("fake", 1),
        ("real", 0),
        ("real", 0),
    ]
    with pytest.raises(DatasetError, match="expected set to be one of train, val, test"):
        list_dataset("uadfv", {**tree.block, "set": "unsplit"})


@pytest.mark.parametrize("folder", ["real", "fake"])
def test_missing_folder_is_an_error(tmp_path: Path, folder: str) -> None:
    tree = build_uadfv(tmp_path / "UADFV")
    shutil.rmtree(tree.root / folder)
    with pytest.raises(DatasetError, match=f"expected the folder of UADFV {folder} videos") as err:
        list_dataset("uadfv", tree.block)
    assert str(tree.root / folder) in str(err.value)
