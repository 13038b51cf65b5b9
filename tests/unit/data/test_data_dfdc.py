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
    assert read_metadata(path) == {
        "aaqaifqrwn.mp4": (1, "xyz.mp4"),
        "xyz.mp4": (0, None),
        "b.mp4": (0, None),
    }


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "metadata.json not found"),
        ("{not json", "not valid JSON"),
        ('["a.mp4"]', "expected a JSON object of videos, found list"),
        ("null", "expected a JSON object of videos, found NoneType"),
        ('{"a.mp4": {"label": "fake"}}', "entry 'a.mp4' needs a label REAL or FAKE"),
        ('{"a.mp4": {"split": "train"}}', "entry 'a.mp4' needs a label REAL or FAKE"),
        ('{"a.mp4": "FAKE"}', "entry 'a.mp4' needs a label REAL or FAKE"),
        ('{"a.mp4": {"label": ["FAKE"]}}', "entry 'a.mp4' needs a label REAL or FAKE"),
        ('{"a.mp4": {"label": 1}}', "entry 'a.mp4' needs a label REAL or FAKE"),
        ('{"a.mp4": {"label": "FAKE", "original": 5}}', "entry 'a.mp4'.*original"),
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
