"""Validation: sharded forward passes, gathered logits, loss and AUC."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, Dataset

from rf_models.train.distributed import DistContext
from rf_models.train.loader import loader_options


@dataclass(frozen=True)
class ValMetrics:
    loss: float  # class-weighted cross-entropy, the training criterion (weighted mean)
    auc: float  # ROC AUC of P(FAKE); NaN when undefined
    logloss: float  # unweighted cross-entropy
    count: int  # samples scored
    skipped: int  # unreadable samples left out


def compute_val_metrics(
    logits: torch.Tensor, labels: torch.Tensor, class_weights: Sequence[float]
) -> tuple[float, float, float, int]:
    """(weighted CE, AUC, unweighted CE, count) over rows with a label >= 0; NaN-safe."""
    keep = labels >= 0
    logits, labels = logits[keep].double(), labels[keep].long()
    if labels.numel() == 0:
        return math.nan, math.nan, math.nan, 0
    weight = torch.tensor(class_weights, dtype=torch.float64)
    loss = F.cross_entropy(logits, labels, weight=weight).item()
    logloss = F.cross_entropy(logits, labels).item()
    prob = torch.softmax(logits, dim=1)[:, 1].numpy()
    auc = math.nan
    y = labels.numpy()
    if np.isfinite(prob).all() and 0 < y.sum() < len(y):
        auc = float(roc_auc_score(y, prob))
    return loss, auc, logloss, int(labels.numel())


def shard_indices(n: int, rank: int, world_size: int) -> list[int]:
    """Rank ``rank``'s share of ``n`` validation items (every world_size-th, no padding)."""
    return list(range(rank, n, world_size))


def run_validation(
    model: nn.Module,
    dataset: Dataset,
    ctx: DistContext,
    *,
    batch_size: int,
    num_workers: int,
    class_weights: Sequence[float],
    amp: bool,
    memory_format: torch.memory_format,
) -> ValMetrics:
    """Score this rank's shard, gather every rank's logits, compute the metrics on all ranks."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=shard_indices(len(dataset), ctx.rank, ctx.world_size),
        pin_memory=ctx.device.type == "cuda",
        **loader_options(num_workers),
        # A private generator: creating the loader must not consume the global torch RNG.
        generator=torch.Generator(),
    )
    was_training = model.training
    model.eval()
    rows = []
    skipped = 0
    autocast = torch.autocast("cuda", dtype=torch.float16) if amp else contextlib.nullcontext()
    with torch.no_grad(), autocast:
        for x, y, bad in loader:
            x = x.to(ctx.device, non_blocking=True).contiguous(memory_format=memory_format)
            out = model(x).float().cpu()
            rows.append(torch.cat([out.double(), y.double()[:, None]], dim=1))
            skipped += int(bad.sum())
    model.train(was_training)
    local = torch.cat(rows) if rows else torch.zeros((0, 3), dtype=torch.float64)
    gathered = ctx.gather_rows(local)
    total_skipped = int(ctx.sum([float(skipped)])[0])
    loss, auc, logloss, count = compute_val_metrics(
        gathered[:, :2], gathered[:, 2].round().long(), class_weights
    )
    return ValMetrics(loss, auc, logloss, count, total_skipped)
