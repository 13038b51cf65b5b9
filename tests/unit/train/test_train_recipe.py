"""The recipe check judges a run by a fixed probe, and catches a diverging recipe."""

import math

from rf_models.train.recipe import check_recipe
from tests.support.train_data import tiny_image_cfg, tiny_video_cfg


def test_a_sound_recipe_lowers_its_probe_loss(data, tmp_path):
    cfg = tiny_image_cfg(gpus=4, base_lr=0.05, warmup_lr=0.05)
    r = check_recipe(
        cfg, data["image_train"], data["image_val"], data["crops"], tmp_path, iterations=20,
        micro_batches=2, device="cpu",
    )  # fmt: skip
    assert (r.micro_batches, r.gpus, r.global_batch, r.lr_factor) == (2, 4, 8, 0.5)
    assert len(r.losses) == 20 and r.finite and r.learned
    assert r.probe_after < r.probe_before and r.seconds_per_iteration > 0


def test_a_diverging_recipe_fails(data, tmp_path):
    cfg = tiny_image_cfg(base_lr=1e4, warmup_lr=1e4, loss_world_size_division=False)
    r = check_recipe(
        cfg, data["image_train"], data["image_val"], data["crops"], tmp_path, iterations=20,
        device="cpu",
    )  # fmt: skip
    assert not r.learned
    assert not r.finite or r.probe_after >= r.probe_before
    assert any(not math.isfinite(v) or v > 10 for v in (*r.losses, r.probe_after))


def test_video_blocks_run_their_clips(data, tmp_path):
    r = check_recipe(
        tiny_video_cfg(), data["video_train"], data["video_val"], data["crops"], tmp_path,
        iterations=20, device="cpu",
    )  # fmt: skip
    assert r.finite and len(r.losses) == 20 and r.global_batch == 2
