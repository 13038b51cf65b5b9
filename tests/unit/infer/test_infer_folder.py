"""A folder of new videos scored into submission.csv, details, JSON and pictures, with its
work area and models loaded one at a time."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy.special import expit

from rf_models.infer.folder import predict_folder, predict_loop, score_folder
from rf_models.infer.model_set import ModelSet
from rf_models.infer.policy import EnsemblePolicy
from rf_models.infer.predict_options import PredictOptions, PredictOutputs
from rf_models.infer.predict_outputs import details_path
from rf_models.infer.submission import read_submission
from rf_models.infer.video_scoring import TRANSIENT
from rf_models.models.factory import create_model
from rf_models.report.video_sheet import plot_video_sheet
from rf_models.train.checkpoint import FORMAT, CheckpointError, save_checkpoint
from rf_models.train.config import ModelConfig
from rf_models.video.decode import list_videos
from tests.support.infer_models import block as tiny_block
from tests.support.predict_fakes import (
    CORRUPT,
    EMPTY,
    GOOD,
    GOOD_FRAMES,
    NO_FACE,
    POLICY_CFG,
    STAND_IN_SCORE,
    FakeDetector,
    StandIn,
    flat_video,
    stand_in_image,
    stand_in_video,
    stand_ins,
    write_bgr,
)
from tests.support.seed_config import seed_block


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
        results = score_folder(
            list_videos(folder),
            detector,
            stand_ins(),
            policy,
            PredictOutputs(out),
            image_scorer=stand_in_image,
            clip_scorer=stand_in_video,
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
    results = score_folder(
        list_videos(folder),
        detector,
        stand_ins(),
        policy,
        PredictOutputs(
            out, predictions_json=doc_path, pictures=pictures, draw_picture=plot_video_sheet
        ),
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
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
        score_folder(
            [folder / GOOD, other / GOOD],
            FakeDetector(),
            stand_ins(),
            EnsemblePolicy.from_config(POLICY_CFG),
            PredictOutputs(tmp_path / "s.csv"),
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
    model = create_model(cfg.arch, num_classes=2)
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
    results = predict_folder(
        folder,
        checkpoints,
        policy_cfg,
        PredictOutputs(out, log=log_path),
        PredictOptions(device="cpu", detector_backend="onnx", detector_threads=1),
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
    all_loaded = PredictOptions(device="cpu", models_in_memory="all")
    predict_folder(folder, checkpoints, policy_cfg, PredictOutputs(again), all_loaded)
    assert again.read_bytes() == out.read_bytes()
    assert details_path(again).read_bytes() == details_path(out).read_bytes()


def test_score_folder_refuses_bad_configuration(folder, checkpoints, tmp_path):
    path, block = checkpoints["b0"]
    out = tmp_path / "s.csv"
    outputs, cpu = PredictOutputs(out), PredictOptions(device="cpu")
    with pytest.raises(ValueError, match="expected a model of"):
        predict_folder(folder, {"xcep": (path, block)}, POLICY_CFG, outputs, cpu)
    with pytest.raises(CheckpointError, match="not found"):
        predict_folder(folder, {"b0": (tmp_path / "none.pt", block)}, POLICY_CFG, outputs, cpu)
    with pytest.raises(FileNotFoundError, match="found none"):
        empty = tmp_path / "empty"
        empty.mkdir()
        predict_folder(empty, {"b0": (path, block)}, POLICY_CFG, outputs, cpu)
    assert not out.exists()


def _score_with_work(videos, work_root, out_dir, detector, calls):
    """score_folder with a work area; ``calls`` collects the videos actually scored."""
    import rf_models.infer.folder as folder_module

    policy = EnsemblePolicy.from_config(POLICY_CFG)
    loop = predict_loop(work_root, {"test": 1}, plot_video_sheet)
    real = folder_module.prepare_video

    def counting(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    folder_module.prepare_video = counting
    try:
        return score_folder(
            videos,
            detector,
            stand_ins(),
            policy,
            PredictOutputs(
                out_dir / "submission.csv",
                predictions_json=out_dir / "predictions.json",
                pictures=out_dir / "pictures",
                draw_picture=plot_video_sheet,
            ),
            loop=loop,
            image_scorer=stand_in_image,
            clip_scorer=stand_in_video,
        )
    finally:
        folder_module.prepare_video = real


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
        return score_folder(
            two_good,
            detector,
            models,
            policy,
            PredictOutputs(
                out / "submission.csv",
                predictions_json=out / "predictions.json",
                pictures=out / "pictures",
                draw_picture=plot_video_sheet,
            ),
            options=PredictOptions(crop_memory_mb=budget_mb),
            image_scorer=stand_in_image,
            clip_scorer=stand_in_video,
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

    results = score_folder(
        two_good,
        detector,
        ModelSet(stand_ins(), CountingLoader()),
        EnsemblePolicy.from_config(POLICY_CFG),
        PredictOutputs(tmp_path / "submission.csv"),
        options=PredictOptions(crop_memory_mb=1024),
        image_scorer=stand_in_image,
        clip_scorer=fails_on_second_video,
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
