"""folder layout: a user's real/ and fake/ subfolders, or a CSV path,label[,set]."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_folder, build_folder_csv, observed


def test_subfolders_match_the_generated_truth(tmp_path: Path) -> None:
    tree = build_folder(tmp_path / "mine")
    assert observed(list_dataset("mine", tree.block)) == tree.videos


def test_csv_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_folder_csv(tmp_path)
    listing = list_dataset("mine", tree.block)
    assert observed(listing) == tree.videos
    reasons = {v.name: v.problem for v in listing.videos if v.problem}
    assert reasons["videos__r1.mp4"] == "listed twice in list.csv (lines 2 and 8)"
    assert reasons["videos__bad.mp4"] == (
        "list.csv line 6: expected a label REAL, FAKE, 0 or 1, found 'maybe'"
    )
    assert "expected a set train, val, test, found 'dev'" in reasons["videos__badset.mp4"]
    # both cells bad: one bad_metadata row naming both, not a crash of the whole listing
    assert reasons["videos__badboth.mp4"] == (
        "list.csv line 13: expected a label REAL, FAKE, 0 or 1, found 'maybe'; "
        "expected a set train, val, test, found 'dev'"
    )


def test_one_subfolder_is_enough_and_the_set_key_applies(tmp_path: Path) -> None:
    tree = build_folder(tmp_path / "mine")
    shutil.rmtree(tree.root / "real")
    videos = list_dataset("mine", {**tree.block, "set": "train"}).videos
    assert [(v.group, v.name, v.set, v.label) for v in videos] == [
        ("fake", "a.mp4", "train", 1),
        ("fake", "x__y__c.MOV", "train", 1),
    ]


def test_neither_subfolder_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    (root / "videos").mkdir(parents=True)
    with pytest.raises(DatasetError, match="expected a real/ or a fake/ subfolder") as err:
        list_dataset("mine", {"layout": "folder", "root": str(root)})
    assert str(root) in str(err.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "the video CSV not found"),
        ("", "expected a header path,label or path,label,set, found 'an empty file'"),
        ("file,label\na.mp4,1\n", "expected a header path,label or path,label,set"),
        ("path,label\na.mp4,1,train\n", "line 2: expected 2 cells: path,label"),
        ("path,label,set\n,1,train\n", "line 2: expected 3 cells"),
    ],
)
def test_unusable_csv_is_an_error_naming_it(
    tmp_path: Path, content: str | None, match: str
) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    if content is not None:
        (root / "videos.csv").write_text(content)
    with pytest.raises(DatasetError, match=match) as err:
        list_dataset("mine", {"layout": "folder", "root": str(root), "csv": "videos.csv"})
    assert str(root / "videos.csv") in str(err.value)
