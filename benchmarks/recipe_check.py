"""Recipe check: each model block of config.yaml trains at its real settings.

    python benchmarks/recipe_check.py [--results demo_work/results] [--split demo]
        [--models b0 sf ...] [--iterations 20] [--micro-batches K] [--device auto]

Every block runs at its true input size, clip length, class weights, augmentation,
learning-rate schedule and per-GPU batch for --iterations iterations on the demo's face crops
(run `make demo` first, or at least its lists), from random initialisation, through the real
training loop (rf_models.train.recipe). On CUDA a step is the seed's global batch (per-GPU
batch x gpus, accumulated); on a CPU, where a SlowFast step of 64 clips at 224 px takes
minutes, --micro-batches (default 1 there) runs fewer micro-batches per step and the learning
rate is scaled by the linear rule: the table prints the scale. Prints each model's seconds per
iteration on this machine and exits 1 if any recipe has a non-finite loss or does not lower
its probe loss.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from rf_models.config import validate_config
from rf_models.train.config import ModelConfig, resolve_model_block
from rf_models.train.recipe import check_recipe

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", type=Path, default=REPO / "config.yaml")
    p.add_argument("--results", type=Path, default=REPO / "demo_work" / "results")
    p.add_argument("--split", default="demo", help="the lists (of --results) to train on")
    p.add_argument("--models", nargs="*", default=None, help="default: train.models")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--micro-batches", type=int, default=None, help="default: gpus; CPU: 1")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads on CPU")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = validate_config(yaml.safe_load(args.config.read_text()))
    lists = args.results / "lists" / args.split
    crops = args.results / "faces"
    missing = [f for f in ("train_image.txt", "train_video.txt") if not (lists / f).is_file()]
    if missing or not crops.is_dir():
        print(
            f"{lists}: no training lists {missing} or no crops in {crops}: run `make demo` "
            "first (or `snakemake --profile profiles/demo <results>/lists/demo/train_video.txt`)",
            file=sys.stderr,
        )
        return 2
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    names = args.models or config["train"]["models"]
    print(
        f"recipe check: {len(names)} blocks of {args.config}, {args.iterations} iterations, "
        f"crops of {lists}, device {'cuda' if cuda else 'cpu'} ({torch.get_num_threads()} "
        "CPU threads), random initialisation"
    )
    header = (
        f"{'model':11} {'micro':>5} {'of':>3} {'batch':>5} {'lr scale':>9} {'s/it':>7} "
        f"{'loss first5':>11} {'loss last5':>10} {'probe before':>12} {'probe after':>11}  result"
    )
    print(header)
    failed = []
    with tempfile.TemporaryDirectory(prefix="recipe_check_") as tmp:
        for name in names:
            cfg = ModelConfig.from_dict(name, resolve_model_block(config, name), "config.yaml")
            cfg = cfg.with_overrides(num_workers=min(cfg.num_workers, 2))
            k = args.micro_batches or (cfg.gpus if cuda else 1)
            t0 = time.monotonic()
            r = check_recipe(
                cfg,
                lists / f"train_{cfg.kind}.txt",
                lists / f"val_{cfg.kind}.txt",
                crops,
                Path(tmp) / name,
                iterations=args.iterations,
                micro_batches=min(k, cfg.gpus),
                device="cuda" if cuda else "cpu",
            )
            first, last = r.losses[:5], r.losses[-5:]
            verdict = "ok" if r.learned else ("NOT FINITE" if not r.finite else "DID NOT LEARN")
            if not r.learned:
                failed.append(name)
            print(
                f"{name:11} {r.micro_batches:>5} {r.gpus:>3} {r.global_batch:>5} "
                f"{r.lr_factor:>9.4g} {r.seconds_per_iteration:>7.2f} "
                f"{sum(first) / len(first):>11.4f} {sum(last) / len(last):>10.4f} "
                f"{r.probe_before:>12.4f} {r.probe_after:>11.4f}  {verdict} "
                f"({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
    print(
        "micro = micro-batches per step (of = the seed's gpus); batch = global batch; lr scale "
        "= learning-rate factor by the linear rule (micro / gpus); probe = class-weighted "
        "loss of a fixed set of training items before and after the run"
    )
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
