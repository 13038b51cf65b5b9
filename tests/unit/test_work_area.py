"""Work areas: a result is reused only under its exact key, and never half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rf_models.work_area import (
    NullWorkArea,
    UpstreamArea,
    WorkArea,
    code_version,
    digest,
    file_digest,
    file_identity,
    open_work_area,
    tree_identity,
)

REPO = Path(__file__).resolve().parents[2]


def _area(root: Path, **params) -> WorkArea:
    return WorkArea(root, "test_stage", params or {"q": 1}, modules=["rf_models.work_area"])


def _commit(area: WorkArea, video: str, key: str, files: dict[str, bytes], record=None) -> None:
    with area.commit(video, key) as slot:
        for rel, data in files.items():
            (slot.data / rel).parent.mkdir(parents=True, exist_ok=True)
            (slot.data / rel).write_bytes(data)
        slot.record = record or {"n": len(files)}


def test_digest_ignores_dict_order_and_sees_every_value() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 1.5})
    assert digest({"a": 1}) != digest({"a": "1"})


def test_key_depends_on_params_video_and_deps(tmp_path: Path) -> None:
    one, two = _area(tmp_path / "one", q=1), _area(tmp_path / "two", q=2)
    assert one.key("v", x=1) == _area(tmp_path / "again", q=1).key("v", x=1)
    assert one.key("v", x=1) != two.key("v", x=1)
    assert one.key("v", x=1) != one.key("w", x=1)
    assert one.key("v", x=1) != one.key("v", x=2)


def test_committed_entry_is_reused_only_under_its_key(tmp_path: Path) -> None:
    area = _area(tmp_path)
    key = area.key("v", size=1)
    _commit(area, "v", key, {"v/frame1.txt": b"a", "v/frame2.txt": b"bb"}, {"frames": 2})
    entry = area.reusable("v", key)
    assert entry is not None and entry.record == {"frames": 2}
    assert entry.files == ("v/frame1.txt", "v/frame2.txt") and entry.dirs == ("v",)
    assert area.reusable("v", area.key("v", size=2)) is None
    assert area.reusable("v", None) is None
    assert area.reusable("w", key) is None
    # a new commit of the same video replaces the old entry
    _commit(area, "v", "other", {"v/frame1.txt": b"c"})
    assert area.reusable("v", key) is None and area.reusable("v", "other") is not None


def test_link_into_shares_the_bytes_and_move_into_keeps_only_the_record(tmp_path: Path) -> None:
    area = _area(tmp_path / "work")
    _commit(area, "v", "k", {"v/frame1.jpg": b"jpeg", "v/frame2.jpg": b"jpeg2"})
    _commit(area, "empty", "k", {})
    out = tmp_path / "out"
    out.mkdir()
    entry = area.reusable("v", "k")
    entry.link_into(out)
    area.reusable("empty", "k").link_into(out)
    assert sorted(p.name for p in out.iterdir()) == ["v"]
    assert (out / "v" / "frame1.jpg").read_bytes() == b"jpeg"
    assert os.path.samefile(out / "v" / "frame1.jpg", entry.data / "v" / "frame1.jpg")
    moved = tmp_path / "moved"
    moved.mkdir()
    entry.move_into(moved)
    assert (moved / "v" / "frame2.jpg").read_bytes() == b"jpeg2"
    assert area.reusable("v", "k") is None  # its data left
    assert area.reusable("v", "k", need_data=False).record == {"n": 2}


def test_an_exception_or_store_false_leaves_the_old_entry(tmp_path: Path) -> None:
    area = _area(tmp_path)
    _commit(area, "v", "old", {"a": b"1"})
    with pytest.raises(RuntimeError):
        with area.commit("v", "new") as slot:
            (slot.data / "a").write_bytes(b"half")
            raise RuntimeError("killed mid-video")
    with area.commit("v", "new") as slot:
        (slot.data / "a").write_bytes(b"transient")
        slot.store = False
    assert area.reusable("v", "old") is not None and area.reusable("v", "new") is None
    assert list(area.incoming.iterdir()) == []


def test_missing_data_or_a_bad_entry_file_is_not_reused(tmp_path: Path) -> None:
    area = _area(tmp_path)
    _commit(area, "v", "k", {"v/1": b"1", "v/2": b"2"})
    _commit(area, "w", "k", {"w/1": b"1"})
    _commit(area, "x", "k", {"x/1": b"1"})
    (area.videos / "v" / "data" / "v" / "2").unlink()
    (area.videos / "w" / "entry.json").write_text("{not json")
    raw = json.loads((area.videos / "x" / "entry.json").read_text())
    (area.videos / "x" / "entry.json").write_text(json.dumps(raw | {"format": 0}))
    for video in ("v", "w", "x"):
        assert area.reusable(video, "k") is None, video


def test_bad_video_ids_are_refused(tmp_path: Path) -> None:
    area = _area(tmp_path)
    for bad in ("", ".", "..", "a/b"):
        with pytest.raises(ValueError, match="expected a video id"):
            with area.commit(bad, "k"):
                pass


def test_prune_removes_videos_no_longer_in_the_part(tmp_path: Path) -> None:
    area = _area(tmp_path)
    for video in ("a", "b", "c"):
        _commit(area, video, "k", {})
    assert area.prune(["a", "c"]) == 1
    assert sorted(p.name for p in area.videos.iterdir()) == ["a", "c"]


def test_code_version_follows_module_source(tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "rf_probe_module.py"
    module.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_version(["rf_probe_module"])
    assert code_version(["rf_probe_module"]) == before
    module.write_text("X = 2\n")
    assert code_version(["rf_probe_module"]) != before
    assert code_version(["rf_probe_module"], ["numpy"]) != code_version(["rf_probe_module"])
    with pytest.raises(ValueError, match="importable module"):
        code_version(["rf_no_such_module_here"])


def test_a_run_without_a_work_area_keeps_nothing(tmp_path: Path) -> None:
    assert isinstance(open_work_area(None, "s", {}), NullWorkArea)
    assert isinstance(open_work_area(tmp_path / "w", "s", {}), WorkArea)
    null = NullWorkArea()
    assert null.key("v", x=1) is None and null.reusable("v", None) is None
    assert null.entry("v") is None and null.prune([]) == 0


def test_file_digest(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(b"x" * (3 << 20))
    first = file_digest(path)
    assert first == file_digest(path) and len(first) == 64
    path.write_bytes(b"x" * (3 << 20) + b"y")
    assert file_digest(path) != first and file_digest(tmp_path / "absent") is None


def test_file_and_tree_identity(tmp_path: Path) -> None:
    assert file_identity(tmp_path / "absent") is None and tree_identity(tmp_path / "no") is None
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"1")
    before = tree_identity(tmp_path / "d")
    (tmp_path / "d" / "f").write_bytes(b"22")
    assert tree_identity(tmp_path / "d") != before
    assert file_identity(tmp_path / "d" / "f")["size"] == 2


def test_upstream_identity_prefers_the_entry_key_then_the_output(tmp_path: Path) -> None:
    area = _area(tmp_path / "up")
    _commit(area, "v", "upkey", {})
    out = tmp_path / "out" / "w"
    out.mkdir(parents=True)
    (out / "frame1.txt").write_text("1\n")
    upstream = UpstreamArea(tmp_path / "up")
    assert upstream.identity("v", tmp_path / "out" / "v") == "entry:upkey"
    assert upstream.identity("w", out).startswith("tree:")
    assert upstream.identity("x", tmp_path / "out" / "x") is None
    assert UpstreamArea(None).identity("w", out) == upstream.identity("w", out)


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from rf_models import work_area
    from rf_models.work_area import WorkArea

    root, mode = sys.argv[1], sys.argv[2]
    area = WorkArea(root, "test_stage", {"q": 1}, modules=["rf_models.work_area"])
    if mode == "publish":
        # killed between moving the old entry aside and renaming the new one in
        real = os.replace
        calls = []
        def replace(src, dst):
            calls.append(dst)
            real(src, dst)
            if len(calls) == 1:
                os.kill(os.getpid(), 9)
        work_area.os.replace = replace
    with area.commit("v", "new") as slot:
        (slot.data / "frame1.txt").write_text("complete")
        (slot.data / "frame2.txt").write_text("half")
        if mode == "write":
            print("ready", flush=True)
            time.sleep(60)
        slot.record = {"n": 2}
    """
)


@pytest.mark.parametrize("mode", ["write", "publish"])
def test_sigkill_never_leaves_a_reusable_half_entry(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "work"
    area = _area(root)
    _commit(area, "v", "old", {"frame1.txt": b"old"})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(root), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    if mode == "write":
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.returncode == -signal.SIGKILL
    leftovers = list((root / "incoming").iterdir())
    assert leftovers, "the killed writer's slot (or the old entry moved aside) is left over"
    reopened = _area(root)
    assert list(reopened.incoming.iterdir()) == []  # opening the area clears them
    assert reopened.reusable("v", "new") is None
    if mode == "write":
        assert reopened.reusable("v", "old").record == {"n": 1}
    else:
        assert reopened.entry("v") is None  # no entry: the video is simply recomputed
