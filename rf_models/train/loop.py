"""The training loop: iteration-based SGD with validation, checkpoints and automatic resume.

Everything a resumed run needs to continue exactly is in ``last.pt``: weights, optimiser and
scaler state, the last trained iteration (the sampler's position), the best validation loss,
the metrics history and the RNG states. Data loading is a pure function of (seed, sample
position) and the global torch RNG (dropout, drop-path) is reseeded from (seed, iteration,
rank) before every iteration, so a run killed at any point and re-run ends with the same
weights as an uninterrupted one (bit for bit on CPU).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from rf_models.models.factory import create_model
from rf_models.progress import Progress
from rf_models.train.accumulation import plan_steps
from rf_models.train.checkpoint import (
    FORMAT,
    capture_rng,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
)
from rf_models.train.config import INFERENCE_ONLY_KEYS, ModelConfig
from rf_models.train.curves import plot_curves, write_metrics_csv
from rf_models.train.datasets import build_dataset
from rf_models.train.distributed import DistContext, init_distributed, shutdown
from rf_models.train.loader import loader_options
from rf_models.train.model import bn_statistics_frozen, set_bn_momentum
from rf_models.train.sampler import IterationBatchSampler
from rf_models.train.schedule import config_lr, set_lr
from rf_models.train.transforms import build_transforms
from rf_models.train.validation import ValMetrics, run_validation

log = logging.getLogger("rf_models.train")

LAST, BEST, METRICS, CURVES = "last.pt", "best.pt", "metrics.csv", "curves.png"


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    metrics_csv: Path
    curves_png: Path
    best_iteration: int
    best_val_loss: float
    last_iteration: int
    resumed_from: int | None  # last iteration of the checkpoint resumed from
    skipped_train: int
    skipped_val: int
    dropped_lines: int  # list lines with count <= 0, train + val


def class_weighted_loss(
    logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor
) -> torch.Tensor:
    """Weighted cross-entropy: the weighted mean over the batch (torch's default), as each of
    the seed's GPUs computed it over its own batch."""
    return nn.functional.cross_entropy(logits.float(), target, weight=class_weights)


def iteration_seed(seed: int, iteration: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, iteration, rank]).generate_state(1, np.uint64)[0])


def is_validation_iteration(iteration: int, val_every: int, max_iter: int) -> bool:
    """The seed validated after iteration it when it > 0 and it % val_every == 0; we also
    validate after the last iteration."""
    return (iteration > 0 and iteration % val_every == 0) or iteration == max_iter - 1


# Keys that change how a run is carried out, or only inference: a resume ignores them.
RUNTIME_ONLY_KEYS = (
    frozenset(
        {"num_workers", "log_every", "ckpt_every", "val_batch_size", "dist_init_method", "skip_bad"}
    )
    | INFERENCE_ONLY_KEYS
)


def run_signature(cfg: ModelConfig, micro_batches: int, train_len: int) -> dict[str, Any]:
    """Every setting that shapes the result: a resume must match all of them. The number of
    processes is not one of them: any split of the seed's micro-batches trains the same."""
    settings = {k: v for k, v in cfg.to_dict().items() if k not in RUNTIME_ONLY_KEYS}
    return {**settings, "micro_batches": micro_batches, "train_items": train_len}


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


