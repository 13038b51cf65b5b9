"""Video- and frame-level metric rows and their CSV / JSON files."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from rf_models.metrics import (
    binary_metrics,
    video_and_frame_metrics,
    write_metrics_csv,
    write_metrics_json,
)
from rf_models.metrics.bootstrap import bootstrap_intervals

LABELS = {"a": 1, "b": 0, "c": 1}
VIDEO = {"a": 0.9, "b": 0.2, "c": 0.4, "unlabelled": 0.7}
FRAMES = {"a": [0.8, 0.95], "b": [0.1, 0.3, 0.6], "c": []}


def test_video_and_frame_rows():
    rows = video_and_frame_metrics(LABELS, VIDEO, FRAMES, context={"model": "xcep", "split": "val"})
    assert [r["level"] for r in rows] == ["video", "frame"]
    assert list(rows[0])[:3] == ["model", "split", "level"]
    # Video level: videos a, b, c in sorted order; "unlabelled" is not counted.
    video = {k: v for k, v in rows[0].items() if k not in ("model", "split", "level")}
    assert video == {
        **binary_metrics([1, 0, 1], [0.9, 0.2, 0.4]),
        **bootstrap_intervals([1, 0, 1], [0.9, 0.2, 0.4]),
    }
    # Frame level: a's 2 frames (FAKE), b's 3 (REAL), c has none.
    frame = {k: v for k, v in rows[1].items() if k not in ("model", "split", "level")}
    assert frame == binary_metrics([1, 1, 0, 0, 0], [0.8, 0.95, 0.1, 0.3, 0.6])
    assert rows[1]["n"] == 5


def test_video_rows_only_and_missing_scores():
    assert [r["level"] for r in video_and_frame_metrics(LABELS, VIDEO)] == ["video"]
    with pytest.raises(ValueError, match="1 have none, e.g. \\['c'\\]"):
        video_and_frame_metrics(LABELS, {"a": 0.9, "b": 0.2})
    with pytest.raises(ValueError, match="scores in"):
        video_and_frame_metrics(LABELS, VIDEO, {"a": [0.5, 1.5]})


def test_one_class_frame_level_is_recorded_not_raised():
    rows = video_and_frame_metrics({"a": 1}, {"a": 0.9}, {"a": [0.9, 0.8]})
    assert all("one class only" in r["reason"] for r in rows)


def test_writers_round_trip_and_nan(tmp_path):
    rows = video_and_frame_metrics(LABELS, VIDEO, FRAMES, context={"model": "xcep"})
    rows.append({"model": "b0", "level": "video", **binary_metrics([1], [0.7])})
    csv_path, json_path = tmp_path / "out" / "metrics.csv", tmp_path / "out" / "metrics.json"
    write_metrics_csv(csv_path, rows)
    write_metrics_json(json_path, rows)

    table = pd.read_csv(csv_path, keep_default_na=True)
    assert list(table.columns) == list(rows[0])
    assert table.loc[0, "log_loss"] == rows[0]["log_loss"]  # full precision kept
    assert math.isnan(table.loc[2, "roc_auc"])

    loaded = json.loads(json_path.read_text())
    assert loaded[2]["roc_auc"] is None and loaded[2]["n"] == 1
    assert loaded[0]["log_loss"] == rows[0]["log_loss"]
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["metrics.csv", "metrics.json"]


def test_writers_keep_the_old_file_when_a_row_cannot_be_written(tmp_path):
    path = tmp_path / "metrics.json"
    write_metrics_json(path, [{"level": "video", "n": 1}])
    with pytest.raises(TypeError):
        write_metrics_json(path, [{"level": "video", "n": object()}])
    assert json.loads(path.read_text()) == [{"level": "video", "n": 1}]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_csv_rows_with_different_keys_share_one_header(tmp_path):
    path = tmp_path / "m.csv"
    write_metrics_csv(path, [{"a": 1, "b": 2.5}, {"a": 2, "c": "x"}])
    assert path.read_text() == "a,b,c\n1,2.5,\n2,,x\n"


def test_no_labelled_video_gives_rows_of_nan_not_a_crash():
    rows = video_and_frame_metrics({}, {}, frame_scores={})
    assert [r["level"] for r in rows] == ["video", "frame"]
    assert all(r["n"] == 0 for r in rows)
