"""End-to-end scoring of a folder of new videos: decode, detect, track, crop, models, ensemble."""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest
import torch
from infer_testlib import block as tiny_block
from infer_testlib import write_checkpoint
from scipy.special import expit

from rf_models.demo.mp4 import write_mp4
from rf_models.detect import RetinaFaceDetector
from rf_models.detect.run import detect_frames
from rf_models.infer.model_set import ModelSet
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import load_trained_model
from rf_models.infer.submission import read_submission
from rf_models.infer.videos import (
    STATUSES,
    TRANSIENT,
    boxes_from_detections,
    check_models,
    collect_videos,
    details_path,
    list_videos,
    score_folder,
    score_video_file,
    score_videos,
)
from rf_models.track.tracks import track_video
from rf_models.train.checkpoint import FORMAT, CheckpointError, save_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.train.model import build_model
from rf_models.video.decode import FrameReader, probe_video
from rf_models.work_area import WorkArea
from tests.seed_config import policy_config, seed_block

GOOD, NO_FACE, CORRUPT, EMPTY = "a_good.mp4", "b_noface.mp4", "c_corrupt.mp4", "d_empty.mp4"
GOOD_FRAMES = 30
# One image and one video model, so both input kinds go through the ensemble.
POLICY_CFG = policy_config(
    groups={
        "video": {"input": "clip", "weight": 0.4, "models": {"sf": 10}},
        "image": {"input": "frames", "weight": 0.6, "models": {"b0": 7}},
    },
    shrink={"models": []},
)


