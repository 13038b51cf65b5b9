"""scoring: loading best.pt, crops -> logits (resize, colour order, normalisation, flip TTA)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import (
    LoadedModel,
    check_trained_model,
    clip_logits,
    clip_logits_by_face,
    clips_logits,
    clips_per_pass,
    crops_per_pass,
    image_logits,
    image_logits_by_face,
    infer_size,
    load_trained_model,
    prepare_crops,
)
from rf_models.models.normalisation import normalisation_constants
from rf_models.train.checkpoint import CheckpointError
from rf_models.train.config import ConfigError, ModelConfig, resolve_model_block
from tests.support.infer_models import block, write_checkpoint


def crops(n: int, seed: int = 0, size: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size + i, size, 3), dtype=np.uint8) for i in range(n)]


@pytest.fixture
def image_lm(tmp_path) -> LoadedModel:
    blk = block()
    return load_trained_model(write_checkpoint(tmp_path / "best.pt", blk), blk, "m", "cpu")


def manual_logits(lm: LoadedModel, imgs: list[np.ndarray], colour: str) -> np.ndarray:
    """The preprocessing written out step by step, independently of scoring.py."""
    size = infer_size(lm.cfg)
    batch = []
    for img in imgs:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
        if colour == "RGB":
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        x = img.astype(np.float32) / 255.0
        x = (x - np.array(lm.cfg.mean, np.float32)) / np.array(lm.cfg.std, np.float32)
        batch.append(x.transpose(2, 0, 1))
    with torch.no_grad():
        return lm.model(torch.from_numpy(np.stack(batch))).numpy()


# -- loading ------------------------------------------------------------------------------


def test_load_trained_model_eval_mode_and_weights(tmp_path):
    blk = block()
    path = write_checkpoint(tmp_path / "best.pt", blk, seed=3)
    lm = load_trained_model(path, blk, "m", "cpu")
    assert lm.name == "m" and lm.cfg.kind == "image" and lm.device == torch.device("cpu")
    assert not lm.model.training
    state = torch.load(path, weights_only=True)["model"]
    for key, value in lm.model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_a_buffer_the_checkpoint_lacks_is_built_not_left_empty(tmp_path):
    blk = block(arch="tiny_with_scale")
    path = write_checkpoint(tmp_path / "best.pt", blk, seed=1)
    lm = load_trained_model(path, blk, "m", "cpu")
    assert torch.equal(lm.model.scale, torch.full((3,), 2.0))
    x = torch.rand(2, 3, 8, 8)
    state = torch.load(path, weights_only=True)["model"]
    with torch.no_grad():
        expected = nn.functional.linear(
            x.mean(dim=(2, 3)) * 2.0, state["fc.weight"], state["fc.bias"]
        )
        assert torch.allclose(lm.model(x), expected)


# predict's one-at-a-time mode checks every checkpoint first, without loading its weights:
# both refuse the same files
LOADERS = pytest.mark.parametrize(
    "load",
    [lambda p, b, n: load_trained_model(p, b, n, "cpu"), check_trained_model],
    ids=["load", "check"],
)


@LOADERS
def test_load_missing_checkpoint_names_file(tmp_path, load):
    with pytest.raises(CheckpointError, match="nope.pt.*not found"):
        load(tmp_path / "nope.pt", block(), "m")


@LOADERS
def test_load_corrupt_checkpoint_names_file(tmp_path, load):
    path = tmp_path / "best.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="best.pt"):
        load(path, block(), "m")


@LOADERS
def test_load_checkpoint_of_another_arch(tmp_path, load):
    path = write_checkpoint(tmp_path / "best.pt", block())
    with pytest.raises(CheckpointError, match="arch 'tiny3d_grid'"):
        load(path, block("video"), "v")


@LOADERS
def test_load_pickled_checkpoint_refused(tmp_path, load):
    from fractions import Fraction

    path = tmp_path / "best.pt"
    # an arbitrary Python object needs full unpickling, which weights_only refuses
    torch.save({"format": "rf_models.train/1", "x": Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match="best.pt"):
        load(path, block(), "m")


@LOADERS
def test_load_weights_of_another_shape(tmp_path, load):
    path = write_checkpoint(tmp_path / "best.pt", block())
    state = torch.load(path, weights_only=True)
    key = next(iter(state["model"]))
    state["model"][key] = torch.zeros(3)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=f"(?s)best.pt: weights do not fit.*{key}"):
        load(path, block(), "m")


def test_load_bad_block_and_device(tmp_path):
    path = write_checkpoint(tmp_path / "best.pt", block())
    with pytest.raises(ConfigError, match="infer_size"):
        load_trained_model(path, block(infer_size=0), "m", "cpu")
    with pytest.raises(ValueError, match="device"):
        load_trained_model(path, block(), "m", "tpu9")


def test_load_resnet34_from_the_project_factory(tmp_path):
    blk = block(arch="resnet34", input_size=32, infer_size=32)
    lm = load_trained_model(write_checkpoint(tmp_path / "best.pt", blk), blk, "r34", "cpu")
    out = image_logits(lm, crops(3))
    assert out.shape == (3, 2) and np.all(np.isfinite(out))


# -- infer_size ---------------------------------------------------------------------------


def test_infer_size_defaults_to_input_size():
    assert infer_size(ModelConfig.from_dict("m", block(infer_size=None))) == 24
    assert infer_size(ModelConfig.from_dict("m", block(infer_size=40))) == 40


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "299"])
def test_infer_size_bad_values(bad):
    with pytest.raises(ConfigError, match="infer_size"):
        ModelConfig.from_dict("m", block(infer_size=bad))


def test_config_yaml_infer_sizes_follow_the_seed(repo):
    import yaml

    config = yaml.safe_load((repo / "config.yaml").read_text())
    sizes = {m: resolve_model_block(config, m)["infer_size"] for m in config["train"]["models"]}
    assert sizes == {
        **dict.fromkeys(["xcep", "b3", "b1", "b1long", "b1short", "b0"], 299),
        **dict.fromkeys(["r34", "sf", "sf_noaug", "sf_16x8", "sf_alldata"], 256),
    }
    assert resolve_model_block(config, "r34")["input_size"] == 224


# -- image scoring ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_score_image_face_shapes(image_lm, n):
    out = image_logits(image_lm, crops(n))
    assert out.shape == (n, 2) and out.dtype == np.float32


def test_score_image_face_matches_manual_pipeline_rgb_and_bgr(tmp_path):
    imgs = crops(5)
    for colour in ("RGB", "BGR"):
        blk = block(colour=colour)
        lm = load_trained_model(write_checkpoint(tmp_path / f"{colour}.pt", blk), blk, "m", "cpu")
        expected = manual_logits(lm, imgs, colour)
        np.testing.assert_allclose(image_logits(lm, imgs), expected, rtol=1e-5, atol=1e-5)


def test_colour_order_is_applied(tmp_path):
    """Same weights: an RGB model on crops equals a BGR model on channel-swapped crops, and
    differs from a BGR model on the crops themselves."""
    imgs = crops(4)
    path = write_checkpoint(tmp_path / "best.pt", block())
    rgb = load_trained_model(path, block(colour="RGB"), "m", "cpu")
    bgr = load_trained_model(path, block(colour="BGR"), "m", "cpu")
    swapped = [np.ascontiguousarray(c[..., ::-1]) for c in imgs]
    np.testing.assert_allclose(image_logits(rgb, imgs), image_logits(bgr, swapped), atol=1e-6)
    assert not np.allclose(image_logits(rgb, imgs), image_logits(bgr, imgs), atol=1e-4)


def test_normalisation_of_the_model_is_used(tmp_path):
    imgs = crops(3)
    path = write_checkpoint(tmp_path / "best.pt", block())
    a = load_trained_model(path, block(), "m", "cpu")
    b = load_trained_model(path, block(normalisation="inception"), "m", "cpu")
    assert not np.allclose(image_logits(a, imgs), image_logits(b, imgs), atol=1e-4)
    np.testing.assert_allclose(
        image_logits(b, imgs), manual_logits(b, imgs, "RGB"), rtol=1e-5, atol=1e-5
    )


def test_flip_tta_is_the_mean_of_image_and_mirror(tmp_path):
    imgs = crops(5)
    path = write_checkpoint(tmp_path / "best.pt", block())
    plain = load_trained_model(path, block(flip_tta=False), "m", "cpu")
    tta = load_trained_model(path, block(flip_tta=True), "m", "cpu")
    mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in imgs]
    a, b = image_logits(plain, imgs), image_logits(plain, mirrored)
    assert not np.allclose(a, b, atol=1e-4)  # the mirror really is a different input
    np.testing.assert_allclose(image_logits(tta, imgs), (a + b) / 2, rtol=1e-5, atol=1e-6)


def test_scoring_is_deterministic_and_batch_independent(tmp_path, image_lm):
    imgs = crops(7)
    first = image_logits(image_lm, imgs)
    np.testing.assert_array_equal(first, image_logits(image_lm, imgs))
    blk = block(val_batch_size=3)
    path = write_checkpoint(tmp_path / "b3.pt", block())
    other = load_trained_model(path, blk, "m", "cpu")
    assert other.cfg.eval_batch_size == 3
    np.testing.assert_allclose(first, image_logits(other, imgs), rtol=1e-5, atol=1e-6)
    # the same crops, already at the inference size, give the same logits (no second resize)
    resized = list(prepare_crops(imgs, infer_size(image_lm.cfg)))
    np.testing.assert_array_equal(first, image_logits(image_lm, resized))


def test_resize_is_bilinear_to_infer_size():
    img = crops(1, size=50)[0]
    out = prepare_crops([img], 32)
    assert out.shape == (1, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], cv2.resize(img, (32, 32), interpolation=cv2.INTER_LINEAR))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((8, 8, 3), np.float32),
        np.zeros((0, 8, 3), np.uint8),
        "frame1_face1.jpg",
    ],
)
def test_bad_crops_are_a_clear_error(image_lm, bad):
    with pytest.raises(ValueError, match="crop 1: expected a BGR uint8"):
        image_logits(image_lm, [crops(1)[0], bad])


def test_kind_mismatch(image_lm, tmp_path):
    with pytest.raises(ValueError, match="image model, expected video"):
        clip_logits(image_lm, crops(2))
    blk = block("video")
    video = load_trained_model(write_checkpoint(tmp_path / "v.pt", blk), blk, "v", "cpu")
    with pytest.raises(ValueError, match="video model, expected image"):
        image_logits(video, crops(2))


# -- video scoring ------------------------------------------------------------------------


def test_score_video_face_one_pass_over_the_clip(tmp_path):
    blk = block("video", colour="RGB", infer_size=20)
    lm = load_trained_model(write_checkpoint(tmp_path / "v.pt", blk), blk, "v", "cpu")
    frames = crops(6, seed=2)
    out = clip_logits(lm, frames)
    assert out.shape == (2,) and out.dtype == np.float32
    clip = []
    for img in frames:
        img = cv2.cvtColor(
            cv2.resize(img, (20, 20), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
        )
        norm = normalisation_constants("imagenet")
        x = (img.astype(np.float32) / 255 - np.array(norm.mean, np.float32)) / np.array(
            norm.std, np.float32
        )
        clip.append(x.transpose(2, 0, 1))
    x = torch.from_numpy(np.stack(clip)).permute(1, 0, 2, 3)[None]  # (1, 3, T, H, W)
    with torch.no_grad():
        expected = lm.model(x)[0].numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="at least one crop"):
        clip_logits(lm, [])


def test_score_video_face_clip_of_sampled_frames(tmp_path):
    blk = block("video", infer_size=16)
    lm = load_trained_model(write_checkpoint(tmp_path / "v.pt", blk), blk, "v", "cpu")
    frames = crops(len(sample_frames(300)), size=16)
    assert len(frames) == 150
    assert clip_logits(lm, frames).shape == (2,)


# -- every face in one batch ----------------------------------------------------------------

# Batching changes only the order of float sums inside the convolutions: logits agree with
# the per-face, per-mirror passes to float32 rounding.
BATCH_RTOL, BATCH_ATOL = 1e-5, 1e-6


class CountingModel(torch.nn.Module):
    """Wraps a model and counts its forward passes and the batch sizes they saw."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.shape[0])
        return self.inner(x)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("size", [128, 256])
