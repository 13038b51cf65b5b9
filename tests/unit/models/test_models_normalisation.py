"""Normalisation constants the seed used."""

from __future__ import annotations

import pytest

from rf_models.models import normalisation_constants
from rf_models.models.normalisation import KINETICS_MEAN_255, KINETICS_STD_255


def test_imagenet_and_xception() -> None:
    imagenet = normalisation_constants("imagenet")
    assert imagenet.mean == (0.485, 0.456, 0.406)
    assert imagenet.std == (0.229, 0.224, 0.225)
    xception = normalisation_constants("inception")
    assert xception.mean == xception.std == (0.5, 0.5, 0.5)


def test_kinetics_in_both_units() -> None:
    assert KINETICS_MEAN_255 == (110.63666788, 103.16065604, 96.29023126)
    assert KINETICS_STD_255 == (38.7568578, 37.88248729, 40.02898126)
    kinetics = normalisation_constants("kinetics")
    assert kinetics.mean == pytest.approx((0.43386929, 0.40455159, 0.37760875))
    assert kinetics.std == pytest.approx((0.15198768, 0.14855877, 0.15697640))


@pytest.mark.parametrize("name", ["ImageNet", "resnet", "", None])
def test_unknown_name(name: object) -> None:
    with pytest.raises(ValueError, match="known: imagenet, inception, kinetics"):
        normalisation_constants(name)
