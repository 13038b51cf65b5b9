"""How scoring's forward passes and memory format change its speed, per architecture, here.

predict_split scores the crops of consecutive videos in shared forward passes: on a CPU of
:func:`rf_models.infer.scoring.crops_per_pass` images (mirrors included) or
:func:`~rf_models.infer.scoring.clips_per_pass` clips, channels-last; on CUDA of the eval
batch. This script times, for each model block of a configuration (the demo's by default,
random weights, its inference size), the former way (the eval batch of one face's 32 crops,
one clip at a time, contiguous) against the current one on the CPU, and prints crops (clips)
per second: former, passes alone, passes and channels-last, and the ratio of the last to the
first. Timings on a shared machine vary by 10-30% from run to run: compare ratios of one run.

Usage: python benchmarks/scoring_passes.py [--config profiles/demo/demo-config.yaml]
           [--only b0,xcep,sf] [--threads 2] [--clip-frames 32] [--seconds 2]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rf_models.config import read_config_files
from rf_models.infer.scoring import (
    LoadedModel,
    _forward,
    _to_tensor,
    clip_logits,
    clips_logits,
    image_logits,
    infer_size,
)
from rf_models.models.factory import create_model
from rf_models.train.config import ModelConfig, resolve_model_block

REPO = Path(__file__).resolve().parents[1]


def _rate(score, count: int, seconds: float) -> float:
    """Items per second of ``score()`` (which scores ``count`` items), after a warm-up."""
    score()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        score()
        runs += 1
    return count * runs / (time.perf_counter() - start)


def _loaded(name: str, block: dict) -> tuple[LoadedModel, LoadedModel, LoadedModel]:
    """The block's architecture with random weights, three ways: contiguous as scoring ran it
    on a CPU before (twice: former passes and current ones), and as it runs it now
    (channels-last)."""
    cfg = ModelConfig.from_dict(name, block, source=name)
    model = create_model(cfg.arch, num_classes=2, init=None).eval()
    fmt = torch.channels_last if cfg.kind == "image" else torch.channels_last_3d
    current = copy.deepcopy(model).to(memory_format=fmt)
    cpu = torch.device("cpu")
    return (
        LoadedModel(name, cfg, _Contiguous(model), cpu),
        LoadedModel(name, cfg, _Contiguous(model), cpu),
        LoadedModel(name, cfg, current, cpu),
    )


class _Contiguous(torch.nn.Module):
    """A model fed contiguous input whatever the format scoring gave it."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.contiguous())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="profiles/demo/demo-config.yaml")
    parser.add_argument("--only", default="")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clip-frames", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = read_config_files([REPO / "config.yaml", REPO / args.config])
    names = [n for n in config["train"]["models"] if not args.only or n in args.only.split(",")]
    rng = np.random.default_rng(0)
    print(
        f"{'model':<12}{'side':>6}{'former /s':>11}{'passes /s':>11}{'+ c-last /s':>12}{'ratio':>7}"
    )
    for name in names:
        block = resolve_model_block(config, name)
        former_lm, passes_lm, lm = _loaded(name, block)
        side = infer_size(lm.cfg)
        if lm.cfg.kind == "image":
            crops = rng.integers(0, 256, (128, side, side, 3), dtype=np.uint8)
            count = len(crops)

            def former(crops=crops, lm=former_lm) -> None:
                for start in range(0, len(crops), 32):  # one face's 32 frames at a time
                    face = crops[start : start + 32]
                    for i in range(0, len(face), lm.cfg.eval_batch_size):
                        _forward(lm, _to_tensor(face[i : i + lm.cfg.eval_batch_size], lm.cfg))

            def current(crops=crops, lm=lm) -> None:
                image_logits(lm, crops)
        else:
            clips = [
                rng.integers(0, 256, (args.clip_frames, side, side, 3), dtype=np.uint8)
                for _ in range(8)
            ]
            count = len(clips)

            def former(clips=clips, lm=former_lm) -> None:
                for clip in clips:
                    clip_logits(lm, clip)

            def current(clips=clips, lm=lm) -> None:
                clips_logits(lm, clips)

        rates = [
            _rate(former, count, args.seconds),
            _rate(lambda current=current, m=passes_lm: current(lm=m), count, args.seconds),
            _rate(current, count, args.seconds),
        ]
        print(
            f"{name:<12}{side:>6}{rates[0]:>11.1f}{rates[1]:>11.1f}{rates[2]:>12.1f}"
            f"{rates[2] / rates[0]:>7.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
