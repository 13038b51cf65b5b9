"""dfdcp layout: dataset.json keys (nested paths) against the group folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError, deal_parts
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_dfdcp, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_dfdcp(tmp_path / "DFDCP")
    assert observed(list_dataset("dfdcp", tree.block)) == tree.videos


def test_group_name_and_set_come_from_the_key_and_entry(tmp_path: Path) -> None:
    tree = build_dfdcp(tmp_path / "DFDCP")
    listing = list_dataset("dfdcp", tree.block)
    key = "method_A/1003254/1003254_A/1255229_1003254_A_001.mp4"
    [video] = [v for v in listing.videos if v.path == tree.root / key]
    assert (video.group, video.name, video.set, video.label) == (
        "method_A",
        "1255229_1003254_A_001.mp4",
        "train",
        1,
    )
    reasons = {v.name: v.problem for v in listing.videos if v.problem}
    assert "disagrees with its folder original_videos/" in reasons["1640001_A_001.mp4"]
    assert "same file name as 'method_A/1003254/" in reasons["1640001_1003254_A_003.mp4"]


def test_parts_follow_sets_then_groups(tmp_path: Path) -> None:
    tree = build_dfdcp(tmp_path / "DFDCP")
    parts = deal_parts(list_dataset("dfdcp", tree.block), part_size=100)
    assert list(parts) == [
        "dfdcp-train-extra-0",
        "dfdcp-train-method_A-0",
        "dfdcp-train-original_videos-0",
        "dfdcp-test-method_A-0",
        "dfdcp-test-method_B-0",
        "dfdcp-test-original_videos-0",
        "dfdcp-unsplit-method_A-0",
        "dfdcp-unsplit-method_B-0",
    ]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "dataset.json not found"),
        ("{not json", "not valid JSON"),
        ('["original_videos/a.mp4"]', "expected a JSON object of videos, found list"),
    ],
)
def test_unusable_dataset_json_is_an_error_naming_it(
    tmp_path: Path, content: str | None, match: str
) -> None:
    tree = build_dfdcp(tmp_path / "DFDCP")
    meta = tree.root / "dataset.json"
    meta.unlink()
    if content is not None:
        meta.write_text(content)
    with pytest.raises(DatasetError, match=match) as err:
        list_dataset("dfdcp", tree.block)
    assert str(meta) in str(err.value)


def test_metadata_key_points_elsewhere(tmp_path: Path) -> None:
    tree = build_dfdcp(tmp_path / "DFDCP")
    moved = tmp_path / "meta.json"
    (tree.root / "dataset.json").rename(moved)
    block = {**tree.block, "metadata": str(moved)}
    assert observed(list_dataset("dfdcp", block)) == tree.videos
