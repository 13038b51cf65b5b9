"""Celeb-DF v1 and v2: ``Celeb-real/``, ``YouTube-real/``, ``Celeb-synthesis/`` and
``List_of_testing_videos.txt`` (yuezunli/celeb-deepfakeforensics ``README.md``).

The label comes from the folder: ``Celeb-synthesis`` holds the fakes, the two others the real
videos. The dataset's own documentation lists the file (README: ``List_of_testing_videos.txt
# 518 videos``) but does not describe its lines; they read ``<n> <folder>/<file>``, e.g.
``1 YouTube-real/00170.mp4``. The number is taken as 1 = real, 0 = fake: what third-party
parsers read (mapooon/SelfBlendedImages ``src/inference/datasets.py`` labels ``1 - n``) and
what the folders say. Each line's number is checked against its folder; a disagreement is a
problem (``bad_metadata``), never a guess.

Listed videos are in set ``test``, every other video in ``train``, so no test video is ever
in train (DeepfakeBench keeps the test videos in train as well). A line naming no file is
``missing``; a video listed twice gets a problem; a line that is not ``<0|1> <folder>/<file>``
with one of the three folders, a missing list, or a missing folder is a
:class:`~rf_models.data.datasets.DatasetError`.

Groups: ``Celeb_real``, ``YouTube_real``, ``Celeb_synthesis``. A fake ``id0_id1_0000.mp4``
is id1's face on id0's video 0000 (the maintainer, yuezunli/celeb-deepfakeforensics issue
#6: "aa is the original id, bb is swapped id, cc is the video index"): its ``original`` is
``id0_0000.mp4``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import DatasetVideo
from rf_models.data.dfdc import name_problem
from rf_models.data.layouts.common import (
    Layout,
    line_error,
    option_path,
    read_text,
    require_dir,
    scan_videos,
)

FOLDERS = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}  # folder -> label
FAKE_FOLDER = "Celeb-synthesis"
LIST_REAL, LIST_FAKE = "1", "0"  # the test list's numbers, see the module docstring
FAKE_NAME = re.compile(r"(id\d+)_(id\d+)_(\d+)")
TEST_SET, TRAIN_SET = "test", "train"


def group_of(folder: str) -> str:
    return folder.replace("-", "_")


def read_test_list(path: Path) -> dict[tuple[str, str], tuple[int, str | None]]:
    """``{(folder, file): (line number, problem)}`` of the test list."""
    text = read_text(path, "List_of_testing_videos.txt")
    listed: dict[tuple[str, str], tuple[int, str | None]] = {}
    expected = f"'<{LIST_REAL}|{LIST_FAKE}> <folder>/<file>' with folder {', '.join(FOLDERS)}"
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or fields[0] not in (LIST_REAL, LIST_FAKE):
            raise line_error(path, number, line, expected)
        parts = fields[1].split("/")
        if len(parts) != 2 or parts[0] not in FOLDERS or name_problem(parts[1]):
            raise line_error(path, number, line, expected)
        key = (parts[0], parts[1])
        if key in listed:
            first = listed[key][0]
            listed[key] = (first, f"listed twice in {path.name} (lines {first} and {number})")
            continue
        folder_label = FOLDERS[parts[0]]
        said_label = 0 if fields[0] == LIST_REAL else 1
        problem = None
        if said_label != folder_label:
            problem = (
                f"{path.name} line {number} says {fields[0]} "
                f"({'real' if said_label == 0 else 'fake'}) but the video is in {parts[0]}/ "
                f"({'real' if folder_label == 0 else 'fake'} videos)"
            )
        listed[key] = (number, problem)
    return listed


def _original(folder: str, name: str) -> str | None:
    if folder != FAKE_FOLDER:
        return None
    match = FAKE_NAME.fullmatch(name.rsplit(".", 1)[0])
    return f"{match.group(1)}_{match.group(3)}.mp4" if match else None


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    listed = read_test_list(option_path(root, options["test_list"], "test_list"))
    videos = []
    for folder, label in FOLDERS.items():
        require_dir(root / folder, f"Celeb-DF {folder} videos")
        on_disk = set(scan_videos(root / folder))
        names = on_disk | {name for f, name in listed if f == folder}
        for name in names:
            entry = listed.get((folder, name))
            problem = entry[1] if entry else None
            videos.append(
                DatasetVideo(
                    name=name,
                    path=root / folder / name,
                    label=None if problem else label,
                    set=TEST_SET if entry else TRAIN_SET,
                    group=group_of(folder),
                    original=_original(folder, name),
                    # the folder is the label source of the videos the test list leaves out
                    in_metadata=True,
                    on_disk=name in on_disk,
                    problem=problem,
                )
            )
    return videos


LAYOUT = Layout(
    name="celebdf",
    list_videos=list_videos,
    keys={"test_list": "List_of_testing_videos.txt"},
    description="Celeb-DF v1/v2: Celeb-real/, YouTube-real/, Celeb-synthesis/, test list",
)
