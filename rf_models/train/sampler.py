"""Iteration-based deterministic distributed sampler (docs/reproduction.md §6).

The whole run's sample order is fixed up front: the dataset indices are shuffled with a fixed
seed, cut or tiled to ``iterations * batch_size * world_size`` and shuffled again (the seed's
exact procedure with numpy's legacy ``RandomState``, so seed 0 gives the seed's order). Each
entry of that global list has a *position*; the position, not the rank, seeds the sample's
augmentation, which makes data loading a pure function of (seed, position). The list is cut for
the seed's world size (a block's ``gpus``), whatever the number of processes: each process
plays some of the seed's ranks, one micro-batch each per iteration (gradient accumulation).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def global_index_list(
    dataset_len: int, iterations: int, batch_size: int, world_size: int, seed: int
) -> np.ndarray:
    """Dataset index for every global position of a run, all ranks together."""
    if dataset_len < 1:
        raise ValueError(f"the dataset is empty: expected at least one sample, found {dataset_len}")
    if iterations < 0 or batch_size < 1 or world_size < 1:
        raise ValueError(
            f"expected iterations >= 0, batch_size >= 1, world_size >= 1; found {iterations}, "
            f"{batch_size}, {world_size}"
        )
    total = iterations * batch_size * world_size
    rng = np.random.RandomState(seed)
    indices = np.arange(dataset_len, dtype=np.int64)
    rng.shuffle(indices)
    indices = indices[:total]
    indices = np.tile(indices, -(-total // len(indices)) if total else 0)[:total]
    rng.shuffle(indices)
    return indices


def virtual_ranks(seed_world_size: int, world_size: int, rank: int) -> list[int]:
    """The seed's ranks that process ``rank`` of ``world_size`` plays, one micro-batch each.

    A block's ``gpus`` is the seed's world size G. On W <= G processes, process r plays a
    contiguous block of the G ranks (``numpy.array_split`` order: 0..A-1 on process 0), so
    every iteration still trains on the seed's G micro-batches, whatever W is.
    """
    if not 1 <= world_size <= seed_world_size:
        raise ValueError(
            f"the block's gpus is {seed_world_size} (the seed's world size) and this run has "
            f"{world_size} processes: run on 1 to {seed_world_size} processes"
        )
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), found {rank}")
    return [int(v) for v in np.array_split(np.arange(seed_world_size), world_size)[rank]]


def batch_positions(iteration: int, iterations: int, batch_size: int, rank: int) -> np.ndarray:
    """Global positions of the seed's rank ``rank`` batch at ``iteration``: rank r owns
    positions [r * iterations * b, (r + 1) * iterations * b) and walks them in order."""
    start = rank * iterations * batch_size + iteration * batch_size
    return np.arange(start, start + batch_size, dtype=np.int64)


class IterationBatchSampler:
    """Yields, for each iteration from ``start_iter`` to ``iterations - 1``, one micro-batch
    per rank in ``ranks`` (the seed's ranks this process plays, see :func:`virtual_ranks`).

    Each micro-batch is a list of ``(dataset_index, position)`` pairs; the dataset uses the
    position to seed the sample's augmentation. Resuming at ``start_iter`` skips
    ``start_iter * batch_size`` entries of each rank's sequence, as the seed did.
    """

    def __init__(
        self,
        dataset_len: int,
        iterations: int,
        batch_size: int,
        *,
        world_size: int = 1,
        ranks: list[int] | tuple[int, ...] = (0,),
        seed: int = 0,
        start_iter: int = 0,
    ) -> None:
        if not ranks or any(not 0 <= r < world_size for r in ranks):
            raise ValueError(f"ranks must be in [0, {world_size}), found {list(ranks)}")
        if not 0 <= start_iter <= iterations:
            raise ValueError(f"start_iter must be in [0, {iterations}], found {start_iter}")
        self.iterations = iterations
        self.batch_size = batch_size
        self.world_size = world_size
        self.ranks = tuple(ranks)
        self.start_iter = start_iter
        self._indices = global_index_list(dataset_len, iterations, batch_size, world_size, seed)

    def __len__(self) -> int:
        return (self.iterations - self.start_iter) * len(self.ranks)

    def batch(self, iteration: int, rank: int) -> list[tuple[int, int]]:
        pos = batch_positions(iteration, self.iterations, self.batch_size, rank)
        return [(int(self._indices[p]), int(p)) for p in pos]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for iteration in range(self.start_iter, self.iterations):
            for rank in self.ranks:
                yield self.batch(iteration, rank)
