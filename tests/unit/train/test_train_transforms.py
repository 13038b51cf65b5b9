import numpy as np
import pytest
import torch

from rf_models.train.transforms import (
    ClipEvalTransform,
    ClipTrainTransform,
    ImageEvalTransform,
    ImageTrainTransform,
    apply_kernel,
    brightness_contrast,
    motion_blur_kernel,
    normalise,
    random_resized_crop_params,
    video_eval_side,
    video_jitter,
)
from tests.support.train_data import tiny_image_cfg, tiny_video_cfg


def image(h=40, w=40, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (3, h, w), np.uint8))


def test_image_train_shape_and_determinism():
    t = ImageTrainTransform(tiny_image_cfg(input_size=24))
    img = image()
    a = t(img, np.random.default_rng([0, 5]))
    b = t(img, np.random.default_rng([0, 5]))
    c = t(img, np.random.default_rng([0, 6]))
    assert a.shape == (3, 24, 24) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_random_resized_crop_area_and_aspect():
    rng = np.random.default_rng(1)
    for _ in range(200):
        top, left, h, w = random_resized_crop_params(100, 100, (0.88**2, 1.0), rng)
        assert h == w and 88 <= h <= 100
        assert 0 <= top <= 100 - h and 0 <= left <= 100 - w
    # A non-square image still gets a square crop that fits.
    top, left, h, w = random_resized_crop_params(30, 100, (0.9, 1.0), rng)
    assert h == w <= 30


def test_image_eval_is_plain_resize_and_normalise():
    cfg = tiny_image_cfg(input_size=20)
    flat = torch.full((3, 50, 50), 128, dtype=torch.uint8)
    out = ImageEvalTransform(cfg)(flat)
    expected = (128 / 255 - torch.tensor(cfg.mean)) / torch.tensor(cfg.std)
    assert out.shape == (3, 20, 20)
    assert torch.allclose(out, expected.view(3, 1, 1).expand(3, 20, 20), atol=1e-6)


def test_normalise_half_for_xception():
    out = normalise(
        torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 2).expand(3, 1, 2),
        (0.5,) * 3,
        (0.5,) * 3,
    )
    assert out[0, 0].tolist() == [-1.0, 1.0]


def test_brightness_contrast_formula():
    img = torch.tensor([0, 100, 250], dtype=torch.uint8)
    # albumentations: img * alpha + beta * 255, clipped, truncated.
    assert brightness_contrast(img, 1.1, 0.1).tolist() == [25, 135, 255]
    assert brightness_contrast(img, 0.9, -0.25).tolist() == [0, 26, 161]


def test_motion_blur_kernel_and_constant_image():
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = motion_blur_kernel(rng)
        assert k.shape[0] in (3, 5, 7) and k.sum() == pytest.approx(1.0) and (k > 0).sum() >= 2
    flat = torch.full((3, 9, 9), 77, dtype=torch.uint8)
    assert torch.equal(apply_kernel(flat, motion_blur_kernel(rng)), flat)


def test_video_sizes_follow_the_seed_and_scale():
    seed = tiny_video_cfg(input_size=224, aug_min_scale=224 / 340)
    assert video_jitter(seed) == (224, 340) and video_eval_side(seed) == 256
    small = seed.with_overrides(input_size=112)
    assert video_jitter(small) == (112, 170) and video_eval_side(small) == 128
    # val_size sets the validation side; aug_min_scale 1 keeps whole crops.
    demo = seed.with_overrides(input_size=64, val_size=64, aug_min_scale=1.0)
    assert video_jitter(demo) == (64, 64) and video_eval_side(demo) == 64


def test_clip_train_uses_one_draw_for_every_frame():
    cfg = tiny_video_cfg(input_size=16, aug_extra=True)
    frame = image(32, 32)
    clip = torch.stack([frame] * 5)
    out = ClipTrainTransform(cfg)(clip, np.random.default_rng(7))
    assert out.shape == (3, 5, 16, 16)
    for t in range(1, 5):
        assert torch.equal(out[:, t], out[:, 0])
    again = ClipTrainTransform(cfg)(clip, np.random.default_rng(7))
    assert torch.equal(out, again)


def test_clip_eval_centre_crop_at_scaled_256():
    cfg = tiny_video_cfg(input_size=112)
    clip = torch.stack([image(60, 80, seed=s) for s in range(3)])
    out = ClipEvalTransform(cfg)(clip)
    assert out.shape == (3, 3, 128, 128)
    assert torch.equal(out, ClipEvalTransform(cfg)(clip))


def test_jpeg_round_trip_keeps_shape_and_degrades_with_quality():
    from rf_models.train.transforms import jpeg

    clip = torch.stack([image(32, 32, seed=s) for s in range(2)])
    low, high = jpeg(clip, 50), jpeg(clip, 100)
    assert low.shape == clip.shape and low.dtype == torch.uint8
    err = lambda x: (x.float() - clip.float()).abs().mean()  # noqa: E731
    assert err(high) < err(low)
