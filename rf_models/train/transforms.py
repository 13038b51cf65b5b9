"""Training and validation transforms (docs/reproduction.md §6), built from a model config.

Every random choice is drawn from an explicit ``numpy.random.Generator`` that the dataset
seeds per sample, never from a global stream, so a sample's augmentation depends only on
(seed, position) and a resumed run replays it exactly. Inputs are uint8 tensors already in the
model's channel order (RGB or BGR): ``(C, H, W)`` for an image, ``(T, C, H, W)`` for a clip.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as nnf
import torchvision.transforms.v2.functional as F
from torchvision.transforms import InterpolationMode

from rf_models.train.config import ModelConfig

# Aug A reproduces albumentations/OpenCV (no antialiasing); Aug V reproduces PIL resizing.
_IMAGE_ANTIALIAS = False
_VIDEO_ANTIALIAS = True
# Aug V validates at shorter side 256 for the seed's 224 input; other sizes scale it.
_VIDEO_TRAIN, _VIDEO_VAL = 224, 256

BRIGHTNESS_LIMIT = 0.25
CONTRAST_LIMIT = 0.1
BC_P = 0.5
JPEG_P = 0.2
JPEG_QUALITY = (50, 100)
FLIP_P = 0.5
BLUR_P = 0.5
BLUR_SIZES = (3, 5, 7)

Transform = Callable[..., torch.Tensor]


def _resize(img: torch.Tensor, size: tuple[int, int], antialias: bool) -> torch.Tensor:
    return F.resize(img, list(size), interpolation=InterpolationMode.BILINEAR, antialias=antialias)


def normalise(img: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 ``(..., C, H, W)`` -> float32 ``(pixel / 255 - mean) / std``."""
    mean_t = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return (img.to(torch.float32) / 255.0 - mean_t) / std_t


