"""A user's own videos: ``real/`` and ``fake/`` subfolders, or a CSV of paths and labels.

Subfolders (the default): every video file under ``<root>/real/`` and ``<root>/fake/``, at any
depth, labelled by the subfolder (group ``real`` or ``fake``); its name is its path relative to
the subfolder with ``/`` replaced by ``__`` (``fake/day1/a.mp4`` -> ``day1__a.mp4``). One of
the two subfolders may be absent, not both.

CSV (key ``csv``, a path relative to the root or absolute): a header ``path,label`` or
``path,label,set``; ``path`` relative to the root or absolute, ``label`` REAL/FAKE (any case) or
0/1, ``set`` train/val/test (empty: the key ``set``). Only the rows are listed (the root is not
scanned); group ``real`` or ``fake`` from the label, ``unlabelled`` for a row whose label cannot
be read. A row's name is its path relative to the root with ``/`` replaced by ``__``, or the
file name for a path outside the root.

Every video goes to the set ``set`` (default ``test``) unless its CSV row says otherwise. A bad
label or set cell, and a path listed twice, are problems (``bad_metadata``); of two paths with
one name in one set and group, the later gets a problem (see
:func:`rf_models.data.datasets.finish_listing`); a row without a file is ``missing``. A
malformed header or row is a :class:`~rf_models.data.datasets.DatasetError` naming the line.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import SETS, DatasetError, DatasetVideo
from rf_models.data.layouts.common import (
    Layout,
    line_error,
    option_path,
    option_set,
    parse_label,
    read_text,
    scan_tree,
)

FOLDERS = {"real": 0, "fake": 1}  # subfolder (= group) -> label
GROUPS = {0: "real", 1: "fake", None: "unlabelled"}
HEADERS = (["path", "label"], ["path", "label", "set"])


def flat_name(relative: str) -> str:
    """A path relative to its folder as one file name: ``a/b.mp4`` -> ``a__b.mp4``."""
    return relative.replace(os.sep, "/").replace("/", "__")


def _from_folders(root: Path, set_: str) -> list[DatasetVideo]:
    present = [f for f in FOLDERS if (root / f).is_dir()]
    if not present:
        raise DatasetError(
            f"{root}: expected a real/ or a fake/ subfolder (or the key csv), found neither"
        )
    videos = []
    for folder in present:
        for relative in scan_tree(root / folder):
            videos.append(
                DatasetVideo(
                    name=flat_name(relative),
                    path=root / folder / relative,
                    label=FOLDERS[folder],
                    set=set_,
                    group=folder,
                    original=None,
                    in_metadata=True,
                    on_disk=True,
                )
            )
    return videos


def _from_csv(root: Path, csv_path: Path, default_set: str) -> list[DatasetVideo]:
    reader = csv.reader(io.StringIO(read_text(csv_path, "the video CSV")))
    header = next(reader, None)
    if header is None or [c.strip() for c in header] not in HEADERS:
        found = "an empty file" if header is None else ",".join(header)
        raise DatasetError(
            f"{csv_path}: expected a header path,label or path,label,set, found {found!r}"
        )
    width = len(header)
    rows: dict[str, tuple[int, DatasetVideo]] = {}  # absolute path -> (line, video)
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width or not row[0].strip():
            raise line_error(csv_path, number, ",".join(row), f"{width} cells: {','.join(header)}")
        cells = [c.strip() for c in row] + [""] * (width - len(row))
        path = Path(os.path.abspath(os.path.join(root, os.path.expanduser(cells[0]))))
        label = parse_label(cells[1])
        set_ = cells[2] if width == 3 and cells[2] else default_set
        where = f"{csv_path.name} line {number}"
        problems = []
        if label is None:
            problems.append(f"expected a label REAL, FAKE, 0 or 1, found {cells[1]!r}")
        if set_ not in SETS:
            problems.append(f"expected a set {', '.join(SETS)}, found {set_!r}")
            set_ = default_set
        problem = f"{where}: {'; '.join(problems)}" if problems else None
        key = str(path)
        if key in rows:
            first, video = rows[key]
            rows[key] = (
                first,
                DatasetVideo(
                    name=video.name,
                    path=video.path,
                    label=None,
                    set=video.set,
                    group=video.group,
                    original=None,
                    in_metadata=True,
                    on_disk=video.on_disk,
                    problem=f"listed twice in {csv_path.name} (lines {first} and {number})",
                ),
            )
            continue
        relative = os.path.relpath(path, root)
        inside = relative != os.pardir and not relative.startswith(os.pardir + os.sep)
        rows[key] = (
            number,
            DatasetVideo(
                name=flat_name(relative) if inside else path.name,
                path=path,
                label=None if problem else label,
                set=set_,
                group=GROUPS[label],
                original=None,
                in_metadata=True,
                on_disk=os.path.lexists(path) and not path.is_dir(),
                problem=problem,
            ),
        )
    return [video for _, video in rows.values()]


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    set_ = option_set(options["set"], "set", root)
    if options["csv"] is None:
        return _from_folders(root, set_)
    return _from_csv(root, option_path(root, options["csv"], "csv"), set_)


LAYOUT = Layout(
    name="folder",
    list_videos=list_videos,
    keys={"set": "test", "csv": None},
    description="your own videos: real/ and fake/ subfolders, or a CSV path,label[,set]",
)
