"""UADFV: ``<root>/real/*.mp4`` and ``<root>/fake/*.mp4``, labelled by the folder.

UADFV has no official split (DeepfakeBench copies it into train, val and test alike and
evaluates on it): every video goes to the set ``set`` (default ``test``), groups ``real`` and
``fake``. The folders are the label source, so every file found is named by it. A missing
``real/`` or ``fake/`` is a :class:`~rf_models.data.datasets.DatasetError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import DatasetVideo
from rf_models.data.layouts.common import Layout, option_set, require_dir, scan_videos

FOLDERS = {"real": 0, "fake": 1}  # folder (= group) -> label


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    set_ = option_set(options["set"], "set", root)
    videos = []
    for folder, label in FOLDERS.items():
        require_dir(root / folder, f"UADFV {folder} videos")
        for name in scan_videos(root / folder):
            videos.append(
                DatasetVideo(
                    name=name,
                    path=root / folder / name,
                    label=label,
                    set=set_,
                    group=folder,
                    original=None,
                    in_metadata=True,
                    on_disk=True,
                )
            )
    return videos


LAYOUT = Layout(
    name="uadfv",
    list_videos=list_videos,
    keys={"set": "test"},
    description="UADFV: real/ and fake/, no official split",
)
