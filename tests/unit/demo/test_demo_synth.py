"""build_demo_dataset: layout, labels, awkward cases, determinism, argument checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import av
import pytest

from rf_models.data.manifest import STATUSES
from rf_models.demo import (
    AWKWARD_CASES,
    SUMMARY_NAME,
    awkward_cases_by_part,
    build_demo_dataset,
    load_demo_summary,
    plan_demo_dataset,
)
from rf_models.demo.__main__ import main
from tests.support.demo_data import TINY, decode_all


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_metadata(root: Path, part: str) -> dict:
    return json.loads((root / part / "metadata.json").read_text())


def test_layout_and_summary_file(tiny_demo):
    root = tiny_demo.root
    assert sorted(p.name for p in root.iterdir()) == sorted([*tiny_demo.parts, SUMMARY_NAME])
    assert tiny_demo.parts == ("dfdc_train_part_0", "dfdc_train_part_1")
    assert load_demo_summary(root) == tiny_demo
    for part in tiny_demo.parts:
        assert len(tiny_demo.part_videos(part)) == TINY["videos_per_part"]
        files = {p.name for p in (root / part).iterdir()} - {"metadata.json"}
        assert all(name.endswith(".mp4") and len(name) == 14 for name in files)
    # no temporary files or folders left behind
    assert not [p for p in root.parent.rglob("*") if ".tmp" in p.name]


def test_same_seed_gives_identical_bytes(tiny_demo, tmp_path):
    # A separate process: the encoder once differed only on a process's first encode.
    args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items() if k != "n_parts"]
    cmd = [sys.executable, "-m", "rf_models.demo", f"--root={tmp_path / 'again'}",
           f"--parts={TINY['n_parts']}", *args]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    first, second = tree_hashes(tiny_demo.root), tree_hashes(tmp_path / "again")
    assert first == second
    assert len(first) == 2 + 1 + 2 * TINY["videos_per_part"] - 1  # metadata x2, summary, files
    for video in tiny_demo.videos:
        if video.on_disk:
            assert first[video.relpath] == video.sha256
    # and in this process again
    assert tree_hashes(build_demo_dataset(tmp_path / "third", **TINY).root) == first


def test_other_seed_gives_other_videos(tiny_demo, tmp_path):
    other = build_demo_dataset(tmp_path / "other", **{**TINY, "seed": 4, "awkward": False})
    assert {v.filename for v in other.videos}.isdisjoint(v.filename for v in tiny_demo.videos)


def test_files_carry_no_encoder_version_or_creation_time(tiny_demo):
    video = next(v for v in tiny_demo.videos if v.case == "normal")
    data = (tiny_demo.root / video.relpath).read_bytes()
    assert b"x264 - core" not in data and b"Lavf" not in data
    with av.open(str(tiny_demo.root / video.relpath)) as container:
        assert "creation_time" not in container.metadata
        assert "encoder" not in container.metadata
        assert "creation_time" not in container.streams.video[0].metadata


def test_metadata_is_consistent(tiny_demo):
    root = tiny_demo.root
    for part in tiny_demo.parts:
        meta = read_metadata(root, part)
        videos = {v.filename: v for v in tiny_demo.part_videos(part)}
        on_disk = {p.name for p in (root / part).iterdir()} - {"metadata.json"}
        assert set(meta) == {name for name, v in videos.items() if v.in_metadata}
        assert on_disk == {name for name, v in videos.items() if v.on_disk}
        for name, entry in meta.items():
            assert entry["split"] == "train"
            assert entry["label"] == videos[name].label
            if entry["label"] == "FAKE":
                original = entry["original"]
                assert meta[original]["label"] == "REAL"
                assert (root / part / original).is_file()
                assert videos[name].original == original
            else:
                assert entry == {"label": "REAL", "split": "train"}
        labels = Counter(entry["label"] for entry in meta.values())
        assert labels["REAL"] >= 1 and labels["FAKE"] >= 1


def test_fakes_repeat_their_original_outside_the_face(tiny_demo):
    fake = next(v for v in tiny_demo.videos if v.label == "FAKE" and v.case == "normal")
    real = next(v for v in tiny_demo.videos if v.filename == fake.original)
    assert fake.identities == real.identities and fake.donor not in real.identities
    assert fake.artefacts and fake.n_frames == real.n_frames
    fake_frames = decode_all(tiny_demo.root / fake.relpath)
    real_frames = decode_all(tiny_demo.root / real.relpath)
    corner_diff = abs(fake_frames[0][:12, :12].astype(int) - real_frames[0][:12, :12]).mean()
    whole_diff = abs(fake_frames[0].astype(int) - real_frames[0]).max()
    assert corner_diff < 3 and whole_diff > 40


def test_every_awkward_case_is_present_with_its_property(tiny_demo):
    cases = tiny_demo.cases
    assert set(cases) == set(AWKWARD_CASES)
    root = tiny_demo.root
    for name, (w, h) in {"landscape_1080p": (1920, 1080), "portrait_1080p": (1080, 1920)}.items():
        frames = decode_all(root / cases[name].relpath)
        assert frames[0].shape == (h, w, 3) and len(frames) == cases[name].n_frames
        assert cases[name].n_frames == 2  # min_seconds 0.4 at 5 fps
    assert cases["two_faces"].n_faces == 2 and len(set(cases["two_faces"].identities)) == 2
    assert cases["no_face"].n_faces == 0 and cases["no_face"].label == "REAL"
    truncated = cases["truncated"]
    path = root / truncated.relpath
    assert truncated.decodable == "partial" and truncated.label == "FAKE"
    decoded = 0
    with pytest.raises(av.error.FFmpegError):  # noqa: PT012 (count frames until it breaks)
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                decoded += 1
    assert decoded < truncated.n_frames
    assert path.stat().st_size == truncated.size_bytes > 0
    zero = cases["zero_byte"]
    assert (root / zero.relpath).stat().st_size == 0 and zero.label == "FAKE"
    missing = cases["missing_file"]
    assert not (root / missing.relpath).exists()
    assert read_metadata(root, missing.part)[missing.filename]["label"] == "FAKE"
    extra = cases["not_in_metadata"]
    assert extra.filename not in read_metadata(root, extra.part)
    assert len(decode_all(root / extra.relpath)) == extra.n_frames > 0
    for video in tiny_demo.videos:
        assert video.expected_status in STATUSES
    assert {c: v.expected_status for c, v in cases.items() if v.expected_status != "ok"} == {
        "truncated": "partial",
        "zero_byte": "empty_file",
        "missing_file": "missing",
        "not_in_metadata": "not_in_metadata",
        "no_face": "no_face",
    }


def test_awkward_cases_are_spread_over_parts(tiny_demo):
    per_part = Counter(v.part for v in tiny_demo.cases.values())
    assert per_part == {"dfdc_train_part_0": 4, "dfdc_train_part_1": 4}
    assert awkward_cases_by_part(1) == [list(AWKWARD_CASES)]
    assert [len(c) for c in awkward_cases_by_part(3)] == [3, 3, 2]
    assert awkward_cases_by_part(10)[8:] == [[], []]


def test_frames_decode_to_requested_size_and_count(tiny_demo):
    checked = 0
    for video in tiny_demo.videos:
        if video.decodable != "full" or video.width == 1920 or video.height == 1920:
            continue
        frames = decode_all(tiny_demo.root / video.relpath)
        assert len(frames) == video.n_frames
        assert 2 <= video.n_frames <= 4  # 0.4-0.8 s at 5 fps
        assert frames[0].shape == (TINY["height"], TINY["width"], 3)
        with av.open(str(tiny_demo.root / video.relpath)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert stream.average_rate == TINY["fps"]
        checked += 1
    assert checked == 7  # 2 parts x (REAL + FAKE) + two_faces, no_face, not_in_metadata


def test_default_plan_proportions():
    plans = plan_demo_dataset()
    for k in range(4):
        labels = Counter(
            p.label for p in plans if p.part == f"dfdc_train_part_{k}" and p.label is not None
        )
        fake_share = labels["FAKE"] / (labels["FAKE"] + labels["REAL"])
        assert 0.5 <= fake_share <= 0.7, (k, labels)
    identities = {h.identity for p in plans for h in p.heads}
    assert len(identities) == 10
    assert len({p.filename for p in plans}) == len(plans) == 64


def test_no_awkward_build_has_only_ordinary_videos():
    plans = plan_demo_dataset(n_parts=1, videos_per_part=2, awkward=False)
    assert [(p.case, p.label) for p in plans] == [("normal", "REAL"), ("normal", "FAKE")]
    assert plans[1].original == plans[0].filename and plans[1].heads == plans[0].heads


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"n_parts": 0}, ValueError, "n_parts must be >= 1, got 0"),
        ({"n_parts": True}, TypeError, "n_parts must be an integer"),
        ({"n_parts": 2.0}, TypeError, "n_parts must be an integer"),
        ({"videos_per_part": 5}, ValueError, "needs videos_per_part >= 6"),
        ({"n_parts": 1, "videos_per_part": 9}, ValueError, "needs videos_per_part >= 10"),
        (
            {"videos_per_part": 1, "awkward": False},
            ValueError,
            "videos_per_part: 1 is less than the minimum of 2",
        ),
        ({"seed": -1}, ValueError, "seed: -1 is less than the minimum of 0"),
        ({"width": 127}, ValueError, "width: 127 is not a multiple of 2"),
        ({"height": 32}, ValueError, "height: 32 is less than the minimum of 64"),
        ({"fps": 0}, ValueError, "fps: 0 is less than the minimum of 1"),
        ({"min_seconds": 0}, ValueError, "min_seconds: 0 is less than or equal to the minimum"),
        ({"max_seconds": float("inf")}, ValueError, "max_seconds: inf is greater than the maximum"),
        ({"min_seconds": "1"}, ValueError, "min_seconds: '1' is not of type 'number'"),
        ({"min_seconds": 2, "max_seconds": 1}, ValueError, "must be >= min_seconds"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path, changes, error, message):
    with pytest.raises(error, match=message):
        build_demo_dataset(tmp_path / "x", **{**TINY, **changes})
    assert not (tmp_path / "x").exists()


def test_refuses_to_replace_a_directory_that_is_not_a_demo(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        build_demo_dataset(root, **TINY)
    assert (root / "precious.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="found a file"):
        build_demo_dataset(tmp_path / "file", **TINY)


def test_replaces_an_earlier_demo(tmp_path):
    root = tmp_path / "data"
    small = dict(TINY, n_parts=3, videos_per_part=2, awkward=False)
    build_demo_dataset(root, **small)
    assert (root / "dfdc_train_part_2").is_dir()
    summary = build_demo_dataset(root, **{**small, "n_parts": 1})
    assert sorted(p.name for p in root.iterdir()) == sorted(["dfdc_train_part_0", SUMMARY_NAME])
    assert len(summary.videos) == 2


def test_load_demo_summary_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no demo summary"):
        load_demo_summary(tmp_path)
    (tmp_path / SUMMARY_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_demo_summary(tmp_path)
    (tmp_path / SUMMARY_NAME).write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="expected demo summary version 1, got 99"):
        load_demo_summary(tmp_path)
    (tmp_path / SUMMARY_NAME).write_text(json.dumps({"version": 1, "videos": []}))
    with pytest.raises(ValueError, match="malformed demo summary"):
        load_demo_summary(tmp_path)


def test_cli_builds_and_reports(tmp_path, capsys):
    args = ["--root", str(tmp_path / "cli"), "--parts", "1", "--videos-per-part", "2",
            "--no-awkward", "--width", "96", "--height", "64", "--fps", "4",
            "--min-seconds", "0.5", "--max-seconds", "0.5"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "dfdc_train_part_0: 2 entries, 1 FAKE, 1 REAL" in out
    summary = load_demo_summary(tmp_path / "cli")
    assert [v.n_frames for v in summary.videos] == [2, 2]


def test_cli_reports_bad_arguments(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "cli"), "--parts", "0"]) == 2
    assert "n_parts must be >= 1" in capsys.readouterr().err


def test_integer_and_float_seconds_give_the_same_bytes(tmp_path):
    small = dict(TINY, n_parts=1, videos_per_part=2, awkward=False, fps=2)
    a = build_demo_dataset(tmp_path / "a", **{**small, "min_seconds": 1, "max_seconds": 2})
    b = build_demo_dataset(tmp_path / "b", **{**small, "min_seconds": 1.0, "max_seconds": 2.0})
    assert tree_hashes(a.root) == tree_hashes(b.root)
