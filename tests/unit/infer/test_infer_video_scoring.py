"""One new video scored end to end: sampling, detection, tracking, crops, models, policy."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from scipy.special import expit

from rf_models.detect.run import detect_frames
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.sampled import boxes_from_detections
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import load_trained_model
from rf_models.infer.video_scoring import STATUSES, check_models, score_video
from rf_models.track.tracks import track_video
from rf_models.video.decode import FrameReader, probe_video
from tests.support.infer_models import block as tiny_block
from tests.support.infer_models import write_checkpoint
from tests.support.predict_fakes import (
    CORRUPT,
    EMPTY,
    GOOD,
    GOOD_FRAMES,
    POLICY_CFG,
    STAND_IN_SCORE,
    FakeDetector,
    StandIn,
    flat_value,
    flat_video,
    stand_in_image,
    stand_in_video,
    stand_ins,
    t1_frames,
    write_bgr,
)
from tests.support.seed_config import policy_config


def test_good_video_is_scored_with_two_of_six_faces(folder, detector):
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    models = stand_ins()
    r = score_video(
        folder / GOOD,
        detector,
        models,
        policy,
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
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
    r = score_video(
        path, fake, models, policy, image_scorer=stand_in_image, clip_scorer=stand_in_video
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
    r = score_video(
        path,
        FakeDetector(),
        models,
        policy,
        max_faces=max_faces,
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
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
    r = score_video(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    assert (r.status, r.n_frames) == ("ok", 12)


def test_video_cut_short_is_scored_as_partial(folder, tmp_path):
    # the index is at the front, so a cut file opens and decodes its first frames
    data = (folder / GOOD).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    fake = FakeDetector()
    r = score_video(
        path,
        fake,
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    assert r.status == "partial"
    assert f"{fake.frames} of {GOOD_FRAMES} sampled frames decoded" in r.reason
    assert 5 <= fake.frames < GOOD_FRAMES
    assert r.score == pytest.approx(STAND_IN_SCORE)


def test_too_few_frames_for_the_image_rule_leaves_the_video_model_alone(tmp_path):
    path = flat_video(tmp_path / "short.mp4", 3)
    policy = EnsemblePolicy.from_config(POLICY_CFG)
    r = score_video(
        path,
        FakeDetector(),
        stand_ins(),
        policy,
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    # b0 has 3 < 5 frames per face: no score; the video group alone decides
    assert r.status == "ok"
    assert r.model_scores["b0"] is None
    assert r.score == pytest.approx(expit(-1.0))
    assert "fewer than 5 frames" in r.reason
    image_only = EnsemblePolicy.from_config(
        policy_config(groups={"image": POLICY_CFG["groups"]["image"]}, shrink={"models": []})
    )
    r = score_video(
        path,
        FakeDetector(),
        [StandIn("b0", "image", 2.0)],
        image_only,
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    assert (r.status, r.score) == ("no_score", 0.5)
    assert "fewer than 5 frames" in r.reason


def failing_video(lm, faces):
    raise RuntimeError("CUDA out of memory")


@pytest.mark.parametrize(
    ("image_scorer", "clip_scorer", "expected"),
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
def test_a_model_error_gives_the_default_score(tmp_path, image_scorer, clip_scorer, expected):
    path = flat_video(tmp_path / "v.mp4", 10)
    r = score_video(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        image_scorer=image_scorer,
        clip_scorer=clip_scorer,
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
    r = score_video(
        folder / name,
        detector_cls(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    assert (r.video, r.status, r.score) == (name, status, 0.5)
    assert reason in r.reason
    assert r.status in STATUSES


def test_policy_default_score_is_used_for_failures(folder):
    policy = EnsemblePolicy.from_config({**POLICY_CFG, "default_score": 0.6})
    r = score_video(folder / EMPTY, FakeDetector(), stand_ins(), policy)
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
        score_video(folder / GOOD, FakeDetector(), models, policy)


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
    """What score_video computed before its memory was bounded: every sampled frame
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
    r = score_video(path, detector, models, policy)
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
    import rf_models.infer.video_scoring as video_scoring
    import rf_models.video.decode as decode

    calls = []
    probe = decode.probe_video

    def counting_probe(path, count_frames=False):
        calls.append(Path(path).name)
        return probe(path, count_frames)

    monkeypatch.setattr(video_scoring, "probe_video", counting_probe)
    monkeypatch.setattr(decode, "probe_video", counting_probe)
    path = flat_video(tmp_path / "v.mp4", 12)
    r = score_video(
        path,
        FakeDetector(),
        stand_ins(),
        EnsemblePolicy.from_config(POLICY_CFG),
        image_scorer=stand_in_image,
        clip_scorer=stand_in_video,
    )
    assert r.status == "ok", r
    assert calls == ["v.mp4"]
