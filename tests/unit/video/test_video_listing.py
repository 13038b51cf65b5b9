"""Which files of a folder are videos: the one listing the DFDC parts, predict and the
dataset layouts use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rf_models.video.decode import collect_videos, list_videos, scan_videos

NAMES = ["a_good.mp4", "b_noface.mp4", "c_corrupt.mp4", "d_empty.mp4"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    root.mkdir()
    for name in reversed(NAMES):
        (root / name).write_bytes(b"x")
    (root / "notes.txt").write_text("not a video\n")
    (root / "sub.mp4").mkdir()  # a folder with a video's name is not a video
    return root


def test_list_videos(folder, tmp_path):
    assert [p.name for p in list_videos(folder)] == NAMES
    assert list_videos(folder) == [folder / name for name in NAMES]
    with pytest.raises(FileNotFoundError, match="found no folder"):
        list_videos(tmp_path / "nope")
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="found none"):
        list_videos(other)
    for name in ("UPPER.MP4", "phone.MOV", "b.m4v", "c.mkv", "d.webm", "e.AVI", "space é.mp4"):
        (other / name).write_bytes(b"")
    assert [p.name for p in list_videos(other)] == [
        "UPPER.MP4", "b.m4v", "c.mkv", "d.webm", "e.AVI", "phone.MOV", "space é.mp4"
    ]  # fmt: skip


def test_scan_keeps_a_dangling_link_as_a_file(folder):
    os.symlink(folder / "gone.mp4", folder / "link.mp4")
    assert [e.name for e in scan_videos(folder)] == [*NAMES, "link.mp4"]


def test_collect_videos_takes_files_and_folders(folder, tmp_path):
    odd = tmp_path / "clip.3gp"
    odd.write_bytes(b"")
    found = collect_videos([odd, folder, tmp_path / "nope.mp4"])
    assert found == [odd, *list_videos(folder), tmp_path / "nope.mp4"]
    assert collect_videos(folder) == list_videos(folder)
    with pytest.raises(FileNotFoundError, match="at least one"):
        collect_videos([])