class _Trainer:
    """State of one run; ``train_model`` is the public entry point."""

    def __init__(
        self,
        cfg: ModelConfig,
        ctx: DistContext,
        train_list: Path,
        val_list: Path,
        crops_root: Path,
        out_dir: Path,
        micro_batches: int | None = None,
    ) -> None:
        self.cfg, self.ctx, self.out = cfg, ctx, out_dir
        self.plan = plan_steps(
            cfg.gpus,
            ctx.world_size,
            ctx.rank,
            cfg.batch_size,
            cfg.loss_world_size_division,
            micro_batches,
        )
        cuda = ctx.device.type == "cuda"
        self.amp = cfg.amp and cuda
        fmt_4d, fmt_5d = torch.channels_last, torch.channels_last_3d
        # on CPU too: oneDNN trains some networks faster in channels-last, others slower
        # (benchmarks/train_speed.py --memory-format both); a block can turn it off
        self.memory_format = (
            (fmt_4d if cfg.kind == "image" else fmt_5d)
            if cfg.channels_last
            else torch.contiguous_format
        )
        train_tf, eval_tf = build_transforms(cfg)
        self.train_ds = build_dataset(cfg, train_list, crops_root, train_tf, train=True)
        self.val_ds = build_dataset(cfg, val_list, crops_root, eval_tf, train=False)
        self.signature = run_signature(cfg, self.plan.micro_batches, len(self.train_ds))

        torch.manual_seed(cfg.seed)
        model = create_model(cfg.arch, num_classes=2, init=cfg.init)
        if cfg.bn_momentum is not None:
            set_bn_momentum(model, cfg.bn_momentum)
        self.model = model.to(ctx.device, memory_format=self.memory_format)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=cfg.base_lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            nesterov=cfg.nesterov,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.class_weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=ctx.device)

        self.start_iter = 0
        self.resumed_from: int | None = None
        self.best_val_loss = math.inf
        self.best_iteration = -1
        self.history: list[dict[str, Any]] = []
        # Global counts (all ranks) as of the last sync; train_local counts this process's
        # replacements since the start or the resume.
        self.skipped = {"train": 0, "val": 0}
        self._skipped_train_base = 0
        self._skipped_train_local = 0

    # -- resume -------------------------------------------------------------------------
    def resume(self) -> None:
        path = self.out / LAST
        if not path.exists():
            return
        state = load_checkpoint(path)
        if state["run"] != self.signature:
            # The settings changed (Snakemake re-runs the job for that): start over, keeping
            # the old checkpoints beside the new ones rather than resuming them.
            diff = {
                k: (state["run"].get(k), v)
                for k, v in self.signature.items()
                if state["run"].get(k) != v
            }
            log.warning(
                "%s was written by a different run; (checkpoint, this run) differ in %s: "
                "starting over, old checkpoints renamed *.stale.pt",
                path,
                diff,
            )
            self.ctx.barrier()
            if self.ctx.is_main:
                for name in (LAST, BEST):
                    if (self.out / name).exists():
                        os.replace(self.out / name, self.out / name.replace(".pt", ".stale.pt"))
            self.ctx.barrier()
            return
        _unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler.is_enabled() and state["scaler"]:
            # Empty when the checkpoint came from a run without AMP (e.g. on a CPU).
            self.scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"])
        self.start_iter = state["iteration"] + 1
        self.resumed_from = state["iteration"]
        self.best_val_loss = state["best_val_loss"]
        self.best_iteration = state["best_iteration"]
        self.history = list(state["history"])
        self.skipped = dict(state["skipped"])
        self._skipped_train_base = self.skipped["train"]
        if self.ctx.is_main:
            log.info("resumed from %s at iteration %d", path, self.start_iter)
        if self.best_iteration >= 0 and not (self.out / BEST).exists():
            # Snakemake deletes a failed job's declared outputs (best.pt) but not last.pt.
            if self.start_iter >= self.cfg.max_iter:
                log.warning(
                    "%s is missing and training is finished: writing the final weights as best",
                    self.out / BEST,
                )
                self.best_iteration = state["iteration"]
                if self.ctx.is_main:
                    save_checkpoint(
                        {**state, "best_iteration": state["iteration"]}, self.out / BEST
                    )
            else:
                log.warning(
                    "%s is missing: best-by-validation tracking restarts at iteration %d",
                    self.out / BEST,
                    self.start_iter,
                )
                self.best_val_loss, self.best_iteration = math.inf, -1

    # -- checkpoints and reports --------------------------------------------------------
    def _state(self, iteration: int, lr: float) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "arch": self.cfg.arch,
            "kind": self.cfg.kind,
            "config": self.cfg.to_dict(),
            "run": self.signature,
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "scheduler": {"iteration": iteration, "lr": lr},
            "iteration": iteration,
            "best_val_loss": self.best_val_loss,
            "best_iteration": self.best_iteration,
            "history": self.history,
            "skipped": dict(self.skipped),
            "rng": capture_rng(),
        }

    def save(self, iteration: int, lr: float, is_best: bool) -> None:
        if not self.ctx.is_main:
            return
        state = self._state(iteration, lr)
        # best before last: a kill in between leaves a last.pt whose best is on disk.
        if is_best:
            save_checkpoint(state, self.out / BEST)
        save_checkpoint(state, self.out / LAST)
        self.write_reports()

    def write_reports(self) -> None:
        if self.ctx.is_main:
            write_metrics_csv(self.history, self.out / METRICS)
            plot_curves(self.history, self.out / CURVES, title=f"{self.cfg.name} ({self.cfg.arch})")

    # -- training -----------------------------------------------------------------------
    def _train_loader(self) -> DataLoader:
        sampler = IterationBatchSampler(
            len(self.train_ds),
            self.cfg.max_iter,
            self.cfg.batch_size,
            world_size=self.plan.micro_batches,
            ranks=self.plan.ranks,
            seed=self.cfg.seed,
            start_iter=self.start_iter,
        )
        return DataLoader(
            self.train_ds,
            batch_sampler=sampler,
            pin_memory=self.ctx.device.type == "cuda",
            persistent_workers=self.cfg.num_workers > 0,
            **loader_options(self.cfg.num_workers),
            # A private generator: creating the loader must not consume the global torch RNG.
            generator=torch.Generator(),
        )

    def validate(self) -> ValMetrics:
        # Every rank validates a shard with the model rank 0 saves.
        self.ctx.broadcast_buffers(self.model)
        return run_validation(
            self.model,
            self.val_ds,
            self.ctx,
            batch_size=self.cfg.eval_batch_size,
            num_workers=self.cfg.num_workers,
            class_weights=self.cfg.class_weights,
            amp=self.amp,
            memory_format=self.memory_format,
        )

    def run(
        self,
        on_iteration: Callable[[int], None] | None,
        on_checkpoint: Callable[[int, Path], None] | None,
    ) -> None:
        cfg, ctx = self.cfg, self.ctx
        model = self.model
        if ctx.distributed:
            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            model = DistributedDataParallel(self.model, device_ids=device_ids)
        model.train()
        progress = Progress(
            f"train {cfg.name}",
            cfg.max_iter,
            self.start_iter,
            unit="iteration",
            every=cfg.log_every,
            enabled=ctx.is_main,
            logger=log,
        )
        window_loss, window_n = 0.0, 0
        batches = iter(self._train_loader())
        autocast = (
            (lambda: torch.autocast("cuda", dtype=torch.float16))
            if self.amp
            else contextlib.nullcontext
        )
        t0 = time.monotonic()
        last_micro = len(self.plan.ranks) - 1
        with progress:
            for it in range(self.start_iter, cfg.max_iter):
                lr = config_lr(cfg, it) * self.plan.lr_factor
                set_lr(self.optimizer, lr)
                self.optimizer.zero_grad(set_to_none=True)
                step_loss = 0.0
                for j, seed_rank in enumerate(self.plan.ranks):
                    # Dropout and drop-path draw from (iteration, the seed's rank): the same
                    # masks whatever the number of processes.
                    torch.manual_seed(iteration_seed(cfg.seed, it, seed_rank))
                    x, y, bad = next(batches)
                    x = x.to(ctx.device, non_blocking=True)
                    x = x.contiguous(memory_format=self.memory_format)
                    y = y.to(ctx.device, non_blocking=True)
                    # DDP all-reduces the gradients once per step, after the last micro-batch.
                    accumulate = ctx.distributed and j < last_micro
                    with (
                        model.no_sync() if accumulate else contextlib.nullcontext(),
                        bn_statistics_frozen(self.model, frozen=seed_rank != 0),
                    ):
                        with autocast():
                            logits = model(x)
                        loss = class_weighted_loss(logits, y, self.class_weights)
                        self.scaler.scale(loss * self.plan.loss_scale).backward()
                    step_loss += loss.item()
                    self._skipped_train_local += int(bad.sum())
                self.scaler.step(self.optimizer)
                self.scaler.update()

                window_loss += step_loss
                window_n += len(self.plan.ranks)
                progress.advance(loss=step_loss / len(self.plan.ranks), lr=lr)

                validating = is_validation_iteration(it, cfg.val_every, cfg.max_iter)
                if validating or (it + 1) % cfg.log_every == 0:
                    total, n, skipped = ctx.sum(
                        [window_loss, float(window_n), float(self._skipped_train_local)]
                    )
                    self.skipped["train"] = self._skipped_train_base + int(skipped)
                    row = {
                        "iteration": it,
                        "lr": lr,
                        "train_loss": total / n,
                        "val_loss": math.nan,
                        "val_auc": math.nan,
                        "val_logloss": math.nan,
                        "skipped_train": self.skipped["train"],
                        "skipped_val": self.skipped["val"],
                    }
                    window_loss, window_n = 0.0, 0
                    self.history.append(row)
                if validating:
                    self._validate_and_save(it, lr, progress, on_checkpoint)
                elif cfg.ckpt_every and (it + 1) % cfg.ckpt_every == 0:
                    local = float(self._skipped_train_local)
                    self.skipped["train"] = self._skipped_train_base + int(ctx.sum([local])[0])
                    self.save(it, lr, is_best=False)
                    if on_checkpoint is not None and ctx.is_main:
                        on_checkpoint(it, self.out / LAST)
                if on_iteration is not None:
                    on_iteration(it)
        if ctx.is_main and cfg.max_iter > self.start_iter:
            done = cfg.max_iter - self.start_iter
            log.info("trained %d iterations in %.1f s", done, time.monotonic() - t0)

    def _validate_and_save(
        self,
        it: int,
        lr: float,
        progress: Progress,
        on_checkpoint: Callable[[int, Path], None] | None,
    ) -> None:
        metrics = self.validate()
        self.skipped["val"] = metrics.skipped
        row = self.history[-1]
        row.update(
            val_loss=metrics.loss,
            val_auc=metrics.auc,
            val_logloss=metrics.logloss,
            skipped_val=metrics.skipped,
        )
        first = self.best_iteration < 0
        is_best = first or metrics.loss < self.best_val_loss
        if is_best:
            self.best_val_loss = metrics.loss if not math.isnan(metrics.loss) else math.inf
            self.best_iteration = it
        progress.write(
            f"val @ {it}: loss {metrics.loss:.4f} auc {metrics.auc:.4f} logloss "
            f"{metrics.logloss:.4f} on {metrics.count} samples"
            + (f", {metrics.skipped} unreadable left out" if metrics.skipped else "")
            + (" (best)" if is_best else "")
        )
        self.save(it, lr, is_best=is_best)
        if on_checkpoint is not None and self.ctx.is_main:
            on_checkpoint(it, self.out / LAST)


