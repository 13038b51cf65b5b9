"""The per-video resume loop: what is computed, kept, reused, handed over and pruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from rf_models.resume_loop import VideoLoop


def _loop(work: Path | None, **params) -> VideoLoop:
    return VideoLoop(work, "loop_test", params or {"q": 1}, ["rf_models.work_area"])


def _write(slot, video: str, text: str) -> None:
    (slot.data / video).mkdir()
    (slot.data / video / "out.txt").write_text(text)


def _run(loop: VideoLoop, out: Path, videos: dict[str, str], computed: list[str], **kw):
    items = [loop.plan(v, v, {"content": c}) for v, c in videos.items()]
    with loop.run(items, out, "loop_test part", **kw) as run:
        for item in run.todo:
            with run.slot(item) as slot:
                _write(slot, item.video_id, videos[item.video_id])
                slot.record = {"content": videos[item.video_id]}
            computed.append(item.video_id)
    return items


def _tree(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.txt"))}


def test_videos_are_kept_reused_and_handed_over(tmp_path: Path) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v1": "one", "v2": "two"}, computed)
    assert computed == ["v1", "v2"]
    assert _tree(tmp_path / "a") == {"v1/out.txt": "one", "v2/out.txt": "two"}
    # the output's files are hard links to the entries' own
    entry = loop.area.entry("v1")
    assert (tmp_path / "a" / "v1" / "out.txt").samefile(entry.data / "v1" / "out.txt")
    computed.clear()
    items = _run(_loop(tmp_path / "work"), tmp_path / "b", {"v1": "one", "v2": "2"}, computed)
    assert computed == ["v2"] and [i.reused for i in items] == [True, False]
    assert _tree(tmp_path / "b") == {"v1/out.txt": "one", "v2/out.txt": "2"}
    # a video that left the part loses its entry
    _run(_loop(tmp_path / "work"), tmp_path / "c", {"v2": "2"}, computed)
    assert sorted(p.name for p in (tmp_path / "work" / "videos").iterdir()) == ["v2"]


def test_without_a_work_area_or_a_key_the_slot_is_the_output(tmp_path: Path) -> None:
    computed: list[str] = []
    loop = _loop(None)
    assert not loop.keeps
    _run(loop, tmp_path / "a", {"v1": "one"}, computed)
    _run(_loop(None), tmp_path / "b", {"v1": "one"}, computed)
    assert computed == ["v1", "v1"] and _tree(tmp_path / "b") == {"v1/out.txt": "one"}
    keyed = _loop(tmp_path / "work")
    item = keyed.plan("v", "v", None)
    with keyed.run([item], tmp_path / "c", "x") as run:
        with run.slot(item) as slot:
            _write(slot, "v", "direct")
    assert _tree(tmp_path / "c") == {"v/out.txt": "direct"}
    assert keyed.area.entry("v") is None


def test_a_result_not_stored_goes_to_the_output_and_is_not_kept(tmp_path: Path) -> None:
    loop = _loop(tmp_path / "work")
    item = loop.plan("v", "v", {"x": 1})
    with loop.run([item], tmp_path / "out", "x") as run:
        with run.slot(item) as slot:
            _write(slot, "v", "transient")
            slot.store = False
        assert run.entry(item) is None
    assert _tree(tmp_path / "out") == {"v/out.txt": "transient"}
    assert _loop(tmp_path / "work").plan("v", "v", {"x": 1}).kept is None


def test_move_hands_the_files_over_and_keeps_the_record(tmp_path: Path) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v": "one"}, computed, hand_over="move")
    assert _tree(tmp_path / "a") == {"v/out.txt": "one"}
    again = _loop(tmp_path / "work")
    item = again.plan("v", "v", {"content": "one"})
    assert item.kept is None  # its files are gone
    assert again.kept_without_data(item).record == {"content": "one"}
    with pytest.raises(ValueError, match="hand_over"):
        with again.run([item], tmp_path / "b", "x", hand_over="copy"):
            pass


def test_a_settled_video_keeps_its_entry_but_hands_nothing_over(tmp_path: Path) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v": "one"}, computed, hand_over="move")
    again = _loop(tmp_path / "work")
    item = again.plan("v", "v", {"content": "one"})
    item.kept, item.link = again.kept_without_data(item), False
    with again.run([item], tmp_path / "b", "x", hand_over="move") as run:
        assert run.todo == []
    assert _tree(tmp_path / "b") == {}
    assert again.area.entry("v") is not None


def test_accept_refuses_a_kept_entry(tmp_path: Path) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v": "one"}, computed)
    again = _loop(tmp_path / "work")
    assert again.plan("v", "v", {"content": "one"}).reused
    assert not again.plan("v", "v", {"content": "one"}, accept=lambda e: False).reused


def test_a_failure_leaves_no_output_and_the_old_entries(tmp_path: Path) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v1": "one"}, computed)
    again = _loop(tmp_path / "work")
    items = [again.plan(v, v, {"content": c}) for v, c in {"v1": "one", "v2": "x"}.items()]
    with pytest.raises(RuntimeError, match="boom"):
        with again.run(items, tmp_path / "b", "x") as run:
            for item in run.todo:
                with run.slot(item):
                    raise RuntimeError("boom")
    assert not (tmp_path / "b").exists()
    assert again.area.entry("v1") is not None and again.area.entry("v2") is None


def test_progress_counts_reused_computed_and_skipped(tmp_path: Path, caplog) -> None:
    loop, computed = _loop(tmp_path / "work"), []
    _run(loop, tmp_path / "a", {"v1": "one"}, computed)
    again = _loop(tmp_path / "work")
    items = [again.plan(v, v, {"content": "one"}) for v in ("v1", "v2", "v3")]
    with caplog.at_level("INFO", logger="rf_models"):
        with again.run(items, tmp_path / "b", "loop_test p") as run:
            with run.slot(run.todo[0]) as slot:
                _write(slot, "v2", "one")
            run.skip(run.todo[1])
    assert "loop_test p: 3 videos, 1 reused from an earlier attempt, 2 to compute" in caplog.text
    assert "loop_test p: video 3/3" in caplog.text