def test_score_image_faces_share_passes_with_the_mirrors(tmp_path, flip, size):
    # on the CPU, passes of crops_per_pass, the faces' crops together, mirrors in the same
    # pass as their crops (on CUDA, one pass)
    blk = block(flip_tta=flip, infer_size=size)
    lm = load_trained_model(write_checkpoint(tmp_path / "best.pt", blk), blk, "m", "cpu")
    faces = [crops(5, seed=1), crops(3, seed=2), []]
    expected = [image_logits(lm, f) if f else np.empty((0, 2)) for f in faces]
    counting = LoadedModel(lm.name, lm.cfg, CountingModel(lm.model), lm.device)
    out = image_logits_by_face(counting, faces)
    per_pass = crops_per_pass(lm)
    # the pixel budget: 16 images at 128 px; at 256 px 4, the eval batch
    assert per_pass == {128: 16, 256: 4}[size] // (2 if flip else 1)
    chunks = [per_pass] * (8 // per_pass) + [8 % per_pass] * bool(8 % per_pass)
    assert counting.model.batches == [c * (2 if flip else 1) for c in chunks]
    # the former way: per face, chunks of the eval batch (5 -> 4+1, 3 -> 3), mirrors apart
    assert len(counting.model.batches) < 3 * (2 if flip else 1)
    assert [o.shape for o in out] == [(5, 2), (3, 2), (0, 2)]
    for got, want in zip(out, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=BATCH_RTOL, atol=BATCH_ATOL)
    assert [o.shape for o in image_logits_by_face(counting, [[], []])] == [(0, 2), (0, 2)]


def test_score_video_faces_one_forward_over_every_face(tmp_path):
    blk = block("video", infer_size=20)
    lm = load_trained_model(write_checkpoint(tmp_path / "v.pt", blk), blk, "v", "cpu")
    faces = [crops(6, seed=3), crops(6, seed=4)]
    counting = LoadedModel(lm.name, lm.cfg, CountingModel(lm.model), lm.device)
    out = clip_logits_by_face(counting, faces)
    assert counting.model.batches == [2] and out.shape == (2, 2)
    want = np.stack([clip_logits(lm, f) for f in faces])
    np.testing.assert_allclose(out, want, rtol=BATCH_RTOL, atol=BATCH_ATOL)
    with pytest.raises(ValueError, match="clips of one length"):
        clip_logits_by_face(lm, [crops(6), crops(5)])
    with pytest.raises(ValueError, match="at least one crop per face"):
        clip_logits_by_face(lm, [crops(2), []])
    with pytest.raises(ValueError, match="video model, expected image"):
        image_logits_by_face(lm, faces)


def test_passes_on_a_cpu_follow_the_pixel_budget_and_stay_the_eval_batch_at_seed_sizes():
    def lm(kind, size, batch, flip=False, device="cpu"):
        cfg = ModelConfig.from_dict(
            "m", block(kind, infer_size=size, batch_size=batch, flip_tta=flip), source="t"
        )
        return LoadedModel("m", cfg, torch.nn.Identity(), torch.device(device))

    assert crops_per_pass(lm("image", 64, 16)) == 64  # the demo's 64 px
    assert crops_per_pass(lm("image", 64, 16, flip=True)) == 32  # mirrors in the same pass
    assert crops_per_pass(lm("image", 299, 20, flip=True)) == 10  # the seed's: the eval batch
    assert crops_per_pass(lm("image", 64, 20, flip=True, device="cuda")) == 20  # mirrors on top
    assert clips_per_pass(lm("video", 64, 4, device="cuda"), 32) == 1
    assert clips_per_pass(lm("video", 64, 4), 32) == 4
    assert clips_per_pass(lm("video", 64, 4), 16) == 8
    assert clips_per_pass(lm("video", 256, 4), 160) == 1  # the seed's clips: one at a time
    with pytest.raises(ValueError, match="is a video model"):
        crops_per_pass(lm("video", 64, 4))


def test_clips_of_one_length_share_passes_and_keep_their_order(tmp_path):
    blk = block("video", infer_size=16)
    lm = load_trained_model(write_checkpoint(tmp_path / "v.pt", blk), blk, "v", "cpu")
    clips = [crops(n, size=16, seed=k) for k, n in enumerate([8, 5, 8, 8, 5, 3])]
    counting = LoadedModel(lm.name, lm.cfg, CountingModel(lm.model), lm.device)
    out = clips_logits(counting, clips)
    expected = np.stack([clip_logits(lm, c) for c in clips])
    np.testing.assert_allclose(out, expected, rtol=BATCH_RTOL, atol=BATCH_ATOL)
    # 16 px: the budget takes every clip of a length in one pass (three lengths, three passes)
    assert sorted(counting.model.batches) == [1, 2, 3]
