"""DFDC layout: metadata.json errors name the file; entries; the part signature."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rf_models.data.dfdc import MetadataError, part_entries, part_signature, read_metadata


def _part(tmp_path: Path, meta: object, videos: dict[str, bytes]) -> Path:
    part = tmp_path / "dfdc_train_part_7"
    part.mkdir()
    (part / "metadata.json").write_text(json.dumps(meta))
    for name, data in videos.items():
        (part / name).write_bytes(data)
    return part


def test_read_metadata_labels_and_originals(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(
        json.dumps(
            {
                "aaqaifqrwn.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"},
                "xyz.mp4": {"label": "REAL", "split": "train", "original": None},
                "b.mp4": {"label": "REAL"},
            }
        )
    )
    meta = read_metadata(path)
    assert meta.labels == {
        "aaqaifqrwn.mp4": (1, "xyz.mp4"),
        "xyz.mp4": (0, None),
        "b.mp4": (0, None),
    }
    assert meta.bad == {}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "metadata.json not found"),
        ("{not json", "not valid JSON"),
        ('["a.mp4"]', "expected a JSON object of videos, found list"),
        ("null", "expected a JSON object of videos, found NoneType"),
        ('"a.mp4"', "expected a JSON object of videos, found str"),
        (b"\xff\xfe\x00garbage", "not valid JSON|not UTF-8"),
    ],
)
def test_read_metadata_errors_name_the_file(
    tmp_path: Path, content: str | bytes | None, match: str
) -> None:
    path = tmp_path / "part_3" / "metadata.json"
    path.parent.mkdir()
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(MetadataError, match=match) as err:
        read_metadata(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("name", "entry", "reason"),
    [
        ("a.mp4", {"label": "MAYBE"}, "expected a label REAL or FAKE, found 'MAYBE'"),
        ("a.mp4", {"label": "fake"}, "expected a label REAL or FAKE, found 'fake'"),
        ("a.mp4", {"split": "train"}, "expected a label REAL or FAKE, found None"),
        ("a.mp4", {"label": ["FAKE"]}, "expected a label REAL or FAKE, found ['FAKE']"),
        ("a.mp4", {"label": 1}, "expected a label REAL or FAKE, found 1"),
        ("a.mp4", "FAKE", "expected an object with a label, found 'FAKE'"),
        ("a.mp4", None, "expected an object with a label, found None"),
        ("a.mp4", {"label": "FAKE", "original": 5}, "original to be a file name or null"),
        ("../x.mp4", {"label": "REAL"}, "found the path '../x.mp4'"),
        ("a/b.mp4", {"label": "REAL"}, "found the path 'a/b.mp4'"),
        ("a\\b.mp4", {"label": "REAL"}, "found the path"),
        ("..", {"label": "REAL"}, "expected a video file name, found '..'"),
        ("", {"label": "REAL"}, "expected a video file name, found ''"),
        ("a\nb.mp4", {"label": "REAL"}, "without control characters"),
        ("notes.txt", {"label": "REAL"}, "ending in one of .mp4"),
        # no name before the extension: its id would be the part's folder or its parent
        ("...mp4", {"label": "REAL"}, "ending in one of .mp4"),
        ("..MP4", {"label": "REAL"}, "ending in one of .mp4"),
    ],
)
def test_bad_metadata_rows_are_kept_with_their_reason(tmp_path: Path, name, entry, reason) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps({name: entry, "good.mp4": {"label": "FAKE"}}))
    meta = read_metadata(path)
    assert meta.labels == {"good.mp4": (1, None)}
    assert list(meta.bad) == [name]
    assert meta.bad[name].startswith("bad metadata.json row: ")
    assert reason in meta.bad[name]


def test_read_metadata_on_a_directory_names_it(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.mkdir()
    with pytest.raises(MetadataError, match="cannot read") as err:
        read_metadata(path)
    assert str(path) in str(err.value)


def test_part_entries_union_of_folder_and_metadata(tmp_path: Path) -> None:
    meta = {
        "b.mp4": {"label": "FAKE", "original": "a.mp4"},
        "a.mp4": {"label": "REAL"},
        "gone.mp4": {"label": "FAKE", "original": "a.mp4"},
    }
    part = _part(tmp_path, meta, {"a.mp4": b"x", "b.mp4": b"y", "stray.mp4": b"z"})
    (part / "notes.txt").write_text("not a video")
    entries = part_entries(part)
    assert [e.video for e in entries] == ["a.mp4", "b.mp4", "gone.mp4", "stray.mp4"]
    by_name = {e.video: e for e in entries}
    a, b, gone, stray = (by_name[n] for n in ("a.mp4", "b.mp4", "gone.mp4", "stray.mp4"))
    assert (a.label, a.original, a.in_metadata, a.on_disk) == (0, None, True, True)
    assert (b.label, b.original, b.in_metadata, b.on_disk) == (1, "a.mp4", True, True)
    assert (gone.label, gone.in_metadata, gone.on_disk) == (1, True, False)
    assert (stray.label, stray.original, stray.in_metadata, stray.on_disk) == (
        None,
        None,
        False,
        True,
    )
    assert all(e.part == "dfdc_train_part_7" for e in entries)
    assert b.path == part / "b.mp4" and b.video_id == "b"


def test_part_entries_match_extensions_in_any_case(tmp_path: Path) -> None:
    meta = {
        "UPPER.MP4": {"label": "FAKE"},
        "phone.MOV": {"label": "REAL"},
        "clip.webm": {"label": "REAL"},
        "space name é.mp4": {"label": "REAL"},
    }
    files = {name: b"x" for name in meta} | {"raw.Mkv": b"x", "notes.MP3": b"x"}
    part = _part(tmp_path, meta, files)
    (part / "folder.mp4").mkdir()  # a folder is not a video
    entries = {e.video: e for e in part_entries(part)}
    assert sorted(entries) == sorted([*meta, "raw.Mkv"])
    for name in meta:
        e = entries[name]
        assert (e.in_metadata, e.on_disk, e.problem) == (True, True, None), e
    assert entries["UPPER.MP4"].video_id == "UPPER"
    assert entries["space name é.mp4"].video_id == "space name é"
    assert (entries["raw.Mkv"].in_metadata, entries["raw.Mkv"].on_disk) == (False, True)


def test_part_entries_keep_bad_rows_and_go_on(tmp_path: Path) -> None:
    meta = {
        "maybe.mp4": {"label": "MAYBE"},
        "../x.mp4": {"label": "REAL"},
        "a/b.mp4": {"label": "REAL"},
        "ok.mp4": {"label": "REAL"},
    }
    part = _part(tmp_path, meta, {"maybe.mp4": b"x", "ok.mp4": b"x"})
    entries = {e.video: e for e in part_entries(part)}
    assert sorted(entries) == sorted(meta)
    assert entries["ok.mp4"].problem is None and entries["ok.mp4"].label == 0
    for name in ("maybe.mp4", "../x.mp4", "a/b.mp4"):
        e = entries[name]
        assert e.problem and e.label is None and e.in_metadata, e
    assert entries["maybe.mp4"].on_disk and not entries["../x.mp4"].on_disk
    assert "'MAYBE'" in entries["maybe.mp4"].problem


def test_part_entries_refuse_two_videos_with_one_id(tmp_path: Path) -> None:
    meta = {"a.mp4": {"label": "REAL"}, "a.MP4": {"label": "FAKE"}, "b.mp4": {"label": "REAL"}}
    part = _part(tmp_path, meta, {"a.mp4": b"x", "a.MP4": b"y", "b.mp4": b"z", "b.mov": b"w"})
    entries = {e.video: e for e in part_entries(part)}
    # sorted, a.MP4 comes first and keeps the id; b.mov has no label, so it takes no id
    assert entries["a.MP4"].problem is None
    assert "video id 'a' is also the id of a.MP4" in entries["a.mp4"].problem
    assert entries["a.mp4"].label is None
    assert entries["b.mp4"].problem is None and entries["b.mov"].problem is None


def test_part_entries_without_metadata_is_an_error(tmp_path: Path) -> None:
    part = tmp_path / "dfdc_train_part_0"
    part.mkdir()
    (part / "a.mp4").write_bytes(b"x")
    with pytest.raises(MetadataError, match="metadata.json not found"):
        part_entries(part)


def test_part_signature(tmp_path: Path) -> None:
    part = _part(tmp_path, {"a.mp4": {"label": "REAL"}}, {"a.mp4": b"aaaa", "b.mp4": b"bb"})
    base = part_signature(part)
    assert base.startswith("2 videos, sha1 ")
    assert part_signature(str(part)) == base  # stable

    # metadata and other files do not take part
    (part / "metadata.json").write_text(json.dumps({"a.mp4": {"label": "FAKE"}}))
    (part / "readme.txt").write_text("x")
    assert part_signature(part) == base

    stat = (part / "a.mp4").stat()
    # content changed, same size, mtime restored: by design invisible (no video is read)
    (part / "a.mp4").write_bytes(b"AAAA")
    os.utime(part / "a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert part_signature(part) == base

    os.utime(part / "a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    moved = part_signature(part)
    assert moved != base

    (part / "a.mp4").write_bytes(b"AAAAA")  # size changes
    os.utime(part / "a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert part_signature(part) not in (base, moved)

    (part / "a.mp4").write_bytes(b"aaaa")
    os.utime(part / "a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert part_signature(part) == base  # back to the same names, sizes and mtimes

    (part / "c.mp4").write_bytes(b"c")
    added = part_signature(part)
    assert added.startswith("3 videos") and added != base
    (part / "c.mp4").unlink()
    (part / "b.mp4").unlink()
    assert part_signature(part).startswith("1 videos")


def test_part_signature_missing_folder_and_dangling_symlink(tmp_path: Path) -> None:
    assert part_signature(tmp_path / "absent") == "part folder not found"
    part = _part(tmp_path, {}, {"a.mp4": b"aaaa"})
    base = part_signature(part)
    (part / "link.mp4").symlink_to(tmp_path / "nowhere.mp4")
    linked = part_signature(part)
    assert linked.startswith("2 videos") and linked != base
    (part / "b.mp4").symlink_to(part / "a.mp4")  # a live link counts its target's size
    assert part_signature(part).startswith("3 videos")


def test_part_signature_counts_every_video_extension_in_any_case(tmp_path: Path) -> None:
    part = _part(tmp_path, {}, {"a.mp4": b"a", "B.MP4": b"b", "c.mov": b"c", "d.txt": b"d"})
    (part / "e.mp4").mkdir()
    assert part_signature(part).startswith("3 videos")
