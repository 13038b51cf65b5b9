from __future__ import annotations

import numpy as np
import pytest
import torch

from rf_models.detect.priors import feature_map_sizes, prior_boxes
from rf_models.detect.retinaface import RetinaFace


def test_feature_maps_round_up() -> None:
    assert feature_map_sizes(20, 40) == [(3, 5), (2, 3), (1, 2)]
    assert feature_map_sizes(400, 711) == [(50, 89), (25, 45), (13, 23)]


def test_prior_grid_hand_computed() -> None:
    # 20 x 40 input: stride 8 -> 3x5 cells, stride 16 -> 2x3, stride 32 -> 1x2; 2 sizes each.
    priors = prior_boxes(20, 40)
    assert priors.dtype == np.float32
    assert priors.shape == ((15 + 6 + 2) * 2, 4)
    expected = {
        0: (0.5 * 8 / 40, 0.5 * 8 / 20, 16 / 40, 16 / 20),
        1: (0.1, 0.2, 32 / 40, 32 / 20),
        2: (1.5 * 8 / 40, 0.2, 0.4, 0.8),  # row 0, column 1
        10: (0.1, 1.5 * 8 / 20, 0.4, 0.8),  # row 1, column 0 (5 columns x 2 sizes per row)
        29: (4.5 * 8 / 40, 2.5 * 8 / 20, 0.8, 1.6),  # last anchor of stride 8
        30: (0.5 * 16 / 40, 0.5 * 16 / 20, 64 / 40, 64 / 20),
        31: (0.2, 0.4, 128 / 40, 128 / 20),
        42: (0.5 * 32 / 40, 0.5 * 32 / 20, 256 / 40, 256 / 20),
        45: (1.5 * 32 / 40, 0.8, 512 / 40, 512 / 20),  # sizes > 1: no clipping
    }
    for index, values in expected.items():
        np.testing.assert_allclose(priors[index], np.float32(values), rtol=1e-7, err_msg=str(index))


def test_priors_are_cached_and_read_only() -> None:
    first = prior_boxes(33, 47)
    assert prior_boxes(33, 47) is first
    with pytest.raises(ValueError):
        first[0, 0] = 1.0


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (2.5, 10)])
def test_priors_reject_bad_sizes(size: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        prior_boxes(*size)


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (17, 100)])
def test_prior_count_matches_network_outputs(size: tuple[int, int]) -> None:
    model = RetinaFace().eval()
    with torch.inference_mode():
        loc, conf, landms = model(torch.zeros(1, 3, *size))
    n = len(prior_boxes(*size))
    assert loc.shape == (1, n, 4) and conf.shape == (1, n, 2) and landms.shape == (1, n, 10)
