import pytest
import torch

from rf_models.train.config import ModelConfig, resolve_model_block
from rf_models.train.schedule import config_lr, lr_at, set_lr
from tests.support.seed_config import seed_config

# name: (base lr, warm-up lr, lr steps) from docs/reproduction.md §6.
TABLE = {
    "b0": (0.01, 0.03, (15000, 25000, 35000, 45000)),
    "b1": (0.01, 0.03, (15000, 25000, 35000, 45000)),
    "b1short": (0.01, 0.03, (15000, 25000, 35000, 45000)),
    "b1long": (0.01, 0.03, (20000, 30000, 40000, 55000)),
    "b3": (0.01, 0.04, (15000, 25000, 35000, 45000)),
    "r34": (0.001, 0.02, (10000, 15000, 20000, 25000)),
    "xcep": (0.01, 0.05, (20000, 30000, 40000, 50000)),
    "sf": (0.002, 0.05, (15000, 25000, 35000, 45000)),
    "sf_noaug": (0.002, 0.05, (15000, 25000, 35000, 45000)),
    "sf_16x8": (0.002, 0.05, (15000, 25000, 35000, 45000)),
    "sf_alldata": (0.002, 0.05, (20000, 30000, 40000, 50000)),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_schedule_at_chosen_iterations(name):
    cfg = ModelConfig.from_dict(name, resolve_model_block(seed_config(), name))
    base, warm, steps = TABLE[name]
    assert cfg.lr_steps == steps
    expected = {
        0: base,
        999: base + 0.999 * (warm - base),
        1000: warm,
        steps[0] - 1: warm,
        steps[0]: warm / 2,
        steps[1]: warm / 4,
        steps[-1] - 1: warm / 8,
        steps[-1]: warm / 16,
        cfg.max_iter - 1: warm / 16,
    }
    for iteration, lr in expected.items():
        assert config_lr(cfg, iteration) == pytest.approx(lr, rel=1e-12), iteration


def test_literal_values():
    # b0: 0.01 -> 0.03 over 1000 iterations, halvings at 15k, 25k, 35k, 45k.
    assert lr_at(500, 0.01, 0.03, 1000, (15000, 25000), 0.5) == pytest.approx(0.02)
    assert lr_at(999, 0.01, 0.03, 1000, (15000, 25000), 0.5) == pytest.approx(0.02998)
    assert lr_at(14999, 0.01, 0.03, 1000, (15000, 25000), 0.5) == pytest.approx(0.03)
    assert lr_at(15000, 0.01, 0.03, 1000, (15000, 25000), 0.5) == pytest.approx(0.015)
    assert lr_at(30000, 0.001, 0.02, 1000, (10000, 15000, 20000, 25000), 0.5) == pytest.approx(
        0.00125
    )


def test_no_warmup_and_bad_iteration():
    assert lr_at(0, 0.1, 0.5, 0, (5,), 0.1) == pytest.approx(0.1)
    assert lr_at(5, 0.1, 0.5, 0, (5,), 0.1) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="iteration must be >= 0"):
        lr_at(-1, 0.1, 0.5, 10, (), 0.5)


def test_set_lr_sets_every_group():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b]}], lr=1.0)
    set_lr(opt, 0.123)
    assert [g["lr"] for g in opt.param_groups] == [0.123, 0.123]
