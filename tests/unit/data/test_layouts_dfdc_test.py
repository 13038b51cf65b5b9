"""dfdc_test layout: labels.csv against the files, and its error paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from rf_models.data.datasets import DatasetError, listed_status
from rf_models.data.layouts import list_dataset
from tests.support.dataset_trees import build_dfdc_test, observed


def test_listing_matches_the_generated_truth(tmp_path: Path) -> None:
    tree = build_dfdc_test(tmp_path / "test")
    listing = list_dataset("dfdc_public", tree.block)
    assert observed(listing) == tree.videos
    assert (listing.dataset, listing.layout, listing.root) == (
        "dfdc_public",
        "dfdc_test",
        tree.root,
    )


def test_label_one_is_fake_and_reasons_name_the_line(tmp_path: Path) -> None:
    tree = build_dfdc_test(tmp_path / "test")
    videos = {v.name: v for v in list_dataset("dfdc_public", tree.block).videos}
    assert videos["aaqaifqrwn.mp4"].label == 1
    assert videos["aayfryxljh.mp4"].label == 0
    assert listed_status(videos["abhggqdift.mp4"]) == (
        "bad_metadata",
        "labels.csv line 5: expected a label 0 or 1, found '2'",
    )
    assert "lines 7 and 9" in videos["aelzhcnwgf.mp4"].problem
    assert videos["adohdulfwb.mp4"].label is None
    assert not videos["acazlolrpz.mp4"].on_disk and videos["acazlolrpz.mp4"].in_metadata


def test_other_columns_and_a_labels_key_are_accepted(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "aaqaifqrwn.mp4").write_bytes(b"x")
    (tmp_path / "gt.csv").write_text("original,label,filename\nx.mp4,0,aaqaifqrwn.mp4\n")
    listing = list_dataset("d", {"layout": "dfdc_test", "root": str(root), "labels": "../gt.csv"})
    [video] = listing.videos
    assert (video.name, video.label, listed_status(video)[0]) == ("aaqaifqrwn.mp4", 0, "listed")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "labels.csv not found"),
        ("", "found an empty file"),
        ("filename,score\na.mp4,1\n", "expected a header with the columns filename and label"),
        ("filename,label\na.mp4,1\n,0\n", "line 3: expected a file name"),
        (b"filename,label\n\xff\xfe,1\n", "not UTF-8"),
    ],
)
def test_unusable_labels_csv_is_an_error_naming_it(
    tmp_path: Path, content: str | bytes | None, match: str
) -> None:
    root = tmp_path / "t"
    root.mkdir()
    if isinstance(content, bytes):
        (root / "labels.csv").write_bytes(content)
    elif content is not None:
        (root / "labels.csv").write_text(content)
    with pytest.raises(DatasetError, match=match) as err:
        list_dataset("d", {"layout": "dfdc_test", "root": str(root)})
    assert str(root / "labels.csv") in str(err.value)
