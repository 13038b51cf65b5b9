"""A part as a new user's files make it: a phone video stored sideways with a rotate tag, an
upper-case extension, a name with spaces and an accent, and bad metadata rows. Every stage,
the lists, a training run on them and predict treat them like DFDC's videos.

Uses the packaged RetinaFace weights with the PyTorch backend on one thread.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from rf_models.data.lists import make_list, read_list
from rf_models.data.manifest import read_manifest
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.infer.policy import EnsemblePolicy
from rf_models.infer.scoring import load_trained_model
from rf_models.infer.video_scoring import score_video
from rf_models.models.factory import create_model
from rf_models.stages.align import align_part
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.stages.track import track_part
from rf_models.train.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.train.loop import train_model
from tests.support.seed_config import policy_config, seed_block

PART = "dfdc_train_part_9"
TRACK = {"score_threshold": 0.8, "iou_threshold": 0.5, "crop_scale": 1.3, "crop_source": "borrowed"}
SPACED = "space name é.mp4"
BAD_ROWS = {"maybe.mp4": {"label": "MAYBE"}, "../x.mp4": {"label": "REAL"}}
BAD_ROWS["a/b.mp4"] = {"label": "FAKE"}


def tiny_block(**changes) -> dict:
    block = {
        **seed_block("image"),
        "kind": "image",
        "arch": "tiny_grid",
        "input_size": 24,
        "colour": "RGB",
        "batch_size": 4,
        "gpus": 1,
        "base_lr": 0.01,
        "warmup_lr": 0.01,
        "warmup_iters": 1,
        "lr_steps": [],
        "max_iter": 2,
        "split": "demo",
        "aug": "A",
        "val_every": 2,
        "num_workers": 0,
        "init": None,
    }
    block.update(changes)
    return block


@pytest.fixture(scope="module")
def part(tmp_path_factory, write_video, face_frames) -> Path:
    part = tmp_path_factory.mktemp("awkward") / PART
    part.mkdir()
    write_video(part / "upright.mp4", face_frames)
    # the phone's way: pixels stored sideways (turned clockwise), a display rotation of 90
    # degrees counter-clockwise that turns them upright again in players and in ffmpeg
    write_video(part / "phone.mp4", [np.rot90(f, -1) for f in face_frames], rotation=90)
    shutil.copy(part / "upright.mp4", part / "UPPER.MP4")
    shutil.copy(part / "upright.mp4", part / SPACED)
    shutil.copy(part / "upright.mp4", part / "maybe.mp4")
    labels = {"upright.mp4": "FAKE", "phone.mp4": "FAKE", "UPPER.MP4": "REAL", SPACED: "REAL"}
    meta = {name: {"label": label, "split": "train"} for name, label in labels.items()}
    (part / "metadata.json").write_text(json.dumps(meta | BAD_ROWS, ensure_ascii=False))
    return part


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(backend="torch", device="cpu", threads=1)


@pytest.fixture(scope="module")
def run(part: Path, tmp_path_factory, detector) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("awkward_out")
    r = SimpleNamespace(root=root, frames=root / "frames" / PART)
    r.detections, r.tracks = root / "detections" / PART, root / "tracks" / PART
    r.faces = root / "faces" / PART
    extract_part(part, r.frames, root / "extract.tsv", FrameOptions())
    detect_part(r.frames, root / "extract.tsv", r.detections, detector, batch_size=5)
    track_part(r.detections, root / "extract.tsv", r.tracks, root / "track.tsv", TRACK)
    r.rows = {
        row.video: row
        for row in align_part(part, r.tracks, root / "track.tsv", r.faces, root / "m.tsv")
    }
    r.manifest = root / "m.tsv"
    return r


def test_every_file_and_row_has_its_status(run) -> None:
    assert read_manifest(run.manifest) == list(run.rows.values())
    assert {v: r.status for v, r in run.rows.items()} == {
        "../x.mp4": "bad_metadata",
        "UPPER.MP4": "ok",
        "a/b.mp4": "bad_metadata",
        "maybe.mp4": "bad_metadata",
        "phone.mp4": "ok",
        SPACED: "ok",
        "upright.mp4": "ok",
    }
    assert "found 'MAYBE'" in run.rows["maybe.mp4"].reason
    assert "path '../x.mp4'" in run.rows["../x.mp4"].reason
    for name in ("UPPER.MP4", SPACED, "phone.mp4", "upright.mp4"):
        assert run.rows[name].num_faces == 6, name


def test_the_phone_video_is_processed_upright_like_its_twin(run) -> None:
    phone, upright = run.rows["phone.mp4"], run.rows["upright.mp4"]
    # sizes as displayed, not as stored (360x640)
    assert (phone.width, phone.height, phone.n_frames) == (640, 360, 10)
    assert (phone.width, phone.height) == (upright.width, upright.height)
    tracks = {v: json.loads((run.tracks / f"{v}.json").read_text()) for v in ("phone", "upright")}
    for a, b in zip(tracks["phone"]["faces"], tracks["upright"]["faces"], strict=True):
        assert abs(a["crop_size"] - b["crop_size"]) <= 4
        for ca, cb in zip(a["frames"], b["frames"], strict=True):
            assert abs(ca["left"] - cb["left"]) <= 3 and abs(ca["top"] - cb["top"]) <= 3
    for k in range(1, 7):
        for n in (1, 10):
            a = cv2.imread(str(run.faces / "phone" / f"frame{n}_face{k}.jpg"))
            b = cv2.imread(str(run.faces / "upright" / f"frame{n}_face{k}.jpg"))
            b = cv2.resize(b, a.shape[1::-1])
            assert np.abs(a.astype(int) - b.astype(int)).mean() < 12, (n, k)


def test_spaced_and_upper_case_names_go_through_the_lists_into_training(run, tmp_path) -> None:
    lists = tmp_path / "train.txt"
    assert make_list([run.manifest], lists, 3, 1, "jpg") == 4 * 6
    lines = read_list(lists)
    patterns = {line.pattern.split("/")[1] for line in lines}
    assert patterns == {"UPPER", "phone", "space name é", "upright"}  # no bad row
    for line in lines:
        for frame in line.frames():
            assert (run.faces.parent / line.path(frame)).is_file(), line
    cfg = ModelConfig.from_dict("tiny", tiny_block())
    torch.manual_seed(0)
    result = train_model(cfg, lists, lists, run.faces.parent, tmp_path / "model", device="cpu")
    assert result.best_checkpoint.is_file()
    assert load_checkpoint(result.best_checkpoint)["arch"] == "tiny_grid"


def test_predict_scores_the_phone_video_like_its_twin(part, tmp_path) -> None:
    blk = tiny_block(infer_size=32)
    cfg = ModelConfig.from_dict("b0", blk)
    torch.manual_seed(0)
    state = {
        "format": FORMAT,
        "arch": cfg.arch,
        "kind": cfg.kind,
        "config": cfg.to_dict(),
        "model": create_model(cfg.arch, num_classes=2).state_dict(),
    }
    save_checkpoint(state, tmp_path / "b0.pt")
    models = [load_trained_model(tmp_path / "b0.pt", blk, "b0", "cpu")]
    policy = EnsemblePolicy.from_config(
        policy_config(
            groups={"image": {"input": "frames", "weight": 1.0, "models": {"b0": 1}}},
            shrink={"models": []},
        )
    )
    detector = RetinaFaceDetector(backend="onnx", device="cpu", threads=1)
    phone, upright, spaced = (
        score_video(part / name, detector, models, policy)
        for name in ("phone.mp4", "upright.mp4", SPACED)
    )
    assert (phone.status, phone.num_faces) == (upright.status, upright.num_faces) == ("ok", 2)
    assert phone.score == pytest.approx(upright.score, abs=0.02)
    assert spaced.video == SPACED and spaced.score == upright.score
