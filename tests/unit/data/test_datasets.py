"""Dataset records: list_dataset's checks, dealing into parts, the index TSV, part listings
and their signature."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

from rf_models.data.datasets import (
    INDEX_COLUMNS,
    PART_FORMAT,
    DatasetError,
    DatasetListing,
    DatasetVideo,
    deal_parts,
    finish_listing,
    listed_status,
    listing_signature,
    part_name,
    part_source,
    part_source_entries,
    write_dataset_index,
)
from rf_models.data.layouts import LAYOUTS, list_dataset
from tests.support.dataset_trees import BUILDERS, build_ffpp, observed


def _video(name: str, path: Path, **changes) -> DatasetVideo:
    fields = dict(
        name=name,
        path=path,
        label=1,
        set="test",
        group="g",
        original=None,
        in_metadata=True,
        on_disk=True,
        problem=None,
    )
    fields.update(changes)
    return DatasetVideo(**fields)


# list_dataset


def test_unknown_layout_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown layout 'dfdc_val'; known layouts: ") as err:
        list_dataset("d", {"layout": "dfdc_val", "root": str(tmp_path)})
    for name in LAYOUTS:
        assert name in str(err.value)
    assert set(LAYOUTS) == {
        "dfdc_train",
        "dfdc_test",
        "dfdcp",
        "ffpp",
        "celebdf",
        "deeperforensics",
        "uadfv",
        "folder",
    }


def test_missing_root_is_an_error_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    with pytest.raises(
        DatasetError, match="expected the root folder of dataset 'd', found nothing"
    ):
        list_dataset("d", {"layout": "uadfv", "root": str(root)})
    root.write_text("a file")
    with pytest.raises(DatasetError, match=f"{root}: expected the root folder .* found a file"):
        list_dataset("d", {"layout": "uadfv", "root": str(root)})
    with pytest.raises(DatasetError, match="expected root to be the dataset's folder"):
        list_dataset("d", {"layout": "uadfv"})


def test_unknown_key_is_an_error_listing_the_layouts_keys(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    with pytest.raises(DatasetError, match="unknown key\\(s\\) compresion for layout ffpp") as err:
        list_dataset("ffpp", {**tree.block, "compresion": "c40"})
    assert "compression, methods, splits_dir, dfd_set" in str(err.value)


def test_dataset_name_must_be_a_plain_name(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    with pytest.raises(DatasetError, match="dataset name must match"):
        list_dataset("ff-pp", tree.block)


def test_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    monkeypatch.chdir(tmp_path)
    listing = list_dataset("ffpp", {**tree.block, "root": "ffpp"})
    assert listing.root == tree.root and observed(listing) == tree.videos


@pytest.mark.parametrize("layout", sorted(BUILDERS))
def test_listing_is_sorted_by_set_group_name(tmp_path: Path, layout: str) -> None:
    tree = BUILDERS[layout](tmp_path / "data")
    videos = list_dataset("d", tree.block).videos
    order = ("train", "val", "test", "unsplit")
    keys = [(order.index(v.set), v.group, v.name, str(v.path)) for v in videos]
    assert keys == sorted(keys)
    assert all(v.path.is_absolute() for v in videos)


# finish_listing and the record


def test_finish_listing_marks_id_collisions_duplicates_and_bad_names(tmp_path: Path) -> None:
    videos = [
        _video("b.mp4", tmp_path / "b.mp4"),
        _video("b.MP4", tmp_path / "B" / "b.MP4"),
        _video("c.mp4", tmp_path / "x" / "c.mp4"),
        _video("c.mp4", tmp_path / "y" / "c.mp4"),
        _video("c.mp4", tmp_path / "z" / "c.mp4", group="h"),  # another group: no clash
        _video("d.mp4", tmp_path / "d.mp4", on_disk=False),
        _video("d.avi", tmp_path / "d.avi"),  # d.mp4 is missing, so not a clash
        _video("e.txt", tmp_path / "e.txt"),
    ]
    listing = finish_listing("ds", "folder", tmp_path, reversed(videos))
    status = {str(v.path.relative_to(tmp_path)): listed_status(v) for v in listing.videos}
    assert status["B/b.MP4"] == ("listed", "")
    assert status["b.mp4"][0] == "bad_metadata"
    assert "video id 'b' is also the id of b.MP4" in status["b.mp4"][1]
    assert status["x/c.mp4"] == ("listed", "")
    assert status["y/c.mp4"] == (
        "bad_metadata",
        f"same name as {tmp_path / 'x' / 'c.mp4'} in set test, group g",
    )
    assert status["z/c.mp4"] == ("listed", "")
    assert status["d.mp4"][0] == "missing" and status["d.avi"] == ("listed", "")
    assert status["e.txt"][0] == "bad_metadata" and "unusable video name" in status["e.txt"][1]
    assert all(v.label is None for v in listing.videos if v.problem)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"set": "dev"}, "set must be one of"),
        ({"group": "Celeb-real"}, "group must match"),
        ({"label": 2}, "label must be 0"),
    ],
)
def test_record_checks_its_fields(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _video("a.mp4", tmp_path / "a.mp4", **changes)


def test_listed_status_order(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    assert listed_status(_video("a.mp4", path, problem="p", on_disk=False)) == ("bad_metadata", "p")
    assert listed_status(_video("a.mp4", path, on_disk=False))[0] == "missing"
    assert listed_status(_video("a.mp4", path, in_metadata=False))[0] == "not_in_metadata"
    assert listed_status(_video("a.mp4", path)) == ("listed", "")


# dealing into parts


def test_part_name_and_its_checks() -> None:
    assert part_name("ffpp", "test", "Deepfakes", 3) == "ffpp-test-Deepfakes-3"
    assert part_name("cdf", "unsplit", "Celeb_real", 0) == "cdf-unsplit-Celeb_real-0"
    for args in (
        ("ff-pp", "test", "g", 0),
        ("ffpp", "dev", "g", 0),
        ("ffpp", "test", "a/b", 0),
        ("ffpp", "test", "g", -1),
        ("ffpp", "test", "g", "0"),
    ):
        with pytest.raises(ValueError):
            part_name(*args)


@pytest.mark.parametrize("part_size", [1, 2, 3, 1000])
def test_deal_parts_loses_no_video_and_chunks_in_name_order(tmp_path: Path, part_size: int) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    listing = list_dataset("ffpp", tree.block)
    parts = deal_parts(listing, part_size)
    dealt = [v for videos in parts.values() for v in videos]
    assert sorted(dealt, key=lambda v: str(v.path)) == sorted(
        listing.videos, key=lambda v: str(v.path)
    )
    assert len(dealt) == len(listing.videos) == len(tree.videos)
    by_group: dict[tuple[str, str], list[tuple[int, tuple[DatasetVideo, ...]]]] = {}
    for name, videos in parts.items():
        dataset, set_, group, k = name.split("-")
        assert dataset == "ffpp" and 1 <= len(videos) <= part_size
        assert all((v.set, v.group) == (set_, group) for v in videos)
        by_group.setdefault((set_, group), []).append((int(k), videos))
    for (set_, group), chunks in by_group.items():
        assert [k for k, _ in chunks] == list(range(len(chunks)))
        names = [v.name for _, videos in chunks for v in videos]
        assert names == sorted(names)
        assert all(len(videos) == part_size for _, videos in chunks[:-1])
        expected = sorted(v.name for v in tree.videos.values() if (v.set, v.group) == (set_, group))
        assert names == expected
    order = ("train", "val", "test", "unsplit")
    keys = [(order.index(s), g) for s, g in by_group]
    assert keys == sorted(keys) and list(by_group)[0] == ("train", "Deepfakes")


def test_deal_parts_is_deterministic(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    listing = list_dataset("ffpp", tree.block)
    shuffled = DatasetListing("ffpp", "ffpp", listing.root, tuple(reversed(listing.videos)))
    assert deal_parts(listing, 2) == deal_parts(shuffled, 2) == deal_parts(listing, 2)
    assert list(deal_parts(listing, 2)) == list(deal_parts(shuffled, 2))


@pytest.mark.parametrize("part_size", [0, -1, 2.5, True])
def test_deal_parts_needs_a_positive_part_size(tmp_path: Path, part_size: object) -> None:
    listing = DatasetListing("d", "folder", tmp_path, ())
    with pytest.raises(ValueError, match="part_size must be an integer >= 1"):
        deal_parts(listing, part_size)  # type: ignore[arg-type]


# the index


def _read_index(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert tuple(reader.fieldnames) == INDEX_COLUMNS
        return list(reader)


@pytest.mark.parametrize("layout", sorted(BUILDERS))
def test_index_has_one_row_per_video_with_its_part_and_status(tmp_path: Path, layout: str) -> None:
    tree = BUILDERS[layout](tmp_path / "data")
    listing = list_dataset("ds", tree.block)
    parts = deal_parts(listing, 2)
    index = tmp_path / "index" / "ds.tsv"
    write_dataset_index(listing, parts, index)
    rows = _read_index(index)
    assert len(rows) == len(tree.videos)
    part_of = {v.path: part for part, videos in parts.items() for v in videos}
    for row in rows:
        truth = tree.videos[Path(row["path"])]
        assert row["dataset"] == "ds"
        assert (row["set"], row["group"], row["video"], row["status"]) == (
            truth.set,
            truth.group,
            truth.name,
            truth.status,
        )
        assert row["label"] == ("" if truth.label is None else str(truth.label))
        assert row["original"] == (truth.original or "")
        assert row["part"] == part_of[Path(row["path"])]
        assert bool(row["reason"]) == (truth.status != "listed")


def test_index_refuses_parts_that_lose_or_add_a_video(tmp_path: Path) -> None:
    tree = build_ffpp(tmp_path / "ffpp")
    listing = list_dataset("ffpp", tree.block)
    parts = deal_parts(listing, 5)
    first = next(iter(parts))
    index = tmp_path / "ffpp.tsv"
    with pytest.raises(ValueError, match="videos of ffpp are in no part"):
        write_dataset_index(listing, {**parts, first: parts[first][1:]}, index)
    with pytest.raises(ValueError, match="which the listing of ffpp does not hold"):
        write_dataset_index(listing, {**parts, "extra": parts[first][:1]}, index)
    assert not index.exists()


def test_index_escapes_tabs_and_newlines(tmp_path: Path) -> None:
    video = _video("a.mp4", tmp_path / "a.mp4", problem="bad\tcell\nhere")
    listing = DatasetListing("d", "folder", tmp_path, (video,))
    write_dataset_index(listing, deal_parts(listing, 1), tmp_path / "i.tsv")
    [row] = _read_index(tmp_path / "i.tsv")
    assert row["reason"] == "bad\\tcell\\nhere" and row["status"] == "bad_metadata"


# part sources (a part's videos as its jobs get them)


@pytest.mark.parametrize("layout", sorted(BUILDERS))
def test_part_source_round_trip(tmp_path: Path, layout: str) -> None:
    tree = BUILDERS[layout](tmp_path / "data")
    listing = list_dataset("ds", tree.block)
    for part, videos in deal_parts(listing, 3).items():
        source = json.loads(json.dumps(part_source("ds", listing.layout, part, videos)))
        assert (source["format"], source["dataset"], source["layout"], source["part"]) == (
            PART_FORMAT,
            "ds",
            layout,
            part,
        )
        entries = part_source_entries(source)
        ordered = sorted(videos, key=lambda v: (v.name, str(v.path)))
        assert len(entries) == len(ordered)
        names = [e.video for e in entries]
        assert len(set(names)) == len(names)  # every manifest row of a part has its own name
        for entry, video in zip(entries, ordered, strict=True):
            assert entry.part == part
            if entry.video != video.name:  # a renamed repeat of another record's name
                assert video.problem is not None and "~" in entry.video
            assert (entry.path, entry.label, entry.original) == (
                video.path,
                video.label,
                video.original,
            )
            assert (entry.in_metadata, entry.on_disk, entry.problem) == (
                video.in_metadata,
                video.on_disk,
                video.problem,
            )


def test_a_part_source_marks_a_shared_video_id_and_renames_a_repeated_name(
    tmp_path: Path,
) -> None:
    videos = [_video("a.mp4", tmp_path / "a.mp4"), _video("a.MP4", tmp_path / "a.MP4")]
    first, second = part_source_entries(part_source("d", "folder", "d-test-g-0", videos))
    assert (first.video, first.problem, first.label) == ("a.MP4", None, 1)
    assert second.video == "a.mp4" and second.label is None
    assert second.problem.startswith("video id 'a' is also the id of a.MP4")
    again = [
        _video("b.mp4", tmp_path / "x" / "b.mp4"),
        _video("b.mp4", tmp_path / "y" / "b.mp4", problem="same name as x/b.mp4"),
    ]
    kept, renamed = part_source_entries(part_source("d", "folder", "d-test-g-0", again))
    assert (kept.video, kept.problem) == ("b.mp4", None)
    assert (renamed.video, renamed.problem) == ("b~2.mp4", "same name as x/b.mp4")


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ([], "expected a part source of format rf_models.part/1, found 'list'"),
        ({"format": "rf_models.part/0"}, "found 'rf_models.part/0'"),
        ({"format": PART_FORMAT, "dataset": "d", "layout": "folder"}, "expected part to be"),
        ({"format": PART_FORMAT, "dataset": "d", "layout": "l", "part": "p"}, "videos to be"),
        (
            {"format": PART_FORMAT, "dataset": "d", "layout": "l", "part": "p", "videos": [1]},
            r"part p: videos\[0\]: expected an object",
        ),
    ],
)
def test_a_bad_part_source_is_refused(doc: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        part_source_entries(doc)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"label": True}, "expected label to be int or NoneType"),
        ({"label": 3}, "expected label 0, 1 or null"),
        ({"on_disk": "yes"}, "expected on_disk to be bool"),
        ({"path": None}, "expected path to be str"),
    ],
)
def test_a_part_source_checks_each_record(tmp_path: Path, change: dict, match: str) -> None:
    source = part_source("d", "folder", "p", [_video("a.mp4", tmp_path / "a.mp4")])
    source["videos"][0].update(change)
    with pytest.raises(ValueError, match=f"videos\\[0\\]: {match}"):
        part_source_entries(source)


# the signature


def test_listing_signature_follows_names_sizes_and_times(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"12345")
    videos = [_video("a.mp4", a), _video("b.mp4", b, on_disk=False)]
    first = listing_signature(videos)
    assert first.startswith("2 videos, sha1 ")
    assert listing_signature(reversed(videos)) == first == listing_signature(videos)
    b.write_bytes(b"")  # the absent file appears (size -1 -> 0)
    appeared = listing_signature(videos)
    assert appeared != first
    os.utime(a, ns=(1, 1))
    touched = listing_signature(videos)
    assert touched != appeared
    a.write_bytes(b"1234")
    os.utime(a, ns=(1, 1))
    assert listing_signature(videos) != touched
    renamed = [dataclasses.replace(videos[0], name="c.mp4"), videos[1]]
    assert listing_signature(renamed) != listing_signature(videos)
    assert listing_signature([]) == f"0 videos, sha1 {hashlib.sha1().hexdigest()}"
