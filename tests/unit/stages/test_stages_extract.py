"""extract_frames: every video gets a manifest row; frames from 1, strides, detector scale."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rf_models.data.manifest import read_manifest
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.video.decode import FrameReader

PART = "dfdc_train_part_5"


@pytest.fixture(scope="module")
def status_part(tmp_path_factory, write_video, write_metadata, noise_frames) -> Path:
    """One video per status: ok, partial, unreadable, empty_file, missing, not_in_metadata."""
    part = tmp_path_factory.mktemp("status") / PART
    part.mkdir()
    write_video(part / "good.mp4", noise_frames)
    data = write_video(part / "cut.mp4", noise_frames, faststart=True).read_bytes()
    (part / "cut.mp4").write_bytes(data[: int(len(data) * 0.8)])
    data = write_video(part / "nomoov.mp4", noise_frames).read_bytes()
    (part / "nomoov.mp4").write_bytes(data[: int(len(data) * 0.8)])
    (part / "garbage.mp4").write_bytes(np.random.default_rng(2).bytes(3000))
    (part / "empty.mp4").write_bytes(b"")
    (part / "link.mp4").symlink_to(part.parent / "nowhere.mp4")  # a dangling symlink
    write_video(part / "stray.mp4", noise_frames[:3])
    labels = {"good": "FAKE", "cut": "REAL", "nomoov": "FAKE", "garbage": "FAKE", "empty": "REAL"}
    labels["link"] = "REAL"
    write_metadata(part, {f"{k}.mp4": v for k, v in labels.items()} | {"gone.mp4": "FAKE"})
    return part


@pytest.fixture(scope="module")
def extracted(status_part: Path, tmp_path_factory):
    out = tmp_path_factory.mktemp("extract_out")
    rows = extract_part(
        status_part, out / "frames" / PART, out / "manifests" / f"{PART}.tsv", FrameOptions()
    )
    return out, rows


def test_every_status_lands_in_the_manifest(extracted) -> None:
    out, rows = extracted
    assert read_manifest(out / "manifests" / f"{PART}.tsv") == rows
    by_video = {row.video: row for row in rows}
    assert [row.video for row in rows] == sorted(by_video)
    assert {v: r.status for v, r in by_video.items()} == {
        "cut.mp4": "partial",
        "empty.mp4": "empty_file",
        "garbage.mp4": "unreadable",
        "gone.mp4": "missing",
        "good.mp4": "ok",
        "link.mp4": "missing",
        "nomoov.mp4": "unreadable",
        "stray.mp4": "not_in_metadata",
    }
    assert all(row.part == PART for row in rows)
    good, cut, stray = by_video["good.mp4"], by_video["cut.mp4"], by_video["stray.mp4"]
    assert (good.label, good.original, good.reason) == (1, "o.mp4", "")
    assert (good.n_frames, good.width, good.height, good.fps) == (10, 64, 48, 30.0)
    assert cut.label == 0 and 1 <= cut.n_frames < 10
    assert "decoded" in cut.reason and "10" in cut.reason
    assert stray.label is None and stray.n_frames == 0
    for name in ("empty.mp4", "garbage.mp4", "gone.mp4", "link.mp4", "nomoov.mp4", "stray.mp4"):
        assert by_video[name].reason, name
        assert by_video[name].n_frames == 0 and by_video[name].num_faces == 0


def test_frames_are_named_from_1(extracted) -> None:
    out, rows = extracted
    frames = out / "frames" / PART
    n_cut = next(row.n_frames for row in rows if row.video == "cut.mp4")
    assert sorted(p.name for p in (frames / "good").iterdir()) == sorted(
        f"frame{n}.jpg" for n in range(1, 11)
    )
    assert sorted(p.name for p in (frames / "cut").iterdir()) == sorted(
        f"frame{n}.jpg" for n in range(1, n_cut + 1)
    )
    for video in ("empty", "gone", "link", "stray"):
        assert not (frames / video).exists()
    # 64x48 is below the detector's 400 px short side: "detect" scale enlarges it
    assert cv2.imread(str(frames / "good" / "frame1.jpg")).shape == (400, 533, 3)
    assert not [p for p in (out / "frames").iterdir() if p.name.endswith(".tmpdir")]


def test_stride_keeps_1_then_every_kth(status_part: Path, tmp_path: Path) -> None:
    opts = FrameOptions(stride=3, format="png", scale="full")
    rows = extract_part(status_part, tmp_path / "frames", tmp_path / "m.tsv", opts)
    good = next(row for row in rows if row.video == "good.mp4")
    assert good.status == "ok" and good.n_frames == 10
    assert sorted(p.name for p in (tmp_path / "frames" / "good").iterdir()) == [
        "frame1.png",
        "frame10.png",
        "frame4.png",
        "frame7.png",
    ]
    # png at full scale is the decoded frame itself
    decoded = dict(FrameReader(status_part / "good.mp4", wanted={4}))
    stored = cv2.imread(str(tmp_path / "frames" / "good" / "frame4.png"))
    assert np.array_equal(stored, decoded[4])


def test_rerun_replaces_the_whole_output(status_part: Path, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    (frames / "old_video").mkdir(parents=True)
    extract_part(status_part, frames, tmp_path / "m.tsv", FrameOptions(scale="full"))
    assert not (frames / "old_video").exists()
    assert (frames / "good" / "frame10.jpg").is_file()


@pytest.mark.parametrize(
    ("width", "height", "detect_shape"),
    [(1920, 1080, (400, 711)), (1080, 1920, (711, 400))],
)
def test_scale_detect_stores_the_detector_input_size(
    tmp_path, write_video, write_metadata, width, height, detect_shape
) -> None:
    part = tmp_path / PART
    part.mkdir()
    frames = [np.full((height, width, 3), 60 * i, dtype=np.uint8) for i in range(2)]
    write_video(part / "big.mp4", frames)
    write_metadata(part, {"big.mp4": "REAL"})
    for scale, shape in (("detect", detect_shape), ("full", (height, width))):
        out = tmp_path / scale
        (row,) = extract_part(part, out, tmp_path / f"{scale}.tsv", FrameOptions(scale=scale))
        assert (row.status, row.width, row.height, row.n_frames) == ("ok", width, height, 2)
        for n in (1, 2):
            assert cv2.imread(str(out / "big" / f"frame{n}.jpg")).shape == (*shape, 3)


def test_a_part_without_metadata_fails_with_a_clear_error(tmp_path: Path) -> None:
    part = tmp_path / PART
    part.mkdir()
    with pytest.raises(ValueError, match="metadata.json not found"):
        extract_part(part, tmp_path / "frames", tmp_path / "m.tsv", FrameOptions())
    assert not (tmp_path / "frames").exists() and not (tmp_path / "m.tsv").exists()
