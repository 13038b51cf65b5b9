"""celebdf layout: folder labels checked against List_of_testing_videos.txt (1 = real)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError, listed_status
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import CELEBDF_LIST, build_celebdf, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    listing = list_dataset("celebdf_v2", tree.block)
    assert observed(listing) == tree.videos
    assert {v.group for v in listing.videos} == {"Celeb_real", "YouTube_real", "Celeb_synthesis"}


def test_no_test_video_is_ever_in_train(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    videos = list_dataset("celebdf_v2", tree.block).videos
    listed = {line.split()[1] for line in CELEBDF_LIST if line}
    in_test = {f"{v.path.parent.name}/{v.name}" for v in videos if v.set == "test"}
    in_train = {f"{v.path.parent.name}/{v.name}" for v in videos if v.set == "train"}
    assert in_test == listed
    assert not in_test & in_train
    assert {v.set for v in videos} == {"train", "test"}


def test_list_numbers_one_real_zero_fake(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    videos = {(v.group, v.name): v for v in list_dataset("celebdf_v2", tree.block).videos}
    assert listed_status(videos[("YouTube_real", "00170.mp4")]) == ("listed", "")
    assert videos[("YouTube_real", "00170.mp4")].label == 0
    assert videos[("Celeb_synthesis", "id0_id1_0000.mp4")].label == 1
    disagreeing = videos[("Celeb_synthesis", "id0_id2_0001.mp4")]
    assert disagreeing.label is None
    assert disagreeing.problem == (
        "List_of_testing_videos.txt line 5 says 1 (real) but the video is in "
        "Celeb-synthesis/ (fake videos)"
    )
    assert videos[("Celeb_synthesis", "id1_id2_0000.mp4")].original == "id1_0000.mp4"


def test_windows_line_endings_are_read(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    path = tree.root / "List_of_testing_videos.txt"
    path.write_bytes(path.read_text().replace("\n", "\r\n").encode())
    assert observed(list_dataset("celebdf_v2", tree.block)) == tree.videos


@pytest.mark.parametrize(
    "line",
    [
        "2 Celeb-real/id0_0001.mp4",
        "1 Celeb-real/id0_0001.mp4 extra",
        "1",
        "1 Other-real/id0_0001.mp4",
        "1 id0_0001.mp4",
        "1 Celeb-real/sub/id0_0001.mp4",
        "1 Celeb-real/id0_0001.txt",
        "real Celeb-real/id0_0001.mp4",
    ],
)
def test_malformed_line_is_an_error_naming_the_line(tmp_path: Path, line: str) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    path = tree.root / "List_of_testing_videos.txt"
    path.write_text(f"1 YouTube-real/00170.mp4\n\n{line}\n")
    with pytest.raises(DatasetError, match=f"line 3: expected .* found '{line}'") as err:
        list_dataset("celebdf_v2", tree.block)
    assert str(path) in str(err.value)


def test_missing_test_list_is_an_error(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    (tree.root / "List_of_testing_videos.txt").unlink()
    with pytest.raises(DatasetError, match="List_of_testing_videos.txt not found"):
        list_dataset("celebdf_v2", tree.block)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    tree = build_celebdf(tmp_path / "Celeb-DF-v2")
    shutil.rmtree(tree.root / "YouTube-real")
    with pytest.raises(DatasetError, match="expected the folder of Celeb-DF YouTube-real"):
        list_dataset("celebdf_v2", tree.block)
