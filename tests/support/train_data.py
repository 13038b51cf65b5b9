"""Training tests' data: tiny crops and lists, tiny configs of the tiny networks
(tests/support/tiny_models.py).

Imported by the tests and by the scripts they run in subprocesses (torchrun, kill and
resume), so it must not depend on pytest.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rf_models.train.config import ModelConfig
from tests.support.seed_config import seed_optimiser


def write_crops(
    root: Path, n_videos: int = 6, n_frames: int = 8, size: int = 32, seed: int = 0
) -> list[tuple[str, int]]:
    """Random JPEG crops ``<root>/part0/vid<i>/frame<N>_face1.jpg``; FAKE crops brighter so a
    model can learn something. Returns (list pattern, label) per video (alternating labels)."""
    rng = np.random.default_rng(seed)
    tubes = []
    for i in range(n_videos):
        label = i % 2
        folder = root / "part0" / f"vid{i}"
        folder.mkdir(parents=True, exist_ok=True)
        for frame in range(1, n_frames + 1):
            img = rng.integers(0, 120, (size, size, 3)) + 100 * label
            cv2.imwrite(str(folder / f"frame{frame}_face1.jpg"), img.astype(np.uint8))
        tubes.append((f"part0/vid{i}/frame%d_face1.jpg", label))
    return tubes


def write_list(path: Path, tubes: list[tuple[str, int]], start: int, stride: int, count: int):
    path.write_text("".join(f"{p} {start} {stride} {count} {label}\n" for p, label in tubes))
    return path


def make_data(root: Path) -> dict[str, Path]:
    """Crops plus image and video train/val lists under ``root``."""
    crops = root / "crops"
    tubes = write_crops(crops)
    return {
        "crops": crops,
        "image_train": write_list(root / "image_train.txt", tubes, 1, 2, 4),
        "image_val": write_list(root / "image_val.txt", tubes, 2, 3, 2),
        "video_train": write_list(root / "video_train.txt", tubes, 1, 1, 8),
        "video_val": write_list(root / "video_val.txt", tubes, 1, 1, 8),
    }


def tiny_image_cfg(**changes) -> ModelConfig:
    block = {
        "kind": "image",
        "arch": "tiny_bn_drop",
        "input_size": 24,
        "colour": "RGB",
        "normalisation": "imagenet",
        "batch_size": 4,
        "gpus": 1,
        "base_lr": 0.01,
        "warmup_lr": 0.05,
        "warmup_iters": 3,
        **seed_optimiser(),
        "aug_min_scale": 0.88,
        "lr_steps": [6, 9],
        "max_iter": 12,
        "split": "test",
        "aug": "A",
        "val_every": 4,
        "num_workers": 0,
        "log_every": 2,
    }
    block.update(changes)
    return ModelConfig.from_dict("tiny", block)


def tiny_video_cfg(**changes) -> ModelConfig:
    block = {
        "kind": "video",
        "arch": "tiny3d",
        "input_size": 16,
        "colour": "RGB",
        "normalisation": "imagenet",
        "batch_size": 2,
        "gpus": 1,
        "base_lr": 0.01,
        "warmup_lr": 0.05,
        "warmup_iters": 2,
        **seed_optimiser(),
        "aug_min_scale": 0.88,
        "lr_steps": [3],
        "max_iter": 4,
        "split": "test",
        "aug": "V",
        "aug_extra": True,
        "clip_frames": 4,
        "sample_step": 2,
        "val_every": 2,
        "num_workers": 0,
    }
    block.update(changes)
    return ModelConfig.from_dict("tiny_video", block)
