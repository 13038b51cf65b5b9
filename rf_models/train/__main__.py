"""Command line: ``python -m rf_models.train --config config.yaml --model b0 ...``.

The same command runs as one process, under ``torchrun --nproc-per-node N`` or under
``srun`` (one task per GPU); see ``rf_models.train.distributed``. ``--launcher srun --tasks N``
starts the N ranks itself (``srun -n N`` of this command), as the workflow's train_model rule
does under the Slurm profile (its ``mpi`` resource); ``--launcher none`` trains here.
"""

from __future__ import annotations

import argparse
import logging
import os
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
    p.add_argument(
        "--launcher",
        default="none",
        help="none: train in this process; else a launcher taking -n (srun) that starts "
        "--tasks ranks of this command",
    )
    p.add_argument("--tasks", type=int, default=1, help="ranks the launcher starts")
    return p.parse_args(argv)


def launch_command(args: argparse.Namespace) -> list[str]:
    """``<launcher> -n <tasks> python -m rf_models.train ...`` with the same arguments, each
    rank training in its own process (``--launcher none``)."""
    if args.tasks < 1:
        raise ValueError(f"--tasks: expected at least 1 rank, found {args.tasks}")
    own = ["--config", args.config, "--model", args.model, "--section", args.section]
    own += ["--train-list", args.train_list, "--val-list", args.val_list]
    own += ["--crops", args.crops, "--out", args.out, "--device", args.device]
    if args.max_iter is not None:
        own += ["--max-iter", str(args.max_iter)]
    if args.dist_init is not None:
        own += ["--dist-init", args.dist_init]
    rank = [sys.executable, "-m", "rf_models.train", *own, "--launcher", "none"]
    return [args.launcher, "-n", str(args.tasks), *rank]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.launcher != "none":
        command = launch_command(args)
        os.execvp(command[0], command)  # the ranks replace this process: one job, one log
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
