"""Input normalisation constants the seed used (docs/reproduction.md §4 and 6).

All values are for pixels already divided by 255, as the seed did before normalising; the
Kinetics constants are also given in 0-255 units, as the seed's configs state them.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]

KINETICS_MEAN_255: RGB = (110.63666788, 103.16065604, 96.29023126)
KINETICS_STD_255: RGB = (38.7568578, 37.88248729, 40.02898126)


@dataclass(frozen=True)
class Normalisation:
    """Per-channel ``(x / 255 - mean) / std``, channels in the model's colour order."""

    mean: RGB
    std: RGB


def _per_unit(rgb: RGB) -> RGB:
    return (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0)


_NORMALISATIONS = {
    "imagenet": Normalisation(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    # Xception (Inception-style scaling to [-1, 1]); equal channels: the order is irrelevant.
    "inception": Normalisation(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "kinetics": Normalisation(mean=_per_unit(KINETICS_MEAN_255), std=_per_unit(KINETICS_STD_255)),
}


def normalisation_constants(name: str) -> Normalisation:
    """``imagenet`` (EfficientNets, ResNet-34), ``inception`` (Xception) or ``kinetics``
    (SlowFast)."""
    try:
        return _NORMALISATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown normalisation {name!r}; known: {', '.join(sorted(_NORMALISATIONS))}"
        ) from None