def t1_frames(n: int) -> list[np.ndarray]:
    """insightface's six-face photo at 448x310 on a grey 480x336 canvas, moving 1 px per frame
    right and 1 px every other frame down (BGR)."""
    insightface = pytest.importorskip("insightface")
    path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
    photo = cv2.imread(path, cv2.IMREAD_COLOR)
    assert photo is not None, f"could not read {path}"
    small = cv2.resize(photo, (448, 310), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        canvas = np.full((336, 480, 3), 96, np.uint8)
        canvas[i // 2 : i // 2 + 310, i : i + 448] = small
        frames.append(canvas)
    return frames


def write_bgr(path: Path, frames: list[np.ndarray], fps: int = 20) -> Path:
    write_mp4(path, [f[..., ::-1] for f in frames], fps=fps)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four videos (good, no face, truncated, zero bytes) and two files that are not videos."""
    root = tmp_path_factory.mktemp("videos")
    good = write_bgr(root / GOOD, t1_frames(GOOD_FRAMES))
    write_bgr(root / NO_FACE, [np.full((96, 128, 3), (40, 160, 90), np.uint8)] * 12)
    (root / CORRUPT).write_bytes(good.read_bytes()[:1000])
    (root / EMPTY).write_bytes(b"")
    (root / "notes.txt").write_text("not a video\n")
    (root / "sub.mp4").mkdir()
    return root


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="onnx", device="cpu", threads=1)


@dataclass
class StandIn:
    """A model as scoring sees it: a name, a kind, an input side, and (here) a fixed
    FAKE-minus-REAL logit. ``calls`` holds each face's crops as the model got them,
    ``invocations`` the number of calls (one per video: every face in one batch)."""

    name: str
    kind: str
    logit: float
    side: int = 32
    calls: list[list[np.ndarray]] = field(default_factory=list)
    invocations: int = 0

    @property
    def cfg(self) -> SimpleNamespace:
        return SimpleNamespace(kind=self.kind, input_size=self.side, infer_size=None)


def stand_in_image(lm: StandIn, faces):
    lm.invocations += 1
    lm.calls.extend(list(crops) for crops in faces)
    return [np.tile([0.0, lm.logit], (len(crops), 1)) for crops in faces]


def stand_in_video(lm: StandIn, faces):
    lm.invocations += 1
    lm.calls.extend(list(crops) for crops in faces)
    return np.tile([0.0, lm.logit], (len(faces), 1))


def stand_ins() -> list[StandIn]:
    return [StandIn("b0", "image", 2.0), StandIn("sf", "video", -1.0)]


STAND_IN_SCORE = 0.4 * expit(-1.0) + 0.6 * expit(2.0)


class FakeDetector:
    """Three faces side by side in every frame (plus one below the 0.8 threshold); records the
    number of frames it saw."""

    def __init__(self) -> None:
        self.frames = 0

    def detect_preprocessed(self, batch: np.ndarray, orig_size: tuple[int, int]):
        self.frames += len(batch)
        boxes = np.array(
            [
                [2.7, 2.2, 14.9, 14.5, 0.99],
                [20.0, 2.0, 32.0, 14.0, 0.9],
                [40.0, 2.0, 52.0, 14.0, 0.85],
                [20.0, 30.0, 32.0, 42.0, 0.5],
            ],
            dtype=np.float32,
        )
        return [boxes.copy() for _ in batch]


def flat_value(frame: int) -> int:
    """Grey level of frame ``frame`` (from 1) of :func:`flat_video`."""
    return 10 + (frame - 1) % 200


def flat_video(path: Path, n: int, fps: int = 30) -> Path:
    """64x48 flat grey frames, a different level per frame."""
    frames = [np.full((48, 64, 3), flat_value(i), np.uint8) for i in range(1, n + 1)]
    return write_bgr(path, frames, fps)


# -- one video ------------------------------------------------------------------------------


def test_good_video_is_scored_with_two_of_six_faces(folder, detector):
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    models = stand_ins()
    r = score_video_file(
        folder / GOOD,
        detector,
        models,
        policy,
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert (r.status, r.reason, r.n_frames, r.num_faces) == ("ok", "", GOOD_FRAMES, 2)
    assert r.score == pytest.approx(STAND_IN_SCORE)
    assert r.model_scores == pytest.approx({"b0": expit(2.0), "sf": expit(-1.0)})
    image_model, video_model = models
    # one call per model with both faces; every sampled frame (30 < 160) reaches both kinds
    # (30 <= 35), cut at the model's side
    assert image_model.invocations == video_model.invocations == 1
    assert [len(c) for c in image_model.calls] == [GOOD_FRAMES, GOOD_FRAMES]
    assert [len(c) for c in video_model.calls] == [GOOD_FRAMES, GOOD_FRAMES]
    for crops in video_model.calls:
        assert {c.shape for c in crops} == {(32, 32, 3)}
        assert crops[0].dtype == np.uint8
    # the faces carry what the JSON and the picture show
    assert [f.face for f in r.faces] == [1, 2]
    assert r.faces[0].frames == tuple(range(1, GOOD_FRAMES + 1)) == r.faces[0].image_frames
    assert r.faces[0].logits["b0"].shape == (GOOD_FRAMES, 2)
    assert r.faces[0].logits["sf"].shape == (2,)
    assert r.faces[0].thumbnails is None
    assert set(r.timings) == {"decode_detect", "track", "crops", "model:b0", "model:sf", "ensemble"}
    # the two kept faces are two different people: their first crops differ
    first = [c[0] for c in video_model.calls]
    assert not np.array_equal(first[0], first[1])


def test_sampling_takes_every_ceil_n_over_160th_frame(tmp_path):
    path = flat_video(tmp_path / "long.mp4", 330)
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    # models at the crops' own side (14 px, below): crops come through unresized
    models, fake = (
        [StandIn("b0", "image", 2.0, 14), StandIn("sf", "video", -1.0, 14)],
        FakeDetector(),
    )
    r = score_video_file(
        path, fake, models, policy, score_image=stand_in_image, score_video=stand_in_video
    )
    sampled = sample_frames(330, 160)
    assert len(sampled) == 110 and sampled[:3] == [1, 4, 7]
    assert (r.status, r.n_frames, r.num_faces) == ("ok", 330, 2)
    assert fake.frames == 110
    image_model, video_model = models
    assert [len(c) for c in video_model.calls] == [110, 110]
    # image models see every ceil(110 / 35) = 4th sampled frame: 28 of them
    assert [len(c) for c in image_model.calls] == [28, 28]
    # face 1 is the best box, (2, 2, 14, 14) after truncation: a 14-pixel square at (1, 1)
    # (int(12 * 1.3) = 15, rounded down to even); each crop comes from its own sampled frame
    first_face = video_model.calls[0]
    assert {c.shape for c in first_face} == {(14, 14, 3)}
    means = [float(c.mean()) for c in first_face]
    assert means == pytest.approx([flat_value(i) for i in sampled], abs=1.5)
    assert image_model.calls[0][1].mean() == pytest.approx(flat_value(sampled[4]), abs=1.5)


@pytest.mark.parametrize("max_faces", [1, 2, 3])
def test_max_faces_caps_the_kept_faces(tmp_path, max_faces):
    path = flat_video(tmp_path / "three.mp4", 10)
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    models = stand_ins()
    r = score_video_file(
        path,
        FakeDetector(),
        models,
        policy,
        max_faces=max_faces,
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert (r.status, r.num_faces) == ("ok", max_faces)
    assert len(models[1].calls) == max_faces


def test_undeclared_frame_count_is_counted(tmp_path):
    # a raw H.264 stream (named .mp4) has no container frame count
    path = tmp_path / "raw.mp4"
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            image = np.full((48, 64, 3), 20 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    assert probe_video(path).frames == 0
    info = probe_video(path, count_frames=True)
    assert (info.declared_frames, info.counted_frames, info.frames) == (0, 12, 12)
    r = score_video_file(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert (r.status, r.n_frames) == ("ok", 12)


def test_video_cut_short_is_scored_as_partial(folder, tmp_path):
    # the index is at the front, so a cut file opens and decodes its first frames
    data = (folder / GOOD).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    fake = FakeDetector()
    r = score_video_file(
        path,
        fake,
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert r.status == "partial"
    assert f"{fake.frames} of {GOOD_FRAMES} sampled frames decoded" in r.reason
    assert 5 <= fake.frames < GOOD_FRAMES
    assert r.score == pytest.approx(STAND_IN_SCORE)


def test_too_few_frames_for_the_image_rule_leaves_the_video_model_alone(tmp_path):
    path = flat_video(tmp_path / "short.mp4", 3)
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    r = score_video_file(
        path,
        FakeDetector(),
        stand_ins(),
        policy,
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    # b0 has 3 < 5 frames per face: no score; the video group alone decides
    assert r.status == "ok"
    assert r.model_scores["b0"] is None
    assert r.score == pytest.approx(expit(-1.0))
    assert "fewer than 5 frames" in r.reason
    image_only = EnsemblePolicy.from_config(
        policy_config(groups={"image": POLICY_CFG["groups"]["image"]}, shrink={"models": []})
    )
    r = score_video_file(
        path,
        FakeDetector(),
        [StandIn("b0", "image", 2.0)],
        image_only,
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert (r.status, r.score) == ("no_score", 0.5)
    assert "fewer than 5 frames" in r.reason


def failing_video(lm, faces):
    raise RuntimeError("CUDA out of memory")


@pytest.mark.parametrize(
    ("score_image", "score_video", "expected"),
    [
        (stand_in_image, failing_video, "sf: RuntimeError: CUDA out of memory"),
        (
            lambda lm, faces: [np.zeros((len(f), 3)) for f in faces],
            stand_in_video,
            "b0: expected logits of",
        ),
        (
            lambda lm, faces: [np.zeros((len(f) - 1, 2)) for f in faces],
            stand_in_video,
            "b0: expected logits",
        ),
        (lambda lm, faces: [np.zeros((1, 2))], stand_in_video, "expected logits for 2 faces"),
        (
            stand_in_image,
            lambda lm, faces: np.tile([0.0, np.nan], (len(faces), 1)),
            "sf: expected finite",
        ),
        (stand_in_image, lambda lm, faces: np.zeros((1, 2)), "sf: expected logits of shape"),
    ],
)
def test_a_model_error_gives_the_default_score(tmp_path, score_image, score_video, expected):
    path = flat_video(tmp_path / "v.mp4", 10)
    r = score_video_file(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        score_image=score_image,
        score_video=score_video,
    )
    assert (r.status, r.score, r.num_faces) == ("model_error", 0.5, 2)
    assert expected in r.reason
    assert r.model_scores == {"b0": None, "sf": None}


class BrokenDetector:
    def detect_preprocessed(self, batch, orig_size):
        raise RuntimeError("detector exploded")


@pytest.mark.parametrize(
    ("name", "detector_cls", "status", "reason"),
    [
        (CORRUPT, FakeDetector, "unreadable", "cannot open"),
        (EMPTY, FakeDetector, "empty_file", "0 bytes"),
        ("missing.mp4", FakeDetector, "missing", "does not exist"),
        (GOOD, BrokenDetector, "error", "RuntimeError: detector exploded"),
    ],
)
def test_bad_videos_get_the_default_score_and_a_reason(folder, name, detector_cls, status, reason):
    r = score_video_file(
        folder / name,
        detector_cls(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert (r.video, r.status, r.score) == (name, status, 0.5)
    assert reason in r.reason
    assert r.status in STATUSES


def test_policy_default_score_is_used_for_failures(folder):
    policy = EnsemblePolicy.from_config({**POLICY_CFG, "default_score": 0.6})
    r = score_video_file(folder / EMPTY, FakeDetector(), stand_ins(), policy)
    assert (r.status, r.score) == ("empty_file", 0.6)


# -- models against the policy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([], "at least one model"),
        ([StandIn("xcep", "image", 0.0)], "expected a model of"),
        ([StandIn("b0", "video", 0.0)], "its kind is 'video'"),
        ([StandIn("sf", "image", 0.0)], "its kind is 'image'"),
        ([StandIn("b0", "image", 0.0), StandIn("b0", "image", 1.0)], "found it twice"),
    ],
)
def test_models_that_do_not_fit_the_policy_are_refused(folder, models, message):
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    with pytest.raises(ValueError, match=message):
        check_models(models, policy)
    with pytest.raises(ValueError, match=message):
        score_video_file(folder / GOOD, FakeDetector(), models, policy)


# -- boxes and listing ----------------------------------------------------------------------


def test_boxes_from_detections_truncates_and_thresholds():
    rows = np.array(
        [
            [10.9, 20.1, 50.99, 70.5, 0.95],
            [-3.7, -1.2, 30.4, 40.8, 0.8],
            [100.0, 100.0, 120.0, 130.0, 0.79999],
        ]
    )
    assert boxes_from_detections(rows) == [(10, 20, 50, 70), (-3, -1, 30, 40)]
    assert boxes_from_detections(rows, 0.9) == [(10, 20, 50, 70)]
    assert boxes_from_detections(np.zeros((0, 5), np.float32)) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.zeros((2, 4)), r"shape \(n, 5\)"),
        (np.zeros(5), r"shape \(n, 5\)"),
        (np.array([[0, 0, 1, np.nan, 0.9]]), "finite"),
    ],
)
def test_boxes_from_detections_refuses_bad_rows(rows, message):
    with pytest.raises(ValueError, match=message):
        boxes_from_detections(rows)


def test_list_videos(folder, tmp_path):
    assert [p.name for p in list_videos(folder)] == [GOOD, NO_FACE, CORRUPT, EMPTY]
    with pytest.raises(FileNotFoundError, match="found no folder"):
        list_videos(tmp_path / "nope")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="found none"):
        list_videos(tmp_path)
    for name in ("UPPER.MP4", "phone.MOV", "b.m4v", "c.mkv", "d.webm", "e.AVI", "space é.mp4"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_videos(tmp_path)] == [
        "UPPER.MP4", "b.m4v", "c.mkv", "d.webm", "e.AVI", "phone.MOV", "space é.mp4"
    ]  # fmt: skip


def test_collect_videos_takes_files_and_folders(folder, tmp_path):
    odd = tmp_path / "clip.3gp"
    odd.write_bytes(b"")
    found = collect_videos([odd, folder, tmp_path / "nope.mp4"])
    assert found == [odd, *list_videos(folder), tmp_path / "nope.mp4"]
    assert collect_videos(folder) == list_videos(folder)
    with pytest.raises(FileNotFoundError, match="at least one"):
        collect_videos([])


def test_details_path():
    assert details_path("/x/submission.csv") == Path("/x/submission.details.csv")


# -- a folder -------------------------------------------------------------------------------


def read_details(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_folder_with_stand_in_models(folder, detector, tmp_path, caplog):
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    out = tmp_path / "out" / "submission.csv"
    with caplog.at_level(logging.INFO, logger="rf_models"):
        results = score_videos(
            list_videos(folder),
            detector,
            stand_ins(),
            policy,
            out,
            score_image=stand_in_image,
            score_video=stand_in_video,
        )
    sub = read_submission(out, expected_files=[GOOD, NO_FACE, CORRUPT, EMPTY])
    assert list(sub) == [GOOD, NO_FACE, CORRUPT, EMPTY]
    assert out.read_text().splitlines()[0] == "filename,label"
    assert sub[GOOD] == pytest.approx(STAND_IN_SCORE)
    assert [sub[n] for n in (NO_FACE, CORRUPT, EMPTY)] == [0.5, 0.5, 0.5]
    assert [r.status for r in results] == ["ok", "no_face", "unreadable", "empty_file"]
    rows = read_details(details_path(out))
    assert list(rows[0]) == [
        "filename", "label", "status", "reason", "n_frames", "num_faces", "b0", "sf"
    ]  # fmt: skip
    assert [r["filename"] for r in rows] == list(sub)
    good, no_face, corrupt, empty = rows
    assert (good["status"], good["n_frames"], good["num_faces"]) == ("ok", "30", "2")
    assert float(good["b0"]) == pytest.approx(expit(2.0))
    assert float(good["sf"]) == pytest.approx(expit(-1.0))
    assert (no_face["status"], no_face["n_frames"], no_face["b0"], no_face["sf"]) == (
        "no_face", "12", "", ""
    )  # fmt: skip
    assert "0 of 12 sampled frames had a face" in no_face["reason"]
    assert (corrupt["status"], empty["status"]) == ("unreadable", "empty_file")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    for name, row in zip((NO_FACE, CORRUPT, EMPTY), (no_face, corrupt, empty), strict=True):
        assert any(name in w and row["reason"] in w for w in warnings), (name, warnings)


def test_folder_writes_json_and_a_picture_per_scored_video(folder, detector, tmp_path):
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    out, doc_path, pictures = tmp_path / "s.csv", tmp_path / "p.json", tmp_path / "pictures"
    results = score_videos(
        list_videos(folder),
        detector,
        stand_ins(),
        policy,
        out,
        json_path=doc_path,
        pictures_dir=pictures,
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert sorted(p.name for p in pictures.iterdir()) == [f"{GOOD}.png"]
    image = cv2.imread(str(pictures / f"{GOOD}.png"))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 800
    assert all(f.thumbnails is None for r in results for f in r.faces)  # not kept once drawn
    doc = json.loads(doc_path.read_text())
    assert doc["format"] == "rf_models.predict/1" and doc["models"] == ["b0", "sf"]
    videos = {v["file"]: v for v in doc["videos"]}
    assert list(videos) == [GOOD, NO_FACE, CORRUPT, EMPTY]
    good = videos[GOOD]
    assert good["p_fake"] == pytest.approx(STAND_IN_SCORE)
    assert (good["status"], good["num_faces"], good["n_frames"]) == ("ok", 2, GOOD_FRAMES)
    assert good["picture"] == str(pictures / f"{GOOD}.png")
    assert good["path"] == str(folder / GOOD)
    assert [f["face"] for f in good["faces"]] == [1, 2]
    face = good["faces"][0]
    assert face["frames"] == face["image_frames"] == list(range(1, GOOD_FRAMES + 1))
    assert face["models"]["b0"]["frame_p_fake"] == pytest.approx([expit(2.0)] * GOOD_FRAMES)
    assert face["models"]["b0"]["face_score"] == pytest.approx(expit(2.0))
    assert face["models"]["sf"] == {"face_score": pytest.approx(expit(-1.0))}
    assert (videos[NO_FACE]["faces"], videos[NO_FACE]["picture"]) == ([], None)
    assert videos[EMPTY]["status"] == "empty_file" and videos[EMPTY]["reason"]


def test_folder_refuses_duplicate_names(folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / GOOD).write_bytes(b"")
    with pytest.raises(ValueError, match="distinct file names"):
        score_videos(
            [folder / GOOD, other / GOOD],
            FakeDetector(),
            stand_ins(),
            EnsemblePolicy.from_config(POLICY_CFG),
            tmp_path / "s.csv",
        )


def b0_block(**changes) -> dict:
    block = {
        **seed_block("image"),
        "init": None,
        "kind": "image",
        "arch": "tf_efficientnet_b0",
        "input_size": 64,
        "colour": "RGB",
        "normalisation": "imagenet",
        "batch_size": 16,
        "gpus": 1,
        "base_lr": 0.01,
        "warmup_lr": 0.03,
        "lr_steps": [10],
        "max_iter": 20,
        "split": "val_30-39",
        "aug": "A",
        "val_every": 10,
        "flip_tta": True,
    }
    block.update(changes)
    return block


B0_LOGIT, SF_LOGIT = 1.5, -1.0


def constant_checkpoint(path: Path, name: str, block: dict, logit: float) -> Path:
    """A training checkpoint of ``block``'s arch whose last layer always says FAKE - REAL =
    ``logit`` (zero weights, a bias): a score the checkpoint alone explains."""
    cfg = ModelConfig.from_dict(name, block)
    torch.manual_seed(0)
    model = build_model(cfg.arch, num_classes=2)
    last = model.classifier if hasattr(model, "classifier") else model.fc
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, logit]))
    state = {
        "format": FORMAT,
        "arch": cfg.arch,
        "kind": cfg.kind,
        "config": cfg.to_dict(),
        "model": model.state_dict(),
        "iteration": 19,
    }
    save_checkpoint(state, path)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """b0: a real EfficientNet-B0 (rf_models.models.create_model); sf: the inference tests'
    tiny clip model."""
    root = tmp_path_factory.mktemp("ckpt")
    b0, sf = b0_block(), tiny_block("video")
    return {
        "b0": (constant_checkpoint(root / "b0.pt", "b0", b0, B0_LOGIT), b0),
        "sf": (constant_checkpoint(root / "sf.pt", "sf", sf, SF_LOGIT), sf),
    }


def test_score_folder_with_trained_checkpoints(folder, checkpoints, tmp_path):
    policy_cfg = POLICY_CFG
    out = tmp_path / "submission.csv"
    log_path = tmp_path / "logs" / "predict.log"
    results = score_folder(
        folder,
        checkpoints,
        policy_cfg,
        out,
        log_path,
        device="cpu",
        detector_backend="onnx",
        detector_threads=1,
    )
    sub = read_submission(out, expected_files=[GOOD, NO_FACE, CORRUPT, EMPTY])
    assert list(sub) == [GOOD, NO_FACE, CORRUPT, EMPTY]
    good = results[0]
    assert (good.status, good.num_faces, good.n_frames) == ("ok", 2, GOOD_FRAMES)
    # b0: every group of 5 frames of both faces gives expit(1.5) = 0.82, below the 0.85 rule,
    # so each face's score, the face rule (all > 0.6: max) and the group give it too
    assert good.model_scores == pytest.approx({"b0": expit(B0_LOGIT), "sf": expit(SF_LOGIT)})
    expected = 0.6 * expit(B0_LOGIT) + 0.4 * expit(SF_LOGIT)
    assert sub[GOOD] == good.score == pytest.approx(expected, abs=1e-6)
    assert [sub[n] for n in (NO_FACE, CORRUPT, EMPTY)] == [0.5, 0.5, 0.5]
    text = log_path.read_text()
    for r in results[1:]:
        assert f"{r.video}: {r.status}, score 0.5000: {r.reason}" in text
    assert "scored 4 videos (3 with the default score 0.5)" in text
    assert not logging.getLogger("rf_models").handlers  # the log file handler is gone
    rows = read_details(details_path(out))
    assert [r["status"] for r in rows] == ["ok", "no_face", "unreadable", "empty_file"]
    assert float(rows[0]["b0"]) == good.model_scores["b0"]
    # on a CPU the models come one at a time; keeping them all loaded gives the same bytes
    assert "on cpu (loaded one at a time)" in text
    again = tmp_path / "all" / "submission.csv"
    score_folder(folder, checkpoints, policy_cfg, again, device="cpu", models_in_memory="all")
    assert again.read_bytes() == out.read_bytes()
    assert details_path(again).read_bytes() == details_path(out).read_bytes()


def test_score_folder_refuses_bad_configuration(folder, checkpoints, tmp_path):
    path, block = checkpoints["b0"]
    out = tmp_path / "s.csv"
    with pytest.raises(ValueError, match="expected a model of"):
        score_folder(folder, {"xcep": (path, block)}, POLICY_CFG, out, device="cpu")
    with pytest.raises(CheckpointError, match="not found"):
        score_folder(folder, {"b0": (tmp_path / "none.pt", block)}, POLICY_CFG, out, device="cpu")
    with pytest.raises(FileNotFoundError, match="found none"):
        empty = tmp_path / "empty"
        empty.mkdir()
        score_folder(empty, {"b0": (path, block)}, POLICY_CFG, out, device="cpu")
    assert not out.exists()


# -- the bounded-memory path scores as the single-decode path did ---------------------------

# Crops are cut in a second decode and every face goes through a model in one batch (mirrors
# included): the same pixels and the same arithmetic, up to float32 rounding in the
# convolutions' sums. Logits agree within these tolerances, video scores within SCORE_ATOL.
LOGIT_RTOL, LOGIT_ATOL, SCORE_ATOL = 1e-5, 1e-5, 1e-6


def reference_logits(lm, crops: list[np.ndarray]) -> np.ndarray:
    """The former path, written out: full-size crops resized one by one (bilinear), colour,
    /255, normalisation, and the mirror in a forward pass of its own."""
    size = lm.cfg.infer_size or lm.cfg.input_size
    batch = []
    for crop in crops:
        img = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
        if lm.cfg.colour == "RGB":
            img = img[..., ::-1]
        x = (img.astype(np.float32) / 255 - np.float32(lm.cfg.mean)) / np.float32(lm.cfg.std)
        batch.append(x.transpose(2, 0, 1))
    x = torch.from_numpy(np.stack(batch))
    with torch.no_grad():
        if lm.cfg.kind == "video":
            return lm.model(x.permute(1, 0, 2, 3)[None]).numpy()[0]
        out = lm.model(x)
        if lm.cfg.flip_tta:
            out = (out + lm.model(torch.flip(x, dims=[-1]))) / 2
        return out.numpy()


def single_decode_scores(path: Path, detector, models, policy):
    """What score_video_file computed before its memory was bounded: every sampled frame
    decoded once and kept at full size, detection on them, crops cut from them."""
    n = probe_video(path).declared_frames
    frames = dict(FrameReader(path, wanted=sample_frames(n, 160)))
    boxes = {
        i: boxes_from_detections(found)
        for i, found in detect_frames(iter(frames.items()), detector, batch_size=8)
    }
    height, width = next(iter(frames.values())).shape[:2]
    tracks = track_video(boxes, sorted(frames), width, height, max_faces=2)
    faces = [
        [frames[c.source_frame][c.top : c.top + c.size, c.left : c.left + c.size] for c in f.frames]
        for f in tracks.faces
        if f.crop_size > 0
    ]
    per_model = {}
    for lm in models:
        if lm.cfg.kind == "image":
            per_model[lm.name] = [
                reference_logits(lm, crops[:: math.ceil(len(crops) / 35)]) for crops in faces
            ]
        else:
            per_model[lm.name] = [reference_logits(lm, crops) for crops in faces]
    return per_model, ensemble_details(
        {m: {path.name: v} for m, v in per_model.items()}, policy, [path.name]
    )[path.name]


def test_scores_match_the_single_decode_path(tmp_path, detector):
    # 80 frames: every sampled frame is scored by the video model, every 3rd by the image one
    there = t1_frames(32)
    path = write_bgr(tmp_path / "long.mp4", there + there[::-1] + there[:16])
    blocks = {
        "b0": tiny_block("image", flip_tta=True, infer_size=32),
        "sf": tiny_block("video", infer_size=24),
    }
    models = [
        load_trained_model(write_checkpoint(tmp_path / f"{m}.pt", blk, m, seed=i), blk, m, "cpu")
        for i, (m, blk) in enumerate(blocks.items())
    ]
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    r = score_video_file(path, detector, models, policy)
    per_model, expected = single_decode_scores(path, detector, models, policy)
    assert (r.status, r.num_faces) == ("ok", 2)
    for face in r.faces:
        np.testing.assert_allclose(
            face.logits["b0"], per_model["b0"][face.face - 1], rtol=LOGIT_RTOL, atol=LOGIT_ATOL
        )
        np.testing.assert_allclose(
            face.logits["sf"], per_model["sf"][face.face - 1], rtol=LOGIT_RTOL, atol=LOGIT_ATOL
        )
    assert r.score == pytest.approx(expected.score, abs=SCORE_ATOL)
    assert r.model_scores == pytest.approx(expected.model_scores, abs=SCORE_ATOL)


def test_each_video_is_probed_once(tmp_path, monkeypatch):
    import rf_models.infer.videos as videos
    import rf_models.video.decode as decode

    calls = []
    probe = decode.probe_video

    def counting_probe(path, count_frames=False):
        calls.append(Path(path).name)
        return probe(path, count_frames)

    monkeypatch.setattr(videos, "probe_video", counting_probe)
    monkeypatch.setattr(decode, "probe_video", counting_probe)
    path = flat_video(tmp_path / "v.mp4", 12)
    r = score_video_file(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        score_image=stand_in_image,
        score_video=stand_in_video,
    )
    assert r.status == "ok", r
    assert calls == ["v.mp4"]


def _score_with_work(videos, work_root, out_dir, detector, calls):
    """score_videos with a work area; ``calls`` collects the videos actually scored."""
    import rf_models.infer.videos as videos_module

    policy = EnsemblePolicy.from_config(POLICY_CFG)
    area = WorkArea(work_root, "predict_videos", {"test": 1}, ("rf_models.infer.videos",))
    real = videos_module.prepare_video

    def counting(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    videos_module.prepare_video = counting
    try:
        return score_videos(
            videos,
            detector,
            stand_ins(),
            policy,
            out_dir / "submission.csv",
            json_path=out_dir / "predictions.json",
            pictures_dir=out_dir / "pictures",
            work=area,
            score_image=stand_in_image,
            score_video=stand_in_video,
        )
    finally:
        videos_module.prepare_video = real


def _outputs(out_dir: Path) -> dict[str, bytes]:
    """Every file under ``out_dir``, its own path written as OUT (predictions.json names it)."""
    return {
        str(p.relative_to(out_dir)): p.read_bytes().replace(str(out_dir).encode(), b"OUT")
        for p in sorted(out_dir.rglob("*"))
        if p.is_file()
    }


def test_predict_reuses_each_unchanged_video_and_writes_the_same_bytes(
    folder, detector, tmp_path, caplog
):
    videos = tmp_path / "videos"
    shutil.copytree(folder, videos, ignore=shutil.ignore_patterns("sub.mp4", "notes.txt"))
    first, second, third = calls = ([], [], [])
    _score_with_work(list_videos(videos), tmp_path / "work", tmp_path / "a", detector, first)
    assert sorted(first) == sorted([GOOD, NO_FACE, CORRUPT, EMPTY])
    with caplog.at_level(logging.INFO, logger="rf_models"):
        _score_with_work(list_videos(videos), tmp_path / "work", tmp_path / "b", detector, second)
    assert second == []  # every video reused
    assert "4 reused" in caplog.text
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b")
    # one video replaced (new bytes, same name): only it is scored again
    write_bgr(videos / NO_FACE, [np.full((96, 128, 3), (90, 20, 40), np.uint8)] * 10)
    _score_with_work(list_videos(videos), tmp_path / "work", tmp_path / "c", detector, third)
    assert third == [NO_FACE], calls


def test_predict_keeps_no_result_of_a_transient_failure(tmp_path):
    path = flat_video(tmp_path / "videos" / "v.mp4", 12)
    calls: list[str] = []

    class BrokenDetector(FakeDetector):
        def detect_preprocessed(self, batch, orig_size):
            raise RuntimeError("out of memory")

    results = _score_with_work([path], tmp_path / "work", tmp_path / "a", BrokenDetector(), calls)
    assert results[0].status in TRANSIENT
    assert not any((tmp_path / "work" / "videos").iterdir())


# -- models loaded one at a time over a batch of videos --------------------------------------


class CountingLoader:
    """Loads a stand-in by name (a fresh copy each time), counting the loads, and checks that
    the copy loaded before has been released: one-at-a-time holds one model at any moment."""

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.previous: list[weakref.ref] = []

    def __call__(self, spec: StandIn) -> StandIn:
        assert all(ref() is None for ref in self.previous), "a loaded model was still held"
        self.loads.append(spec.name)
        loaded = StandIn(spec.name, spec.kind, spec.logit, spec.side)
        self.previous.append(weakref.ref(loaded))
        return loaded


@pytest.fixture(scope="module")
def two_good(folder, tmp_path_factory) -> list[Path]:
    """Two videos with faces and one without, in that order of names."""
    root = tmp_path_factory.mktemp("two_good")
    for name in ("a_good.mp4", "b_good.mp4"):
        shutil.copy(folder / GOOD, root / name)
    shutil.copy(folder / NO_FACE, root / "c_noface.mp4")
    return list_videos(root)


@pytest.mark.parametrize(("budget_mb", "loads_per_model"), [(1e-6, 2), (1024, 1)])
def test_models_loaded_one_at_a_time_write_the_same_bytes(
    two_good, detector, tmp_path, budget_mb, loads_per_model
):
    policy = EnsemblePolicy.from_config(POLICY_CFG)

    def run(models, out: Path) -> list:
        return score_videos(
            two_good,
            detector,
            models,
            policy,
            out / "submission.csv",
            json_path=out / "predictions.json",
            pictures_dir=out / "pictures",
            crop_memory_mb=budget_mb,
            score_image=stand_in_image,
            score_video=stand_in_video,
        )

    resident = run(stand_ins(), tmp_path / "all")
    loader = CountingLoader()
    one = run(ModelSet(stand_ins(), loader), tmp_path / "one")
    assert not ModelSet(stand_ins(), loader).resident and ModelSet(stand_ins()).resident
    # a tiny budget scores each video with faces alone; a large one both in one batch (the
    # video without a face never needs a model)
    assert sorted(loader.loads) == sorted(["b0", "sf"] * loads_per_model)
    assert [r.status for r in one] == [r.status for r in resident] == ["ok", "ok", "no_face"]
    assert _without_seconds(tmp_path / "all") == _without_seconds(tmp_path / "one")


def _without_seconds(out: Path) -> dict:
    """Every output of ``out``, predictions.json without its wall-clock seconds."""
    files = _outputs(out)
    doc = json.loads(files.pop("predictions.json"))
    for video in doc["videos"]:
        del video["seconds"]
        video["picture"] = video["picture"] and Path(video["picture"]).name
    return {**files, "predictions.json": doc}


def test_a_model_failing_on_one_video_of_a_batch_spares_the_others(two_good, detector, tmp_path):
    seen: list[int] = []

    def fails_on_second_video(lm, faces):
        seen.append(1)
        if len(seen) == 2:
            raise RuntimeError("out of memory")
        return stand_in_video(lm, faces)

    results = score_videos(
        two_good,
        detector,
        ModelSet(stand_ins(), CountingLoader()),
        EnsemblePolicy.from_config(POLICY_CFG),
        tmp_path / "submission.csv",
        crop_memory_mb=1024,
        score_image=stand_in_image,
        score_video=fails_on_second_video,
    )
    assert [r.status for r in results] == ["ok", "model_error", "no_face"]
    assert results[1].reason == "sf: RuntimeError: out of memory"
    assert results[0].score == pytest.approx(STAND_IN_SCORE)


def test_model_set_from_checkpoints(checkpoints, tmp_path):
    one = ModelSet.from_checkpoints(checkpoints, "cpu", "auto")  # a CPU: one at a time
    assert not one.resident and [m.name for m in one.models] == ["b0", "sf"]
    loaded = []
    one.for_each(lambda lm: loaded.append((lm.name, lm.model.training)))
    assert loaded == [("b0", False), ("sf", False)]
    everything = ModelSet.from_checkpoints(checkpoints, "cpu", "all")
    assert everything.resident
    assert all(isinstance(lm.model, torch.nn.Module) for lm in everything.models)
    with pytest.raises(ValueError, match="expected one of"):
        ModelSet.from_checkpoints(checkpoints, "cpu", "some")
    # one at a time still reads every checkpoint before scoring starts
    path, block = checkpoints["b0"]
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="broken.pt"):
        ModelSet.from_checkpoints({"b0": (broken, block)}, "cpu", "one")
