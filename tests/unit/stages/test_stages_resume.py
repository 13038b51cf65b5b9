"""Per-video resume and reuse in the per-part stages: same bytes as a clean run, only changed
videos recomputed, and a SIGKILL at any moment never leaves a half-written result reused."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rf_models.detect.backends import RetinaFaceDetector
from rf_models.stages import track as track_stage
from rf_models.stages.align import AlignOptions, align_part
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.stages.track import track_part

PART = "dfdc_train_part_3"
TRACK = {"score_threshold": 0.8, "iou_threshold": 0.5, "crop_scale": 1.3, "crop_source": "borrowed"}
STAGES = ("extract_frames", "detect_faces", "track_faces", "align_faces")
REPO = Path(__file__).resolve().parents[3]


class CountingDetector:
    """The real detector, counting the frames it is asked to detect on."""

    def __init__(self, inner: RetinaFaceDetector) -> None:
        self.inner = inner
        self.frames = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def detect_preprocessed(self, batch, orig_size):
        self.frames += len(batch)
        return self.inner.detect_preprocessed(batch, orig_size)

    def detect_preprocessed_with_landmarks(self, batch, orig_size):
        self.frames += len(batch)
        return self.inner.detect_preprocessed_with_landmarks(batch, orig_size)


@pytest.fixture(scope="module")
def detector() -> CountingDetector:
    return CountingDetector(RetinaFaceDetector(backend="torch", device="cpu", threads=1))


def _write_part(root: Path, write_video, write_metadata, face_frames, grey: int = 128) -> Path:
    part = root / PART
    part.mkdir(parents=True)
    write_video(part / "faces.mp4", face_frames)
    write_video(part / "mirror.mp4", [np.ascontiguousarray(f[:, ::-1]) for f in face_frames[:6]])
    write_video(part / "grey.mp4", [np.full((360, 640, 3), grey, np.uint8)] * 6)
    labels = {"faces.mp4": "FAKE", "mirror.mp4": "REAL", "grey.mp4": "REAL", "gone.mp4": "FAKE"}
    write_metadata(part, labels)
    return part


@pytest.fixture(scope="module")
def part(tmp_path_factory, write_video, write_metadata, face_frames) -> Path:
    return _write_part(tmp_path_factory.mktemp("data"), write_video, write_metadata, face_frames)


def _paths(root: Path, work: Path | None) -> SimpleNamespace:
    r = SimpleNamespace(root=root)
    r.frames, r.detections = root / "frames" / PART, root / "detections" / PART
    r.tracks, r.faces = root / "tracks" / PART, root / "faces" / PART
    r.m_extract, r.m_track, r.m_align = (root / f"{s}.tsv" for s in ("extract", "track", "align"))
    r.work = {s: (work / s / PART if work is not None else None) for s in STAGES}
    return r


def _extract(part: Path, r, keep_frames: bool = True) -> None:
    extract_part(
        part,
        r.frames,
        r.m_extract,
        FrameOptions(),
        work=r.work["extract_frames"],
        keep_frames=keep_frames,
        downstream_work=r.work["detect_faces"],
    )


def _detect(r, detector, part: Path | None = None, batch_size: int = 4) -> int:
    return detect_part(
        r.frames,
        r.m_extract,
        r.detections,
        detector,
        batch_size=batch_size,
        work=r.work["detect_faces"],
        upstream_work=r.work["extract_frames"],
        part=part,
        frame_options=FrameOptions(),
    )


def _track(r) -> None:
    track_part(
        r.detections,
        r.m_extract,
        r.tracks,
        r.m_track,
        TRACK,
        work=r.work["track_faces"],
        upstream_work=r.work["detect_faces"],
    )


def _align(part: Path, r, quality: int = 95) -> None:
    align_part(
        part,
        r.tracks,
        r.m_track,
        r.faces,
        r.m_align,
        AlignOptions(quality=quality),
        work=r.work["align_faces"],
        upstream_work=r.work["track_faces"],
    )


def run_chain(part: Path, root: Path, detector, work: Path | None, keep_frames=True, quality=95):
    """Every stage as the workflow runs it; without ``keep_frames`` the frames are deleted
    after detection, as Snakemake does with temp() frames."""
    r = _paths(root, work)
    _extract(part, r, keep_frames)
    _detect(r, detector, part)
    if not keep_frames:
        shutil.rmtree(r.frames)
    _track(r)
    _align(part, r, quality)
    return r


def outputs(r) -> dict[str, bytes]:
    """Every declared output's bytes by path (frames when they are still there)."""
    found = {}
    for folder in (r.frames, r.detections, r.tracks, r.faces):
        if folder.exists():
            for path in sorted(folder.rglob("*")):
                key = str(path.relative_to(r.root))
                found[key] = path.read_bytes() if path.is_file() else b"<dir>"
    for manifest in (r.m_extract, r.m_track, r.m_align):
        found[manifest.name] = manifest.read_bytes()
    return found


