import numpy as np
import pytest

from rf_models.train.sampler import IterationBatchSampler, batch_positions, global_index_list


def seed_procedure(n, iterations, batch, world, rank):
    """The seed's sampler as seed-facts section 6 describes it, with numpy's global RNG."""
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
        s = IterationBatchSampler(n, 10, 4, world_size=3, rank=rank, seed=0)
        assert rank_indices(s) == seed_procedure(n, 10, 4, 3, rank).tolist()


def test_deterministic_and_seed_dependent():
    a = list(IterationBatchSampler(100, 5, 4, world_size=2, rank=1, seed=3))
    b = list(IterationBatchSampler(100, 5, 4, world_size=2, rank=1, seed=3))
    c = list(IterationBatchSampler(100, 5, 4, world_size=2, rank=1, seed=4))
    assert a == b and a != c


@pytest.mark.parametrize("layout", ["contiguous", "interleaved"])
def test_ranks_are_disjoint_and_cover_every_position(layout):
    world, iterations, batch = 4, 6, 3
    seen = []
    for rank in range(world):
        s = IterationBatchSampler(
            500, iterations, batch, world_size=world, rank=rank, layout=layout
        )
        batches = list(s)
        assert len(batches) == len(s) == iterations
        assert all(len(b) == batch for b in batches)
        seen.extend(p for b in batches for _, p in b)
    assert sorted(seen) == list(range(world * iterations * batch))
    # Fewer positions than samples: no dataset index repeats across ranks.
    indices = global_index_list(500, iterations, batch, world, 0)
    assert len(set(indices.tolist())) == len(indices)


def test_contiguous_slice_per_rank():
    s = IterationBatchSampler(100, 5, 4, world_size=3, rank=2)
    assert [p for b in s for _, p in b] == list(range(2 * 20, 3 * 20))


def test_tiles_a_small_dataset():
    indices = global_index_list(5, 4, 3, 2, seed=0)
    assert len(indices) == 24
    counts = np.bincount(indices, minlength=5)
    assert counts.min() >= 4 and counts.max() <= 5


def test_resume_skips_done_iterations():
    full = list(IterationBatchSampler(64, 8, 4, world_size=2, rank=1, seed=0))
    resumed = IterationBatchSampler(64, 8, 4, world_size=2, rank=1, seed=0, start_iter=5)
    assert len(resumed) == 3
    assert list(resumed) == full[5:]
    done = IterationBatchSampler(64, 8, 4, world_size=2, rank=1, seed=0, start_iter=8)
    assert list(done) == []


def test_interleaved_global_batch_does_not_depend_on_the_split():
    single = IterationBatchSampler(40, 6, 8, world_size=1, rank=0, layout="interleaved")
    ranks = [
        IterationBatchSampler(40, 6, 4, world_size=2, rank=r, layout="interleaved")
        for r in range(2)
    ]
    for it in range(6):
        assert single.batch(it) == ranks[0].batch(it) + ranks[1].batch(it)


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset is empty"):
        IterationBatchSampler(0, 5, 4)
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        IterationBatchSampler(10, 5, 4, world_size=2, rank=2)
    with pytest.raises(ValueError, match="start_iter must be in"):
        IterationBatchSampler(10, 5, 4, start_iter=6)
    with pytest.raises(ValueError, match="layout"):
        IterationBatchSampler(10, 5, 4, layout="striped")
    with pytest.raises(ValueError, match="layout"):
        batch_positions(0, 5, 4, 1, 0, "striped")
