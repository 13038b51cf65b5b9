"""Command line: ``python -m rf_models.train --config config.yaml --model b0 ...``.

The same command runs as one process, under ``torchrun --nproc-per-node N`` or under
``srun`` (one task per GPU); see ``rf_models.train.distributed``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rf_models.train.config import load_model_config
from rf_models.train.distributed import detect_launch
from rf_models.train.loop import train_model
from rf_models.workflow import configure_logging


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m rf_models.train", description=__doc__)
    p.add_argument("--config", required=True, help="YAML file with the model blocks")
    p.add_argument("--model", required=True, help="model block name, e.g. b0 or sf")
    p.add_argument("--section", default="models", help="dotted path of the model blocks")
    p.add_argument("--train-list", required=True)
    p.add_argument("--val-list", required=True)
    p.add_argument("--crops", required=True, help="root of the aligned face crops")
    p.add_argument("--out", required=True, help="output directory (resumes from last.pt)")
    p.add_argument("--max-iter", type=int, default=None, help="override max_iter")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--dist-init", default=None, help="rendezvous URL, e.g. file:///shared/x")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank = detect_launch().rank
    configure_logging(rank=rank)
    cfg = load_model_config(args.config, args.model, args.section)
    result = train_model(
        cfg,
        args.train_list,
        args.val_list,
        args.crops,
        args.out,
        max_iter_override=args.max_iter,
        device=args.device,
        dist_init_method=args.dist_init,
    )
    if rank == 0:
        logging.getLogger("rf_models.train").info(
            "best checkpoint %s (iteration %d, val loss %.4f)",
            result.best_checkpoint,
            result.best_iteration,
            result.best_val_loss,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