@pytest.fixture(scope="module")
def clean(part: Path, tmp_path_factory, detector) -> dict[str, bytes]:
    """The outputs of a run without any work area."""
    return outputs(run_chain(part, tmp_path_factory.mktemp("clean"), detector, None))


def _reuse_lines(caplog) -> dict[str, str]:
    return {
        line.split(" ")[0]: line
        for line in caplog.messages
        if "reused from an earlier attempt, " in line and "to compute" in line
    }


def test_outputs_with_a_work_area_are_byte_identical(part, tmp_path, detector, clean) -> None:
    r = run_chain(part, tmp_path / "out", detector, tmp_path / "work")
    assert outputs(r) == clean
    assert len([k for k in clean if k.startswith("faces/")]) > 60  # crops really compared


def test_rerun_reuses_every_video(part, tmp_path, detector, clean, caplog) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    caplog.clear()
    before = detector.frames
    with caplog.at_level(logging.INFO):
        r = run_chain(part, tmp_path / "again", detector, tmp_path / "work")
    assert detector.frames == before, "nothing is detected again"
    assert outputs(r) == clean
    lines = _reuse_lines(caplog)
    assert "3 videos, 3 reused from an earlier attempt, 0 to compute" in lines["extract_frames"]
    for stage, n in (("detect_faces", 3), ("track_faces", 3), ("align_faces", 2)):  # grey: no face
        assert f"{n} reused" in lines[stage] and "0 to compute" in lines[stage], lines[stage]
    # the reused outputs are hard links to the work area's copy: no second copy on disk
    crop = next((r.faces / "faces").iterdir())
    entry = tmp_path / "work" / "align_faces" / PART / "videos" / "faces" / "data" / "faces"
    assert os.path.samefile(crop, entry / crop.name)


def test_changed_video_recomputes_only_that_video(
    part, tmp_path, detector, write_video, write_metadata, face_frames, caplog
) -> None:
    data = tmp_path / "data"
    shutil.copytree(part.parent, data)
    moved = data / PART
    run_chain(moved, tmp_path / "first", detector, tmp_path / "work")
    (moved / "mirror.mp4").unlink()
    write_video(moved / "mirror.mp4", face_frames[3:10])  # new content, same name
    reference = outputs(run_chain(moved, tmp_path / "clean", detector, None))
    before = detector.frames
    with caplog.at_level(logging.INFO):
        r = run_chain(moved, tmp_path / "again", detector, tmp_path / "work")
    assert detector.frames - before == 7, "only the changed video's 7 frames"
    assert outputs(r) == reference
    lines = _reuse_lines(caplog)
    for stage in STAGES:
        reused = 1 if stage == "align_faces" else 2  # grey has no face: never aligned
        assert f"{reused} reused" in lines[stage] and "1 to compute" in lines[stage], lines[stage]


def test_temp_frames_leave_rows_only_and_detection_still_reused(
    part, tmp_path, detector, clean, caplog
) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work", keep_frames=False)
    entries = tmp_path / "work" / "extract_frames" / PART / "videos"
    assert sorted(p.name for p in entries.iterdir()) == ["faces", "grey", "mirror"]
    assert not list(entries.glob("*/data")), "temp frames are not kept in the work area"
    # e.g. a re-run after the frames were deleted: detection holds a result made from each
    # video's kept row, so extraction decodes none of them and detection reuses every one
    before = detector.frames
    caplog.clear()
    with caplog.at_level(logging.INFO):
        r = _paths(tmp_path / "again", tmp_path / "work")
        _extract(part, r, keep_frames=False)
        assert sorted(p.name for p in r.frames.iterdir()) == [], "no video decoded again"
        _detect(r, detector, part)
        shutil.rmtree(r.frames)
        _track(r)
        _align(part, r)
    assert detector.frames == before
    assert (
        "3 reused from an earlier attempt, 0 to compute" in _reuse_lines(caplog)["extract_frames"]
    )
    assert outputs(r) == {k: v for k, v in clean.items() if not k.startswith("frames/")}


