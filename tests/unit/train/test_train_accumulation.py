"""The step plan: the seed's global batch and effective learning rate on any process count."""

import pytest

from rf_models.train.accumulation import plan_steps


@pytest.mark.parametrize("world", [1, 2, 4, 8])
def test_the_seeds_global_batch_and_effective_lr_on_any_process_count(world):
    plans = [plan_steps(8, world, r, 16, divide=True) for r in range(world)]
    assert sorted(v for p in plans for v in p.ranks) == list(range(8))
    for p in plans:
        assert p.global_batch == 128 and p.lr_factor == 1
        # DDP divides the summed gradients by W: each micro-batch's mean loss is weighted
        # W / 8 (mean over the 8 micro-batches), then / 8 for the seed's loss division.
        assert p.loss_scale == pytest.approx(world / 8 / 8)
        assert p.effective_lr(0.03) == pytest.approx(0.03 / 8)
    # Summed over the step's micro-batches and averaged by DDP: 1/8 of the global mean.
    total = sum(len(p.ranks) * p.loss_scale for p in plans) / world
    assert total == pytest.approx(1 / 8)


def test_without_the_seeds_division_the_configured_lr_is_effective():
    p = plan_steps(16, 1, 0, 4, divide=False)
    assert p.ranks == tuple(range(16)) and p.loss_scale == pytest.approx(1 / 16)
    assert p.effective_lr(0.05) == pytest.approx(0.05)


def test_uneven_split_still_averages_every_micro_batch_once():
    plans = [plan_steps(8, 3, r, 16, divide=False) for r in range(3)]
    assert [len(p.ranks) for p in plans] == [3, 3, 2]
    assert sum(len(p.ranks) * p.loss_scale for p in plans) / 3 == pytest.approx(1.0)
    assert "uneven" in plans[0].describe(0.01, 0.03)


def test_fewer_micro_batches_scale_the_lr_by_the_linear_rule():
    p = plan_steps(16, 1, 0, 4, divide=True, micro_batches=2)
    assert p.ranks == (0, 1) and p.global_batch == 8 and p.lr_factor == pytest.approx(2 / 16)
    assert p.effective_lr(0.05) == pytest.approx(0.05 * 2 / 16 / 16)
    text = p.describe(0.002, 0.05)
    assert "global batch 8 = 4 per micro-batch x 2 micro-batches" in text
    assert "scaled by 0.125 (linear rule)" in text and "configured / 16" in text


def test_describe_names_the_global_batch_and_effective_lr():
    text = plan_steps(8, 2, 0, 16, divide=True).describe(0.01, 0.03)
    assert text.startswith("global batch 128 = 16 per micro-batch x 8 micro-batches (2 process")
    assert "4 accumulated per process" in text
    assert "effective learning rate 0.00125 -> 0.00375" in text


def test_bad_plans():
    with pytest.raises(ValueError, match="gpus is 8 .* this run has 16 processes"):
        plan_steps(8, 16, 0, 16, divide=True)
    with pytest.raises(ValueError, match="micro_batches must be between"):
        plan_steps(8, 2, 0, 16, divide=True, micro_batches=1)
    with pytest.raises(ValueError, match="micro_batches must be between"):
        plan_steps(8, 1, 0, 16, divide=True, micro_batches=9)
