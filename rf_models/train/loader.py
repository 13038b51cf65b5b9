"""DataLoader worker settings shared by training and validation."""

from __future__ import annotations

import cv2
import torch


def _worker_init(_: int) -> None:
    # Workers decode with OpenCV; one thread each avoids oversubscribing the cores.
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def loader_options(num_workers: int) -> dict:
    """DataLoader worker options. Workers are spawned, not forked: a fork taken while
    OpenCV's or torch's thread pools are alive can deadlock the child."""
    if num_workers == 0:
        return {"num_workers": 0}
    return {
        "num_workers": num_workers,
        "multiprocessing_context": "spawn",
        "worker_init_fn": _worker_init,
    }