def test_temp_frames_and_a_changed_video_decode_only_that_video(
    part, tmp_path, detector, write_video, face_frames, caplog
) -> None:
    data = tmp_path / "data"
    shutil.copytree(part.parent, data)
    moved = data / PART
    run_chain(moved, tmp_path / "first", detector, tmp_path / "work", keep_frames=False)
    (moved / "mirror.mp4").unlink()
    write_video(moved / "mirror.mp4", face_frames[3:10])  # new content, same name
    reference = outputs(run_chain(moved, tmp_path / "clean", detector, None, keep_frames=False))
    before = detector.frames
    caplog.clear()
    with caplog.at_level(logging.INFO):
        r = _paths(tmp_path / "again", tmp_path / "work")
        _extract(moved, r, keep_frames=False)
        assert sorted(p.name for p in r.frames.iterdir()) == ["mirror"]
        _detect(r, detector, moved)
        shutil.rmtree(r.frames)
        _track(r)
        _align(moved, r)
    assert detector.frames - before == 7, "only the changed video's 7 frames"
    assert outputs(r) == reference
    assert (
        "2 reused from an earlier attempt, 1 to compute" in _reuse_lines(caplog)["extract_frames"]
    )


def test_detection_decodes_the_frames_extraction_skipped_when_it_must_run_again(
    part, tmp_path, detector, clean
) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work", keep_frames=False)
    r = _paths(tmp_path / "again", tmp_path / "work")
    _extract(part, r, keep_frames=False)  # skips every video: detection holds their results
    assert list(r.frames.iterdir()) == []
    before = detector.frames
    _detect(r, detector, part, batch_size=2)  # another key: every video is detected again
    assert detector.frames - before == 10 + 6 + 6
    shutil.rmtree(r.frames)
    _track(r)
    _align(part, r)
    assert outputs(r) == {k: v for k, v in clean.items() if not k.startswith("frames/")}
    # without the part to decode from, the video is reported, not silently lost
    r2 = _paths(tmp_path / "third", tmp_path / "work")
    _extract(part, r2, keep_frames=False)
    detect_part(
        r2.frames, r2.m_extract, r2.detections, detector, batch_size=3,
        work=r2.work["detect_faces"], upstream_work=r2.work["extract_frames"],
    )  # fmt: skip
    assert list(r2.detections.iterdir()) == []


def test_a_skipped_video_gone_before_detection_is_reported_not_a_crash(
    part, tmp_path, detector, caplog
) -> None:
    data = tmp_path / "data"
    shutil.copytree(part.parent, data)
    moved = data / PART
    run_chain(moved, tmp_path / "first", detector, tmp_path / "work", keep_frames=False)
    r = _paths(tmp_path / "again", tmp_path / "work")
    _extract(moved, r, keep_frames=False)  # skips every video
    (moved / "mirror.mp4").unlink()  # gone before detection has to decode it again
    with caplog.at_level(logging.ERROR):
        _detect(r, detector, moved, batch_size=2)  # another key: every video detected again
    assert sorted(p.name for p in r.detections.iterdir()) == ["faces", "grey"]
    assert any(
        "mirror.mp4: no frames to detect on" in m and "missing" in m for m in caplog.messages
    )


def test_deleting_the_work_area_only_costs_reuse(part, tmp_path, detector, clean) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    shutil.rmtree(tmp_path / "work")
    before = detector.frames
    r = run_chain(part, tmp_path / "again", detector, tmp_path / "work")
    assert detector.frames - before == 10 + 6 + 6
    assert outputs(r) == clean


def test_without_the_upstream_area_the_upstream_files_name_the_result(
    part, tmp_path, detector, clean
) -> None:
    r = run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    before = detector.frames
    for _ in range(2):  # first: the identity changed (files, not entry); then it is reused
        detect_part(
            r.frames,
            r.m_extract,
            r.detections,
            detector,
            batch_size=4,
            work=r.work["detect_faces"],
            upstream_work=tmp_path / "no_such_area",
        )
    assert detector.frames - before == 10 + 6 + 6
    assert outputs(r) == clean


def test_parameter_change_recomputes_that_stage_only(part, tmp_path, detector, caplog) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    before = detector.frames
    with caplog.at_level(logging.INFO):
        r = run_chain(part, tmp_path / "again", detector, tmp_path / "work", quality=80)
    assert detector.frames == before
    lines = _reuse_lines(caplog)
    assert "3 reused" in lines["track_faces"] and "0 reused" in lines["align_faces"]
    reference = run_chain(part, tmp_path / "clean", detector, None, quality=80)
    assert outputs(r) == outputs(reference)


