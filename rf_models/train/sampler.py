"""Iteration-based deterministic distributed sampler (seed-facts section 6).

The whole run's sample order is fixed up front: the dataset indices are shuffled with a fixed
seed, cut or tiled to ``iterations * batch_size * world_size`` and shuffled again (the seed's
exact procedure with numpy's legacy ``RandomState``, so seed 0 gives the seed's order). Each
entry of that global list has a *position*; the position, not the rank, seeds the sample's
augmentation, which makes data loading a pure function of (seed, position).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

LAYOUTS = ("contiguous", "interleaved")


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


def batch_positions(
    iteration: int, iterations: int, batch_size: int, world_size: int, rank: int, layout: str
) -> np.ndarray:
    """Global positions of ``rank``'s batch at ``iteration``.

    ``contiguous`` (the seed): rank r owns positions [r * iterations * b, (r + 1) *
    iterations * b) and walks them in order. ``interleaved``: iteration i of rank r takes block
    ``i * world_size + r``, so the union over ranks of an iteration's batches is the same set
    of positions for any split of a global batch over processes.
    """
    if layout == "contiguous":
        start = rank * iterations * batch_size + iteration * batch_size
    elif layout == "interleaved":
        start = (iteration * world_size + rank) * batch_size
    else:
        raise ValueError(f"sampler layout must be one of {LAYOUTS}, found {layout!r}")
    return np.arange(start, start + batch_size, dtype=np.int64)


class IterationBatchSampler:
    """Yields one batch per iteration from ``start_iter`` to ``iterations - 1`` for one rank.

    Each batch is a list of ``(dataset_index, position)`` pairs; the dataset uses the
    position to seed the sample's augmentation. Resuming at ``start_iter`` skips
    ``start_iter * batch_size`` entries of the rank's sequence, as the seed did.
    """

    def __init__(
        self,
        dataset_len: int,
        iterations: int,
        batch_size: int,
        *,
        world_size: int = 1,
        rank: int = 0,
        seed: int = 0,
        start_iter: int = 0,
        layout: str = "contiguous",
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), found {rank}")
        if not 0 <= start_iter <= iterations:
            raise ValueError(f"start_iter must be in [0, {iterations}], found {start_iter}")
        if layout not in LAYOUTS:
            raise ValueError(f"sampler layout must be one of {LAYOUTS}, found {layout!r}")
        self.iterations = iterations
        self.batch_size = batch_size
        self.world_size = world_size
        self.rank = rank
        self.start_iter = start_iter
        self.layout = layout
        self._indices = global_index_list(dataset_len, iterations, batch_size, world_size, seed)

    def __len__(self) -> int:
        return self.iterations - self.start_iter

    def batch(self, iteration: int) -> list[tuple[int, int]]:
        pos = batch_positions(
            iteration, self.iterations, self.batch_size, self.world_size, self.rank, self.layout
        )
        return [(int(self._indices[p]), int(p)) for p in pos]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for iteration in range(self.start_iter, self.iterations):
            yield self.batch(iteration)
