"""Landmarks with the detections; landmark-aligned crops; crops cut from perturbed frames;
a dataset part (its videos as data) through the stages."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from rf_models.data.datasets import part_source
from rf_models.data.layouts import list_dataset
from rf_models.data.manifest import read_manifest
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.landmarks_io import LANDMARKS_FILENAME, check_video_landmarks
from rf_models.infer.sampling import sample_frames
from rf_models.stages.align import align_part
from rf_models.stages.align_options import AlignOptions, FrameEdit
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.stages.track import track_part

TRACK = {"score_threshold": 0.8, "iou_threshold": 0.5, "crop_scale": 1.3, "crop_source": "borrowed"}
PART = "dfdc_train_part_4"


@pytest.fixture(scope="module")
def run(tmp_path_factory, write_video, write_metadata, face_frames) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("modes")
    part = root / "data" / PART
    part.mkdir(parents=True)
    write_video(part / "faces.mp4", face_frames)
    write_metadata(part, {"faces.mp4": "FAKE"})
    r = SimpleNamespace(part=part, root=root)
    r.frames, r.detections = root / "frames", root / "detections"
    r.tracks, r.m_extract, r.m_track = root / "tracks", root / "extract.tsv", root / "track.tsv"
    detector = RetinaFaceDetector(backend="onnx", device="cpu", threads=1)
    extract_part(part, r.frames, r.m_extract, FrameOptions())
    detect_part(r.frames, r.m_extract, r.detections, detector, batch_size=5)
    track_part(r.detections, r.m_extract, r.tracks, r.m_track, TRACK)
    return r


def _align(r, out: Path, **kw) -> list:
    return align_part(r.part, r.tracks, r.m_track, out / "faces", out / "m.tsv", **kw)


def _crops(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p)) for p in sorted(folder.rglob("*.jpg"))}


def test_the_landmarks_file_lines_up_with_every_txt(run) -> None:
    video = run.detections / "faces"
    assert (video / LANDMARKS_FILENAME).is_file()
    landmarks = check_video_landmarks(video)  # raises when a frame's count differs
    assert sorted(landmarks) == list(range(1, 11))
    txt = (video / "frame1.txt").read_text().splitlines()
    assert len(landmarks[1]) == int(txt[0]) >= 6
    # each face's five points lie inside its box (the txt's line k)
    for k, line in enumerate(txt[1:7], start=0):
        x, y, w, h = (int(v) for v in line.split()[:4])
        points = landmarks[1][k]
        assert np.all((points[:, 0] >= x - 2) & (points[:, 0] <= x + w + 2)), (k, points)
        assert np.all((points[:, 1] >= y - 2) & (points[:, 1] <= y + h + 2)), (k, points)


def test_landmark_crops_are_aligned_squares_of_the_asked_size(run, tmp_path) -> None:
    box = _align(run, tmp_path / "box")
    with pytest.raises(ValueError, match="needs the part's detections"):
        _align(run, tmp_path / "none", options=AlignOptions(method="landmarks"))
    marks = _align(
        run,
        tmp_path / "lm",
        options=AlignOptions(method="landmarks", size=96),
        detections_dir=run.detections,
    )
    assert [r.num_faces for r in marks] == [r.num_faces for r in box] == [6]  # t1: six faces
    box_crops, lm_crops = _crops(tmp_path / "box"), _crops(tmp_path / "lm")
    assert sorted(box_crops) == sorted(lm_crops)  # the same frame<N>_face<k> names
    assert {c.shape for c in lm_crops.values()} == {(96, 96, 3)}
    # the margin keeps the face inside: its centre is the face's, not the background
    first = lm_crops["frame1_face1.jpg"].astype(float)
    assert first[32:64, 32:64].std() > 10


def test_crops_of_perturbed_frames_only_for_the_sampled_frames(run, tmp_path) -> None:
    clean = _align(run, tmp_path / "clean")
    edit = FrameEdit(perturbation="CS5", max_frames=4, spacing="even")
    rows = _align(run, tmp_path / "cs5", edit=edit)
    assert [r.status for r in rows] == [r.status for r in clean]
    wanted = sample_frames(10, 4, spacing="even")
    crops = _crops(tmp_path / "cs5")
    assert {int(n.split("_")[0][5:]) for n in crops} == set(wanted)
    for image in crops.values():  # no chroma left: B = G = R within JPEG's rounding
        spread = image.astype(int).max(axis=2) - image.astype(int).min(axis=2)
        assert spread.mean() < 4
    assert _crops(tmp_path / "clean")["frame1_face1.jpg"].std(axis=2).mean() > 4


def test_video_compression_re_encodes_the_video_and_random_types_repeat(run, tmp_path) -> None:
    vc = _align(run, tmp_path / "vc", edit=FrameEdit(perturbation="VC5", max_frames=3))
    assert vc[0].status == "ok"
    _align(run, tmp_path / "clean")
    clean = _crops(tmp_path / "clean")
    compressed = _crops(tmp_path / "vc")
    for name, image in compressed.items():
        diff = np.abs(image.astype(int) - clean[name].astype(int)).mean()
        assert 0.5 < diff < 40, (name, diff)  # CRF 40 loses detail, keeps the face
    a = _align(run, tmp_path / "bw_a", edit=FrameEdit(perturbation="BW5", seed=1, max_frames=3))
    _align(run, tmp_path / "bw_b", edit=FrameEdit(perturbation="BW5", seed=1, max_frames=3))
    _align(run, tmp_path / "bw_c", edit=FrameEdit(perturbation="BW5", seed=2, max_frames=3))
    assert a[0].status == "ok"
    same = _crops(tmp_path / "bw_a"), _crops(tmp_path / "bw_b"), _crops(tmp_path / "bw_c")
    assert all(np.array_equal(same[0][n], same[1][n]) for n in same[0])
    assert not all(np.array_equal(same[0][n], same[2][n]) for n in same[0])


def test_a_truncated_video_under_compression_is_a_row_not_a_crash(run, tmp_path) -> None:
    part = tmp_path / PART
    part.mkdir()
    data = (run.part / "faces.mp4").read_bytes()
    (part / "faces.mp4").write_bytes(data[:200])  # a header only: ffmpeg gives up
    (part / "metadata.json").write_text((run.part / "metadata.json").read_text())
    rows = align_part(
        part,
        run.tracks,
        run.m_track,
        tmp_path / "f",
        tmp_path / "m.tsv",
        edit=FrameEdit(perturbation="VC1"),
    )
    assert rows[0].status == "unreadable" and "align:" in rows[0].reason


def test_a_dataset_part_runs_through_the_stages_from_its_source(tmp_path, write_video) -> None:
    root = tmp_path / "mine"
    frames = [np.full((96, 128, 3), 90, np.uint8)] * 4
    for rel in ("real/a.mp4", "real/sub/b.mp4", "fake/c.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / rel, frames)
    (root / "fake" / "broken.mp4").write_bytes(b"not a video")
    listing = list_dataset("mine", {"layout": "folder", "root": str(root)})
    by_group: dict[str, list] = {}
    for video in listing.videos:
        by_group.setdefault(video.group, []).append(video)
    source = part_source("mine", "folder", "mine-test-fake-0", by_group["fake"])
    source = json.loads(json.dumps(source))  # as a rule's parameter carries it
    rows = extract_part(source, tmp_path / "frames", tmp_path / "m.tsv", FrameOptions())
    assert [(r.part, r.video, r.label, r.status) for r in rows] == [
        ("mine-test-fake-0", "broken.mp4", 1, "unreadable"),
        ("mine-test-fake-0", "c.mp4", 1, "ok"),
    ]
    assert read_manifest(tmp_path / "m.tsv") == rows
    assert sorted(p.name for p in (tmp_path / "frames" / "c").iterdir())[:2] == [
        "frame1.jpg",
        "frame2.jpg",
    ]
