"""Fixtures: the report's inputs, small and synthetic, in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.report_inputs import (
    make_scores,
    training_rows,
    write_metrics_from_scores,
    write_part_manifest,
    write_scores,
    write_training,
)


@pytest.fixture
def scores_csv(tmp_path: Path) -> Path:
    return write_scores(tmp_path / "scores.csv", make_scores())


@pytest.fixture
def metrics_csv(tmp_path: Path) -> Path:
    return write_metrics_from_scores(tmp_path / "metrics.csv", make_scores())


@pytest.fixture
def training_csvs(tmp_path: Path) -> dict[str, Path]:
    return {
        "b1": write_training(tmp_path / "b1.csv", training_rows(600, 0)),
        "xcep": write_training(tmp_path / "xcep.csv", training_rows(400, 1)),
        "sf": write_training(tmp_path / "sf.csv", training_rows(300, 2, val_every=100)),
    }


@pytest.fixture
def manifests(tmp_path: Path) -> list[Path]:
    d = tmp_path / "manifests"
    d.mkdir()
    parts = {
        "dfdc_train_part_0": {"ok": 20, "partial": 2, "no_face": 3, "unreadable": 1},
        "dfdc_train_part_10": {"ok": 18, "missing": 2, "empty_file": 1, "not_in_metadata": 1},
        "dfdc_train_part_2": {},
    }
    return [write_part_manifest(d / f"{p}.tsv", p, c) for p, c in parts.items()]
