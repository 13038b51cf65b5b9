"""detect_faces -> track_faces -> align_faces end to end on a t1.jpg video and a grey one.

Uses the packaged RetinaFace weights with the PyTorch backend on one thread.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from rf_models.data.lists import make_list, read_list
from rf_models.data.manifest import ManifestRow, read_manifest, write_manifest
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.stages.align import align_part
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.stages.track import track_part
from rf_models.video.decode import FrameReader

PART = "dfdc_train_part_2"
TRACK = {"score_threshold": 0.8, "iou_threshold": 0.5, "crop_scale": 1.3, "crop_source": "borrowed"}
BOX_LINE = re.compile(r"^\d+ \d+ \d+ \d+ \d\.\d+(e-\d+)?$")


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="torch", device="cpu", threads=1)


@pytest.fixture(scope="module")
def part(tmp_path_factory, write_video, write_metadata, face_frames) -> Path:
    part = tmp_path_factory.mktemp("data") / PART
    part.mkdir()
    write_video(part / "faces.mp4", face_frames)
    write_video(part / "grey.mp4", [np.full((360, 640, 3), 128, np.uint8)] * 6)
    write_metadata(part, {"faces.mp4": "FAKE", "grey.mp4": "REAL", "gone.mp4": "FAKE"})
    return part


def _run(part: Path, root: Path, detector, stride: int = 1) -> SimpleNamespace:
    """Every stage of a part, as the workflow runs them, with ``frames.stride`` = ``stride``."""
    r = SimpleNamespace(root=root, part=part)
    r.frames, r.detections = root / "frames" / PART, root / "detections" / PART
    r.tracks, r.faces = root / "tracks" / PART, root / "faces" / PART
    r.m_extract, r.m_track, r.m_align = (root / f"{s}.tsv" for s in ("extract", "track", "align"))
    extract_part(part, r.frames, r.m_extract, FrameOptions(stride=stride))
    r.n_detected = detect_part(r.frames, r.m_extract, r.detections, detector, batch_size=4)
    track_part(r.detections, r.m_extract, r.tracks, r.m_track, TRACK, frame_stride=stride)
    r.rows = align_part(part, r.tracks, r.m_track, r.faces, r.m_align)
    return r


@pytest.fixture(scope="module")
def run(part: Path, tmp_path_factory, detector) -> SimpleNamespace:
    return _run(part, tmp_path_factory.mktemp("out"), detector)


@pytest.fixture(scope="module")
def run_stride2(part: Path, tmp_path_factory, detector) -> SimpleNamespace:
    return _run(part, tmp_path_factory.mktemp("out_stride2"), detector, stride=2)


def _txt_boxes(path: Path) -> list[tuple[int, int, int, int, float]]:
    lines = path.read_text().splitlines()
    assert int(lines[0]) == len(lines) - 1, path
    boxes = []
    for line in lines[1:]:
        assert BOX_LINE.match(line), line
        x, y, w, h, score = line.split()
        boxes.append((int(x), int(y), int(w), int(h), float(score)))
    return boxes


def test_detect_writes_one_seed_txt_per_frame(run) -> None:
    assert run.n_detected == 16
    assert sorted(p.name for p in run.detections.iterdir()) == ["faces", "grey"]
    for video, n in (("faces", 10), ("grey", 6)):
        names = sorted(p.name for p in (run.detections / video).iterdir())
        # the seed's txt per frame, and the landmarks of the whole video in one file
        assert names == sorted([*(f"frame{i}.txt" for i in range(1, n + 1)), "landmarks.json"])
    for i in range(1, 11):
        boxes = _txt_boxes(run.detections / "faces" / f"frame{i}.txt")
        scores = [b[4] for b in boxes]
        assert scores == sorted(scores, reverse=True)
        strong = [b for b in boxes if b[4] >= 0.8]
        assert len(strong) == 6
        # boxes are in the original 640x360 pixels, not the detector's 711x400 input
        for x, y, w, h, _ in strong:
            assert 40 <= x and x + w <= 600 and 0 <= y and y + h <= 360 and 25 <= w <= 80
    for i in range(1, 7):
        assert all(b[4] < 0.8 for b in _txt_boxes(run.detections / "grey" / f"frame{i}.txt"))


def test_track_writes_tracks_for_every_usable_video(run) -> None:
    assert sorted(p.name for p in run.tracks.iterdir()) == ["faces.json", "grey.json"]
    faces = json.loads((run.tracks / "faces.json").read_text())
    assert (faces["status"], faces["num_faces"], faces["vote"]) == ("ok", 6, 6)
    assert (faces["width"], faces["height"], faces["num_frames"]) == (640, 360, 10)
    assert json.loads((run.tracks / "grey.json").read_text())["status"] == "no_face"
    rows = {row.video: row for row in read_manifest(run.m_track)}
    assert (rows["faces.mp4"].status, rows["faces.mp4"].num_faces) == ("ok", 6)
    assert rows["grey.mp4"].status == "no_face" and "vote is 0" in rows["grey.mp4"].reason
    assert rows["gone.mp4"].status == "missing"


def test_align_crops_every_frame_and_face_at_the_tube_size(run, part: Path) -> None:
    assert sorted(p.name for p in run.faces.iterdir()) == ["faces"]
    tracks = json.loads((run.tracks / "faces.json").read_text())
    names = sorted(p.name for p in (run.faces / "faces").iterdir())
    assert names == sorted(f"frame{n}_face{k}.jpg" for n in range(1, 11) for k in range(1, 7))
    decoded = dict(FrameReader(part / "faces.mp4"))
    for face in tracks["faces"]:
        size = face["crop_size"]
        assert 40 <= size <= 360 and size % 2 == 0
        for crop in face["frames"]:
            image = cv2.imread(
                str(run.faces / "faces" / f"frame{crop['frame']}_face{face['face']}.jpg")
            )
            assert image.shape == (size, size, 3)
            left, top = crop["left"], crop["top"]
            expected = decoded[crop["source_frame"]][top : top + size, left : left + size]
            assert np.abs(image.astype(int) - expected.astype(int)).mean() < 4


def test_final_manifest(run) -> None:
    assert read_manifest(run.m_align) == run.rows
    by_video = {row.video: row for row in run.rows}
    assert (by_video["faces.mp4"].status, by_video["faces.mp4"].num_faces) == ("ok", 6)
    assert (by_video["faces.mp4"].label, by_video["faces.mp4"].n_frames) == (1, 10)
    assert by_video["grey.mp4"].status == "no_face" and by_video["grey.mp4"].reason
    assert by_video["gone.mp4"].status == "missing"


def test_lists_point_at_existing_crops(run, tmp_path: Path) -> None:
    for stride, count in ((1, 10), (3, 4), (30, 1)):
        out = tmp_path / f"list{stride}.txt"
        assert make_list([run.m_align], out, stride, 1, "jpg") == 6
        lines = read_list(out)
        assert [line.format() for line in lines] == [
            f"{PART}/faces/frame%d_face{k}.jpg 1 {stride} {count} 1" for k in range(1, 7)
        ]
        for line in lines:
            for frame in line.frames():
                assert (run.faces.parent / (line.pattern % frame)).is_file()


def test_frame_stride_runs_every_stage_on_the_kept_frames(run_stride2, tmp_path: Path) -> None:
    r = run_stride2
    assert r.n_detected == 5 + 3
    kept = [1, 3, 5, 7, 9]
    assert sorted(p.name for p in (r.detections / "faces").glob("*.txt")) == sorted(
        f"frame{n}.txt" for n in kept
    )
    assert sorted(p.name for p in (r.faces / "faces").iterdir()) == sorted(
        f"frame{n}_face{k}.jpg" for n in kept for k in range(1, 7)
    )
    row = next(row for row in r.rows if row.video == "faces.mp4")
    assert (row.status, row.num_faces, row.n_frames) == ("ok", 6, 10)
    out = tmp_path / "list.txt"
    make_list([r.m_align], out, 2, 2, "jpg")
    assert read_list(out)[0].format() == f"{PART}/faces/frame%d_face1.jpg 1 2 5 1"
    with pytest.raises(ValueError, match="multiple of frames.stride 2"):
        make_list([r.m_align], out, 3, 2, "jpg")


def test_track_part_missing_or_bad_detections_do_not_fail_the_part(run, tmp_path: Path) -> None:
    detections = tmp_path / "detections"
    shutil.copytree(run.detections, detections)
    shutil.rmtree(detections / "faces")
    (detections / "grey" / "frame2.txt").write_text("3\n1 2 3 4 0.5\n")
    rows = track_part(detections, run.m_extract, tmp_path / "tracks", tmp_path / "m.tsv", TRACK)
    by_video = {row.video: row for row in rows}
    assert by_video["faces.mp4"].status == "unreadable"
    assert "no detections" in by_video["faces.mp4"].reason
    assert by_video["grey.mp4"].status == "unreadable"
    assert "frame2.txt" in by_video["grey.mp4"].reason
    assert by_video["gone.mp4"].status == "missing"
    assert read_manifest(tmp_path / "m.tsv") == rows
    assert list((tmp_path / "tracks").iterdir()) == []


def test_track_part_detections_off_the_frame_grid_do_not_fail_the_part(run, tmp_path: Path) -> None:
    # frame 11 of a 10-frame video: detections that do not belong to the video's frames
    detections = tmp_path / "detections"
    shutil.copytree(run.detections, detections)
    shutil.copy(detections / "faces" / "frame10.txt", detections / "faces" / "frame11.txt")
    rows = track_part(detections, run.m_extract, tmp_path / "tracks", tmp_path / "m.tsv", TRACK)
    by_video = {row.video: row for row in rows}
    assert by_video["faces.mp4"].status == "unreadable"
    assert "frame" in by_video["faces.mp4"].reason
    assert by_video["grey.mp4"].status == "no_face"


def test_detect_part_missing_frames_folder_does_not_fail_the_part(
    run, tmp_path: Path, detector
) -> None:
    frames = tmp_path / "frames"
    shutil.copytree(run.frames, frames)
    shutil.rmtree(frames / "faces")
    (frames / "grey" / "frame3.jpg").write_bytes(b"not a jpeg")
    rows = read_manifest(run.m_extract)
    write_manifest(tmp_path / "m.tsv", rows)
    n = detect_part(frames, tmp_path / "m.tsv", tmp_path / "det", detector, batch_size=4)
    assert n == 0
    assert list((tmp_path / "det").iterdir()) == []
    rows = track_part(
        tmp_path / "det", tmp_path / "m.tsv", tmp_path / "tracks", tmp_path / "t.tsv", TRACK
    )
    assert {row.video: row.status for row in rows} == {
        "faces.mp4": "unreadable",
        "gone.mp4": "missing",
        "grey.mp4": "unreadable",
    }


def test_align_part_decoding_failure_marks_the_video(run, part: Path, tmp_path: Path) -> None:
    # the video changed between track and align: its frames cannot be cut again
    data = tmp_path / PART
    shutil.copytree(part, data)
    (data / "faces.mp4").write_bytes(b"")
    rows = align_part(data, run.tracks, run.m_track, tmp_path / "faces", tmp_path / "m.tsv")
    by_video = {row.video: row for row in rows}
    assert by_video["faces.mp4"].status == "empty_file"
    assert by_video["faces.mp4"].reason.startswith("align:")
    assert by_video["faces.mp4"].num_faces == 0
    assert by_video["grey.mp4"].status == "no_face"


def test_align_part_bad_tracks_file_does_not_fail_the_part(run, part: Path, tmp_path: Path) -> None:
    tracks = tmp_path / "tracks"
    shutil.copytree(run.tracks, tracks)
    (tracks / "faces.json").write_text("{")
    rows = align_part(part, tracks, run.m_track, tmp_path / "faces", tmp_path / "m.tsv")
    row = next(row for row in rows if row.video == "faces.mp4")
    assert row.status == "unreadable" and "faces.json" in row.reason and row.num_faces == 0


def test_unusable_rows_pass_through_unchanged(tmp_path: Path) -> None:
    rows = [ManifestRow(PART, "x.mp4", 1, "missing", reason="absent")]
    write_manifest(tmp_path / "m.tsv", rows)
    (tmp_path / "det").mkdir()
    out = track_part(
        tmp_path / "det", tmp_path / "m.tsv", tmp_path / "tr", tmp_path / "t.tsv", TRACK
    )
    assert out == rows
    out = align_part(
        tmp_path, tmp_path / "tr", tmp_path / "t.tsv", tmp_path / "f", tmp_path / "a.tsv"
    )
    assert out == rows and list((tmp_path / "f").iterdir()) == []
