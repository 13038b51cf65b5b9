"""One tiny training run for the subprocess tests (torchrun, kill and resume).

    python tiny_train_script.py DATA_DIR OUT_DIR [--set KEY=JSON ...] [--pause-at N]

``--pause-at N``: once a checkpoint exists and iteration N is done, write OUT_DIR/paused and
sleep, so the test can SIGKILL the run at a known point. ``--pause-at-forward N``: the same at
the start of the N-th training-mode forward pass (1-based), e.g. between the accumulated
micro-batches of one iteration.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository: tests.support

import torch  # noqa: E402

from rf_models.train.loop import train_model  # noqa: E402
from tests.support.tiny_models import Tiny2d, register_tiny_archs  # noqa: E402
from tests.support.train_data import tiny_image_cfg  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--pause-at", type=int, default=None)
    p.add_argument("--pause-at-forward", type=int, default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    register_tiny_archs()
    changes = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = tiny_image_cfg(**changes)
    checkpoints = []

    def pause(where: str) -> None:
        (args.out / "paused").write_text(where)
        time.sleep(600)

    def on_iteration(it: int) -> None:
        if args.pause_at is not None and checkpoints and it >= args.pause_at:
            pause(str(it))

    forwards = 0

    def count_forwards(module: torch.nn.Module, inputs: object) -> None:
        nonlocal forwards
        if isinstance(module, Tiny2d) and module.training:
            forwards += 1
            if forwards == args.pause_at_forward:
                pause(f"forward {forwards}")

    if args.pause_at_forward is not None:
        torch.nn.modules.module.register_module_forward_pre_hook(count_forwards)

    train_model(
        cfg,
        args.data / "image_train.txt",
        args.data / "image_val.txt",
        args.data / "crops",
        args.out,
        device="cpu",
        on_iteration=on_iteration,
        on_checkpoint=lambda it, path: checkpoints.append(it),
    )


if __name__ == "__main__":
    main()
