"""The DFDC public test set: ``<root>/*.mp4`` and ``<root>/labels.csv``.

labels.csv has a header with the columns ``filename`` and ``label`` (other columns are
ignored); label 1 = FAKE, 0 = REAL (DeepfakeBench ``preprocessing/rearrange.py`` indexes
``['DFDC_Real', 'DFDC_Fake']`` by it). Every video is in set ``test``, group ``test``.

A row whose label cell is not 0/1 (or REAL/FAKE), a file name that is a path, and a file
listed twice get a problem (``bad_metadata``); a row without a file is ``missing``; a file
without a row is ``not_in_metadata``. A missing labels.csv, or one without the two columns,
is a :class:`~rf_models.data.datasets.DatasetError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import DatasetError, DatasetVideo
from rf_models.data.layouts.common import (
    Layout,
    line_error,
    option_path,
    parse_label,
    read_text,
    scan_videos,
)

SET = "test"
GROUP = "test"


def read_labels(path: Path) -> dict[str, tuple[int | None, str | None]]:
    """``{file name: (label, problem)}`` from labels.csv; line numbers appear in problems."""
    text = read_text(path, "labels.csv")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise DatasetError(f"{path}: expected a header filename,label, found an empty file")
    columns = [cell.strip() for cell in header]
    if "filename" not in columns or "label" not in columns:
        raise DatasetError(
            f"{path}: expected a header with the columns filename and label, found {header}"
        )
    name_col, label_col = columns.index("filename"), columns.index("label")
    rows: dict[str, tuple[int | None, str | None]] = {}
    lines: dict[str, int] = {}
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        name = row[name_col].strip() if name_col < len(row) else ""
        if not name:
            raise line_error(path, number, ",".join(row), "a file name in the filename column")
        cell = row[label_col] if label_col < len(row) else ""
        label = parse_label(cell)
        problem = None
        if label is None:
            problem = f"labels.csv line {number}: expected a label 0 or 1, found {cell!r}"
        if name in rows:
            label = None
            problem = f"listed twice in labels.csv (lines {lines[name]} and {number})"
        else:
            lines[name] = number
        rows[name] = (label, problem)
    return rows


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    labels = read_labels(option_path(root, options["labels"], "labels"))
    on_disk = set(scan_videos(root))
    videos = []
    for name in on_disk | set(labels):
        label, problem = labels.get(name, (None, None))
        videos.append(
            DatasetVideo(
                name=name,
                path=root / name,
                label=label,
                set=SET,
                group=GROUP,
                original=None,
                in_metadata=name in labels,
                on_disk=name in on_disk,
                problem=problem,
            )
        )
    return videos


LAYOUT = Layout(
    name="dfdc_test",
    list_videos=list_videos,
    keys={"labels": "labels.csv"},
    description="DFDC public test set: <root>/*.mp4 with labels.csv (filename,label; 1 = FAKE)",
)