def random_resized_crop_params(
    height: int, width: int, scale: tuple[float, float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a square crop whose area is ``scale`` of the image (torchvision's
    sampling, aspect ratio fixed at 1)."""
    area = height * width
    for _ in range(10):
        side = int(round(math.sqrt(area * rng.uniform(scale[0], scale[1]))))
        if 0 < side <= width and 0 < side <= height:
            top = int(rng.integers(0, height - side + 1))
            left = int(rng.integers(0, width - side + 1))
            return top, left, side, side
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side, side


def brightness_contrast(img: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """albumentations' RandomBrightnessContrast on uint8: ``img * alpha + beta * 255``,
    clipped and truncated back to uint8."""
    return (img.to(torch.float32) * alpha + beta * 255.0).clamp_(0, 255).to(torch.uint8)


def motion_blur_kernel(rng: np.random.Generator) -> np.ndarray:
    """A normalised line kernel of odd size 3-7 between two random points (albumentations'
    MotionBlur)."""
    ksize = int(rng.choice(BLUR_SIZES))
    kernel = np.zeros((ksize, ksize), dtype=np.uint8)
    xs, xe = (int(v) for v in rng.integers(0, ksize, size=2))
    if xs == xe:
        ys, ye = (int(v) for v in rng.choice(ksize, size=2, replace=False))
    else:
        ys, ye = (int(v) for v in rng.integers(0, ksize, size=2))
    cv2.line(kernel, (xs, ys), (xe, ye), 1, thickness=1)
    kernel = kernel.astype(np.float32)
    return kernel / kernel.sum()


def apply_kernel(img: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Filter each channel of uint8 ``(..., C, H, W)`` with ``kernel`` (reflect-101 border,
    as OpenCV's filter2D), rounded back to uint8."""
    shape = img.shape
    x = img.reshape(-1, 1, shape[-2], shape[-1]).to(torch.float32)
    k = torch.from_numpy(kernel)[None, None]
    pad = kernel.shape[0] // 2
    if min(shape[-2], shape[-1]) > pad:
        x = nnf.pad(x, (pad, pad, pad, pad), mode="reflect")
    else:
        x = nnf.pad(x, (pad, pad, pad, pad), mode="replicate")
    out = nnf.conv2d(x, k)
    return out.round_().clamp_(0, 255).to(torch.uint8).reshape(shape)


def jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip of uint8 ``(..., C, H, W)`` with OpenCV, channels as stored (as
    albumentations' ImageCompression did)."""
    shape = img.shape
    frames = img.reshape(-1, *shape[-3:]).permute(0, 2, 3, 1).numpy()
    out = []
    for frame in frames:
        ok, buf = cv2.imencode(
            ".jpg", np.ascontiguousarray(frame), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        if not ok:
            raise RuntimeError(f"OpenCV could not JPEG-encode a {frame.shape} image")
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).reshape(shape).contiguous()


def _photometric(img: torch.Tensor, rng: np.random.Generator, *, blur: bool) -> torch.Tensor:
    """Brightness/contrast (p 0.5), JPEG (p 0.2) and, for Aug A, motion blur (p 0.5); one
    draw of parameters for the whole tensor (every frame of a clip)."""
    if rng.random() < BC_P:
        alpha = 1.0 + rng.uniform(-CONTRAST_LIMIT, CONTRAST_LIMIT)
        beta = rng.uniform(-BRIGHTNESS_LIMIT, BRIGHTNESS_LIMIT)
        img = brightness_contrast(img, alpha, beta)
    if rng.random() < JPEG_P:
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        img = jpeg(img, quality)
    if blur and rng.random() < BLUR_P:
        img = apply_kernel(img, motion_blur_kernel(rng))
    return img


class ImageTrainTransform:
    """Aug A: random resized crop (area [min_scale^2, 1], aspect 1), h-flip, brightness /
    contrast, JPEG, motion blur, normalisation."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.size = cfg.input_size
        self.scale = (cfg.aug_min_scale**2, 1.0)
        self.mean, self.std = cfg.mean, cfg.std

    def __call__(self, img: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        top, left, h, w = random_resized_crop_params(img.shape[-2], img.shape[-1], self.scale, rng)
        img = F.resized_crop(
            img,
            top,
            left,
            h,
            w,
            [self.size, self.size],
            interpolation=InterpolationMode.BILINEAR,
            antialias=_IMAGE_ANTIALIAS,
        )
        if rng.random() < FLIP_P:
            img = F.horizontal_flip(img)
        img = _photometric(img, rng, blur=True)
        return normalise(img, self.mean, self.std)


class ImageEvalTransform:
    """Validation for image models: plain resize to the input size, normalisation."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.size = cfg.input_size
        self.mean, self.std = cfg.mean, cfg.std

    def __call__(self, img: torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
        img = _resize(img, (self.size, self.size), _IMAGE_ANTIALIAS)
        return normalise(img, self.mean, self.std)


def video_jitter(cfg: ModelConfig) -> tuple[int, int]:
    """Aug V's range of the shorter side before the random crop of ``input_size``: up to
    ``input_size / aug_min_scale``, so the crop keeps at least that fraction of the side (the
    seed: 224 of [224, 340], aug_min_scale 224/340; 1.0 keeps the whole crop)."""
    return cfg.input_size, int(round(cfg.input_size / cfg.aug_min_scale))


def video_eval_side(cfg: ModelConfig) -> int:
    """The side a video model validates at: ``val_size``, else 256/224 of the input size (the
    seed validated at 256 for its 224 input). At the demo's 64-pixel input the last feature
    maps are 2x2, where a larger side changes what the network sees: the demo validates, and
    infers, at its training size."""
    return cfg.val_size or int(round(_VIDEO_VAL * cfg.input_size / _VIDEO_TRAIN))


def _shorter_side(h: int, w: int, side: int) -> tuple[int, int]:
    if h <= w:
        return side, int(w * side / h)
    return int(h * side / w), side


class ClipTrainTransform:
    """Aug V, one draw for the whole clip: shorter side random in [224, 340]
    (:func:`video_jitter`), random crop of the input size, h-flip; with ``aug_extra`` also
    brightness / contrast and JPEG. Returns ``(C, T, H, W)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.size = cfg.input_size
        self.jitter = video_jitter(cfg)
        self.extra = cfg.aug_extra
        self.mean, self.std = cfg.mean, cfg.std

    def __call__(self, clip: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        side = int(rng.integers(self.jitter[0], self.jitter[1] + 1))
        tl_x, tl_y = rng.random(), rng.random()
        h, w = _shorter_side(clip.shape[-2], clip.shape[-1], side)
        clip = _resize(clip, (h, w), _VIDEO_ANTIALIAS)
        left, top = int(tl_x * (w - self.size)), int(tl_y * (h - self.size))
        clip = clip[..., top : top + self.size, left : left + self.size]
        if rng.random() < FLIP_P:
            clip = F.horizontal_flip(clip)
        if self.extra:
            clip = _photometric(clip, rng, blur=False)
        return normalise(clip, self.mean, self.std).permute(1, 0, 2, 3).contiguous()


class ClipEvalTransform:
    """Validation for video models: shorter side 256 (:func:`video_eval_side`), centre crop."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.side = video_eval_side(cfg)
        self.mean, self.std = cfg.mean, cfg.std

    def __call__(self, clip: torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
        h, w = _shorter_side(clip.shape[-2], clip.shape[-1], self.side)
        clip = _resize(clip, (h, w), _VIDEO_ANTIALIAS)
        clip = F.center_crop(clip, [self.side, self.side])
        return normalise(clip, self.mean, self.std).permute(1, 0, 2, 3).contiguous()


def build_transforms(cfg: ModelConfig) -> tuple[Transform, Transform]:
    """(train, eval) transforms for a model config: the one place train/eval differ."""
    if cfg.kind == "image":
        return ImageTrainTransform(cfg), ImageEvalTransform(cfg)
    return ClipTrainTransform(cfg), ClipEvalTransform(cfg)
