"""Atomic outputs: replaced only on success, nothing left behind by a failure or a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rf_models.io_utils import (
    atomic_output_dir,
    atomic_output_file,
    atomic_write_bytes,
    atomic_write_text,
)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def test_write_text_creates_parents_and_replaces(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out.txt"
    atomic_write_text(out, "first\n")
    assert out.read_text() == "first\n"
    atomic_write_text(out, "second é\n")
    assert out.read_text(encoding="utf-8") == "second é\n"
    assert _siblings(out) == []


def test_write_bytes_keeps_old_file_when_the_write_fails(tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    atomic_write_bytes(out, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(out, "not bytes")  # type: ignore[arg-type]
    assert out.read_bytes() == b"old"
    assert _siblings(out) == []


def test_written_files_and_dirs_follow_the_umask(tmp_path: Path) -> None:
    # mkstemp/mkdtemp create 0600/0700; outputs must be as readable as any other file
    mask = _umask()
    out = tmp_path / "out.txt"
    atomic_write_text(out, "x")
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    with atomic_output_file(tmp_path / "f.png", suffix=".png") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "f.png").stat().st_mode & 0o777 == 0o666 & ~mask
    with atomic_output_dir(tmp_path / "d") as tmp:
        (tmp / "x").write_text("x")
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~mask


def test_output_file_keeps_suffix_and_replaces_on_success(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    out.write_text("old")
    with atomic_output_file(out, suffix=".png") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.endswith(".png") and tmp != out
        assert out.read_text() == "old"  # untouched until the block ends
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert _siblings(out) == []


def test_output_file_failure_keeps_old_and_removes_temp(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output_file(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert out.read_text() == "old"
    assert _siblings(out) == []


def test_output_dir_replaces_whole_tree_on_success(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    (out / "stale_video").mkdir(parents=True)
    (out / "stale_video" / "frame1.jpg").write_bytes(b"old")
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        assert (out / "stale_video").is_dir()  # old output intact while writing
        (tmp / "video").mkdir()
        (tmp / "video" / "frame1.jpg").write_bytes(b"new")
    assert sorted(p.name for p in out.iterdir()) == ["video"]
    assert (out / "video" / "frame1.jpg").read_bytes() == b"new"
    assert _siblings(out) == []


def test_output_dir_failure_keeps_old_output_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output_dir(out) as tmp:
            (tmp / "partial.txt").write_text("half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert _siblings(out) == []


def test_output_dir_failure_without_old_output_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new" / "frames"
    with pytest.raises(ValueError):
        with atomic_output_dir(out) as tmp:
            (tmp / "x").write_text("x")
            raise ValueError("bad video")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


_KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    from rf_models.io_utils import atomic_output_dir

    with atomic_output_dir(sys.argv[1]) as tmp:
        (tmp / "frame1.jpg").write_bytes(b"x" * 1000)
        print("inside", flush=True)
        time.sleep(60)
    """
)


def test_sigkill_inside_output_dir_leaves_no_final_dir_and_next_run_cleans_up(
    tmp_path: Path,
) -> None:
    out = tmp_path / "frames"
    # another output whose name starts with ours: its temp tree must survive our clean-up
    other_tmp = tmp_path / ".frames.extra.abcd1234.tmpdir"
    other_tmp.mkdir()
    unrelated = tmp_path / ".frames.notes"
    unrelated.write_text("keep")
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CHILD, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "inside"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(".frames.") and p != other_tmp]
    stale = [p for p in stale if p.name.endswith(".tmpdir")]
    assert len(stale) == 1 and (stale[0] / "frame1.jpg").is_file()

    with atomic_output_dir(out) as tmp:
        assert not stale[0].exists()  # removed before the new run writes
        (tmp / "frame1.jpg").write_bytes(b"y")
    assert (out / "frame1.jpg").read_bytes() == b"y"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["frames", other_tmp.name, unrelated.name]
    )