def train_model(
    cfg: ModelConfig,
    train_list: str | os.PathLike,
    val_list: str | os.PathLike,
    crops_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    max_iter_override: int | None = None,
    device: str = "auto",
    dist_init_method: str | None = None,
    on_iteration: Callable[[int], None] | None = None,
    on_checkpoint: Callable[[int, Path], None] | None = None,
    micro_batches: int | None = None,
) -> TrainResult:
    """Train one model; resume from ``out_dir/last.pt`` when it exists.

    Each iteration trains on the seed's global batch, ``batch_size`` x ``gpus``, accumulated
    over this run's processes (see ``rf_models.train.accumulation``); ``micro_batches`` below
    ``gpus`` runs fewer micro-batches per step with the learning rate scaled by the linear rule
    (for checks on small machines).

    Writes ``last.pt`` (every validation, and every ``ckpt_every`` iterations), ``best.pt``
    (lowest validation loss), ``metrics.csv`` and ``curves.png`` into ``out_dir``, on rank 0
    only. Works as a single process or under torchrun / srun (see ``distributed``).
    ``on_iteration(it)`` runs after each iteration, ``on_checkpoint(it, path)`` after each
    checkpoint on rank 0.
    """
    if max_iter_override is not None:
        cfg = cfg.with_overrides(max_iter=max_iter_override)
    out = Path(out_dir)
    ctx = init_distributed(device, dist_init_method or cfg.dist_init_method)
    # every rank says where it runs: the proof, in a Slurm log, that the ranks form one group
    log.info(
        "rank %d of %d (local rank %d), backend %s, device %s, Slurm job %s",
        ctx.rank,
        ctx.world_size,
        ctx.launch.local_rank,
        ctx.backend,
        ctx.device,
        os.environ.get("SLURM_JOB_ID", "-"),
    )
    try:
        if cfg.deterministic:
            # cuBLAS needs a fixed workspace for deterministic results (CUDA docs).
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        elif ctx.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if ctx.is_main:
            out.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(out, (LAST, BEST, METRICS, CURVES))
        ctx.barrier()
        trainer = _Trainer(
            cfg, ctx, Path(train_list), Path(val_list), Path(crops_root), out, micro_batches
        )
        trainer.resume()
        if ctx.is_main:
            log.info(
                "%s (%s): %d training items, %d validation items, %d process(es) on %s, "
                "iterations %d..%d",
                cfg.name,
                cfg.arch,
                len(trainer.train_ds),
                len(trainer.val_ds),
                ctx.world_size,
                ctx.device,
                trainer.start_iter,
                cfg.max_iter - 1,
            )
            log.info("%s", trainer.plan.describe(cfg.base_lr, cfg.warmup_lr))
            log.info("initial weights: %s", cfg.init or "random")
            dropped = trainer.train_ds.dropped_lines + trainer.val_ds.dropped_lines
            if dropped:
                log.warning("%d list line(s) with count <= 0 dropped", dropped)
        if trainer.start_iter < cfg.max_iter:
            trainer.run(on_iteration, on_checkpoint)
        if ctx.is_main and not ((out / METRICS).exists() and (out / CURVES).exists()):
            trainer.write_reports()
        ctx.barrier()
        if trainer.skipped["train"] or trainer.skipped["val"]:
            if ctx.is_main:
                log.warning(
                    "unreadable samples: %d training samples replaced, %d validation samples "
                    "left out",
                    trainer.skipped["train"],
                    trainer.skipped["val"],
                )
        return TrainResult(
            out_dir=out,
            best_checkpoint=out / BEST,
            last_checkpoint=out / LAST,
            metrics_csv=out / METRICS,
            curves_png=out / CURVES,
            best_iteration=trainer.best_iteration,
            best_val_loss=trainer.best_val_loss,
            last_iteration=cfg.max_iter - 1,
            resumed_from=trainer.resumed_from,
            skipped_train=trainer.skipped["train"],
            skipped_val=trainer.skipped["val"],
            dropped_lines=trainer.train_ds.dropped_lines + trainer.val_ds.dropped_lines,
        )
    finally:
        shutdown(ctx)
