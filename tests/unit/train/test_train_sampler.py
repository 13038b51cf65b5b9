import numpy as np
import pytest

from rf_models.train.sampler import IterationBatchSampler, global_index_list, virtual_ranks


def seed_procedure(n, iterations, batch, world, rank):
    """The seed's sampler as docs/reproduction.md §6 describes it, with numpy's global RNG."""
    np.random.seed(0)
    total = iterations * batch
    all_size = total * world
    indices = np.arange(n)
    np.random.shuffle(indices)
    indices = indices[:all_size]
    indices = np.tile(indices, (all_size - 1) // indices.shape[0] + 1)[:all_size]
    np.random.shuffle(indices)
    return indices[total * rank : total * (rank + 1)]


def rank_indices(sampler):
    return [i for batch in sampler for i, _ in batch]


@pytest.mark.parametrize("n", [7, 50, 1000])
def test_matches_the_seed_order(n):
    for rank in range(3):
        s = IterationBatchSampler(n, 10, 4, world_size=3, ranks=[rank], seed=0)
        assert rank_indices(s) == seed_procedure(n, 10, 4, 3, rank).tolist()


def test_deterministic_and_seed_dependent():
    a = list(IterationBatchSampler(100, 5, 4, world_size=2, ranks=[1], seed=3))
    b = list(IterationBatchSampler(100, 5, 4, world_size=2, ranks=[1], seed=3))
    c = list(IterationBatchSampler(100, 5, 4, world_size=2, ranks=[1], seed=4))
    assert a == b and a != c


def test_ranks_are_disjoint_and_cover_every_position():
    world, iterations, batch = 4, 6, 3
    seen = []
    for rank in range(world):
        s = IterationBatchSampler(500, iterations, batch, world_size=world, ranks=[rank])
        batches = list(s)
        assert len(batches) == len(s) == iterations
        assert all(len(b) == batch for b in batches)
        seen.extend(p for b in batches for _, p in b)
    assert sorted(seen) == list(range(world * iterations * batch))
    # Fewer positions than samples: no dataset index repeats across ranks.
    indices = global_index_list(500, iterations, batch, world, 0)
    assert len(set(indices.tolist())) == len(indices)


def test_contiguous_slice_per_rank():
    s = IterationBatchSampler(100, 5, 4, world_size=3, ranks=[2])
    assert [p for b in s for _, p in b] == list(range(2 * 20, 3 * 20))


def test_tiles_a_small_dataset():
    indices = global_index_list(5, 4, 3, 2, seed=0)
    assert len(indices) == 24
    counts = np.bincount(indices, minlength=5)
    assert counts.min() >= 4 and counts.max() <= 5


def test_resume_skips_done_iterations():
    full = list(IterationBatchSampler(64, 8, 4, world_size=2, ranks=[1], seed=0))
    resumed = IterationBatchSampler(64, 8, 4, world_size=2, ranks=[1], seed=0, start_iter=5)
    assert len(resumed) == 3
    assert list(resumed) == full[5:]
    done = IterationBatchSampler(64, 8, 4, world_size=2, ranks=[1], seed=0, start_iter=8)
    assert list(done) == []


def test_accumulated_ranks_yield_the_seeds_micro_batches_in_turn():
    # One process playing the seed's ranks 0 and 1 yields, per iteration, rank 0's batch then
    # rank 1's: the same micro-batches as two processes, one rank each.
    both = list(IterationBatchSampler(40, 6, 4, world_size=2, ranks=[0, 1], seed=1))
    single = [
        list(IterationBatchSampler(40, 6, 4, world_size=2, ranks=[r], seed=1)) for r in range(2)
    ]
    assert len(both) == 12
    assert both == [single[i % 2][i // 2] for i in range(12)]
    resumed = IterationBatchSampler(40, 6, 4, world_size=2, ranks=[0, 1], seed=1, start_iter=4)
    assert len(resumed) == 4 and list(resumed) == both[8:]


@pytest.mark.parametrize(
    "gpus, world, expected",
    [
        (8, 1, [[0, 1, 2, 3, 4, 5, 6, 7]]),
        (8, 2, [[0, 1, 2, 3], [4, 5, 6, 7]]),
        (8, 8, [[r] for r in range(8)]),
        (8, 3, [[0, 1, 2], [3, 4, 5], [6, 7]]),
        (16, 5, [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12], [13, 14, 15]]),
    ],
)
def test_virtual_ranks_cover_the_seeds_ranks_once(gpus, world, expected):
    assert [virtual_ranks(gpus, world, r) for r in range(world)] == expected


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset is empty"):
        IterationBatchSampler(0, 5, 4)
    with pytest.raises(ValueError, match=r"ranks must be in \[0, 2\)"):
        IterationBatchSampler(10, 5, 4, world_size=2, ranks=[2])
    with pytest.raises(ValueError, match="ranks must be in"):
        IterationBatchSampler(10, 5, 4, world_size=2, ranks=[])
    with pytest.raises(ValueError, match="start_iter must be in"):
        IterationBatchSampler(10, 5, 4, start_iter=6)
    with pytest.raises(ValueError, match="run on 1 to 8 processes"):
        virtual_ranks(8, 16, 0)
