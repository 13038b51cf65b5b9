"""The detector's rows as the boxes tracking takes (the first of predict's two decodes)."""

from __future__ import annotations

import numpy as np
import pytest

from rf_models.infer.sampled import boxes_from_detections


def test_boxes_from_detections_truncates_and_thresholds():
    rows = np.array(
        [
            [10.9, 20.1, 50.99, 70.5, 0.95],
            [-3.7, -1.2, 30.4, 40.8, 0.8],
            [100.0, 100.0, 120.0, 130.0, 0.79999],
        ]
    )
    assert boxes_from_detections(rows) == [(10, 20, 50, 70), (-3, -1, 30, 40)]
    assert boxes_from_detections(rows, 0.9) == [(10, 20, 50, 70)]
    assert boxes_from_detections(np.zeros((0, 5), np.float32)) == []


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.zeros((2, 4)), r"shape \(n, 5\)"),
        (np.zeros(5), r"shape \(n, 5\)"),
        (np.array([[0, 0, 1, np.nan, 0.9]]), "finite"),
    ],
)
def test_boxes_from_detections_refuses_bad_rows(rows, message):
    with pytest.raises(ValueError, match=message):
        boxes_from_detections(rows)
