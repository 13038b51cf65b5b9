"""Landmark-aligned face crops: the similarity alignment to the ArcFace 5-point template that
DeepfakeBench's preprocessing uses (template scaled to the output size, with a margin)."""

from rf_models.align.landmark_crops import (
    BORDER_MODE,
    BORDER_VALUE,
    DEFAULT_MARGIN,
    DEFAULT_SIZE,
    MIN_SIZE,
    aligned_crop,
    alignment_matrix,
    destination_points,
)

__all__ = [
    "BORDER_MODE",
    "BORDER_VALUE",
    "DEFAULT_MARGIN",
    "DEFAULT_SIZE",
    "MIN_SIZE",
    "aligned_crop",
    "alignment_matrix",
    "destination_points",
]
