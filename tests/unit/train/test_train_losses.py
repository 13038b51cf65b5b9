import math

import pytest
import torch

from rf_models.train.config import resolve_model_block
from rf_models.train.loop import class_weighted_loss, is_validation_iteration
from rf_models.train.validation import compute_val_metrics, shard_indices
from tests.support.seed_config import seed_config


def test_class_weights_of_every_seed_block():
    # [1 - p, p] x 2 with p = 0.1: REAL 1.8, FAKE 0.2.
    config = seed_config()
    for name in config["train"]["models"]:
        assert resolve_model_block(config, name)["class_weights"] == [1.8, 0.2], name


def test_weighted_loss_is_the_weighted_mean():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    target = torch.tensor([0, 1, 1])
    weights = torch.tensor([1.8, 0.2])
    ce = -torch.log_softmax(logits, 1)[torch.arange(3), target]
    w = weights[target]
    expected = (w * ce).sum() / w.sum()
    assert class_weighted_loss(logits, target, weights).item() == pytest.approx(expected.item())


def test_val_metrics():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0], [3.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, -1])
    loss, auc, logloss, count = compute_val_metrics(logits, labels, (1.8, 0.2))
    assert count == 3 and auc == 1.0
    ce = torch.nn.functional.cross_entropy
    assert loss == pytest.approx(
        ce(logits[:3], labels[:3], weight=torch.tensor([1.8, 0.2], dtype=torch.float64)).item()
    )
    assert logloss == pytest.approx(ce(logits[:3], labels[:3]).item())


def test_val_metrics_nan_safe():
    one_class = compute_val_metrics(torch.zeros(3, 2), torch.tensor([1, 1, 1]), (1.8, 0.2))
    assert math.isnan(one_class[1]) and one_class[3] == 3
    nothing = compute_val_metrics(torch.zeros(2, 2), torch.tensor([-1, -1]), (1.8, 0.2))
    assert all(math.isnan(v) for v in nothing[:3]) and nothing[3] == 0
    nan_logits = torch.tensor([[math.nan, 0.0], [0.0, 1.0]])
    assert math.isnan(compute_val_metrics(nan_logits, torch.tensor([0, 1]), (1, 1))[1])


def test_validation_iterations_follow_the_seed():
    its = [i for i in range(60002) if is_validation_iteration(i, 2000, 60002)]
    assert its[:2] == [2000, 4000] and its[-2:] == [60000, 60001] and len(its) == 31


def test_shards_cover_the_validation_set_once():
    shards = [shard_indices(10, r, 3) for r in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(10))