def test_code_change_recomputes(part, tmp_path, detector, monkeypatch, caplog) -> None:
    module = tmp_path / "rf_probe_track_helper.py"
    module.write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(track_stage, "CODE", (*track_stage.CODE, "rf_probe_track_helper"))
    run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    module.write_text("VERSION = 2\n")
    with caplog.at_level(logging.INFO):
        run_chain(part, tmp_path / "again", detector, tmp_path / "work")
    lines = _reuse_lines(caplog)
    assert "0 reused" in lines["track_faces"] and "3 reused" in lines["detect_faces"]


def test_a_broken_entry_is_recomputed_not_reused(part, tmp_path, detector, clean) -> None:
    run_chain(part, tmp_path / "first", detector, tmp_path / "work")
    videos = tmp_path / "work" / "detect_faces" / PART / "videos"
    (videos / "faces" / "entry.json").write_text("{")
    next((videos / "mirror" / "data" / "mirror").iterdir()).unlink()
    before = detector.frames
    r = run_chain(part, tmp_path / "again", detector, tmp_path / "work")
    assert detector.frames - before == 10 + 6
    assert outputs(r) == clean


# The child runs one stage with each video's result held, complete but not yet committed, for
# a moment: the parent SIGKILLs it once some videos are committed and one is in that state.
_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    torch.set_num_threads(1)
    from rf_models.stages import align, detect, extract
    args = json.loads(sys.argv[1])

    def slow(module, name):
        real = getattr(module, name)
        def wrapper(*a, **k):
            out = real(*a, **k)
            time.sleep(0.5)
            return out
        setattr(module, name, wrapper)

    stage = args["stage"]
    if stage == "extract_frames":
        slow(extract, "_extract_video")
        extract.extract_part(
            args["part"], args["frames"], args["m_extract"], extract.FrameOptions(),
            work=args["work"]["extract_frames"],
        )
    elif stage == "detect_faces":
        from rf_models.detect.backends import RetinaFaceDetector
        sys.path.insert(0, args["tests"])
        from test_stages_resume import CountingDetector
        slow(detect, "_detect_video")
        detector = CountingDetector(RetinaFaceDetector(backend="torch", device="cpu", threads=1))
        detect.detect_part(
            args["frames"], args["m_extract"], args["detections"], detector, batch_size=4,
            work=args["work"]["detect_faces"], upstream_work=args["work"]["extract_frames"],
        )
    else:
        slow(align, "_align_one")
        align.align_part(
            args["part"], args["tracks"], args["m_track"], args["faces"], args["m_align"],
            work=args["work"]["align_faces"], upstream_work=args["work"]["track_faces"],
        )
    """
)


@pytest.mark.parametrize("stage", ["extract_frames", "detect_faces", "align_faces"])
def test_sigkill_mid_stage_then_rerun_is_byte_identical(
    part, tmp_path, detector, clean, stage, caplog
) -> None:
    work = tmp_path / "work"
    r = _paths(tmp_path / "out", work)
    if stage != "extract_frames":
        _extract(part, r)
    if stage == "align_faces":
        _detect(r, detector)
        _track(r)
    args = {
        "stage": stage,
        "part": str(part),
        "tests": str(Path(__file__).parent),
        "work": {s: str(p) for s, p in r.work.items()},
        **{k: str(getattr(r, k)) for k in ("frames", "detections", "tracks", "faces")},
        **{k: str(getattr(r, k)) for k in ("m_extract", "m_track", "m_align")},
    }
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(args)], env=env)
    area = Path(r.work[stage])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        committed = list((area / "videos").iterdir()) if (area / "videos").is_dir() else []
        writing = list((area / "incoming").iterdir()) if (area / "incoming").is_dir() else []
        if committed and writing:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "killed in the middle of the part"
    kept = len(list((area / "videos").iterdir()))
    total = 2 if stage == "align_faces" else 3  # grey has no face: never aligned
    assert 1 <= kept < total
    with caplog.at_level(logging.INFO):
        if stage == "extract_frames":
            _extract(part, r)
        if stage in ("extract_frames", "detect_faces"):
            _detect(r, detector)
            _track(r)
        _align(part, r)
    line = _reuse_lines(caplog)[stage]
    assert f"{kept} reused from an earlier attempt, {total - kept} to compute" in line, line
    assert outputs(r) == clean
