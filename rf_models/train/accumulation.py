"""How one optimiser step covers the seed's global batch on however many processes run.

A block's ``gpus`` is the seed's world size G: each of its iterations trained on G batches of
``batch_size`` (one per GPU), averaged by DDP and, by default, divided by G once more (the
seed's loss division). A run on W processes plays those G ranks with gradient accumulation:
each process runs the micro-batches of G / W of the seed's ranks (uneven when W does not divide
G), and scales each micro-batch's loss so that the step sees the same gradient as the seed's.
Each micro-batch keeps the seed's per-GPU batch, so BatchNorm normalises over the same number of
samples as on the seed's GPUs; only the micro-batch of the seed's rank 0 updates BatchNorm's
running statistics, as DDP keeps rank 0's buffers.

A check on a CPU may run fewer micro-batches per step (k < G); the learning rate is then scaled
by k / G, the linear scaling rule for a global batch k / G the seed's.
"""

from __future__ import annotations

from dataclasses import dataclass

from rf_models.train.sampler import virtual_ranks


@dataclass(frozen=True)
class StepPlan:
    seed_world_size: int  # G: the block's gpus
    world_size: int  # W: processes in this run
    micro_batches: int  # k: micro-batches per step over all processes (G unless reduced)
    ranks: tuple[int, ...]  # the seed's ranks this process plays, one micro-batch each
    batch_size: int  # per micro-batch (the seed's per-GPU batch)
    divide: bool  # the seed's extra loss division by G

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.micro_batches

    @property
    def lr_factor(self) -> float:
        """Multiplies the configured learning rate: 1 unless fewer micro-batches than G run."""
        return self.micro_batches / self.seed_world_size

    @property
    def loss_scale(self) -> float:
        """Multiplies each micro-batch's mean loss: DDP divides the summed gradients by W, so
        W / k makes the step's gradient the mean over all k micro-batches; 1 / G on top is
        the seed's division."""
        scale = self.world_size / self.micro_batches
        return scale / self.seed_world_size if self.divide else scale

    def effective_lr(self, lr: float) -> float:
        """The step size on the gradient of the mean loss over the global batch."""
        lr = lr * self.lr_factor
        return lr / self.seed_world_size if self.divide else lr

    def describe(self, base_lr: float, warmup_lr: float) -> str:
        """One log line: the global batch and the effective learning rate."""
        per_process = (
            f"{len(self.ranks)}" if self.micro_batches % self.world_size == 0 else "uneven"
        )
        text = (
            f"global batch {self.global_batch} = {self.batch_size} per micro-batch x "
            f"{self.micro_batches} micro-batches ({self.world_size} process(es), "
            f"{per_process} accumulated per process; the seed: {self.seed_world_size} GPUs); "
            f"effective learning rate {self.effective_lr(base_lr):.6g} -> "
            f"{self.effective_lr(warmup_lr):.6g} on the global-batch mean gradient"
        )
        if self.divide:
            text += f" (configured / {self.seed_world_size}: the seed's loss division)"
        if self.micro_batches < self.seed_world_size:
            text += (
                f"; {self.micro_batches} of the seed's {self.seed_world_size} micro-batches "
                f"per step: learning rate scaled by {self.lr_factor:.6g} (linear rule)"
            )
        return text


def plan_steps(
    gpus: int,
    world_size: int,
    rank: int,
    batch_size: int,
    divide: bool,
    micro_batches: int | None = None,
) -> StepPlan:
    """The step plan of process ``rank`` of ``world_size`` for a block with ``gpus`` (G);
    ``micro_batches`` (default G) may be lowered to W..G to run fewer per step."""
    if world_size > gpus:
        raise ValueError(
            f"the block's gpus is {gpus} (the seed's world size) and this run has {world_size} "
            f"processes: run on 1 to {gpus} processes, or raise gpus (a larger global batch)"
        )
    k = gpus if micro_batches is None else micro_batches
    if not world_size <= k <= gpus:
        raise ValueError(
            f"micro_batches must be between the number of processes ({world_size}) and the "
            f"block's gpus ({gpus}), found {k}"
        )
    return StepPlan(
        seed_world_size=gpus,
        world_size=world_size,
        micro_batches=k,
        ranks=tuple(virtual_ranks(k, world_size, rank)),
        batch_size=batch_size,
        divide=divide,
    )
