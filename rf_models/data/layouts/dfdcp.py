"""DFDC-preview (DFDCP): ``original_videos/``, ``method_A/``, ``method_B/`` and ``dataset.json``.

dataset.json maps a video's path relative to the root to its entry, e.g.
``"method_A/1003254/1003254_A/1255229_1003254_A_001.mp4": {"label": "fake", "set": "train",
...}``; DeepfakeBench (``preprocessing/rearrange.py``) takes the group from the key's first
component and the video from its last component's stem, and maps label ``real`` to the
original videos and ``fake`` to ``method_A``/``method_B``. Here:

- group = the key's first component, name = its last component, path = root / key;
- set = the entry's ``set`` (train, val or test), label = its ``label`` (real 0, fake 1);
- a label that disagrees with the group (``real`` only in ``original_videos``), an unknown
  label or set, or a key that is not a path under one of the group folders is a problem;
- of two keys with one file name in one group, the later key (sorted) gets a problem;
- files under the group folders (any depth) that dataset.json does not name are
  ``not_in_metadata``, in set ``unsplit``, labelled by their folder.

dataset.json states no real video for a fake that this lister could rely on, so
``original`` stays None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import SETS, UNSPLIT, DatasetError, DatasetVideo
from rf_models.data.layouts.common import Layout, option_path, read_json, scan_tree

REAL_GROUP = "original_videos"
GROUPS = {REAL_GROUP: 0, "method_A": 1, "method_B": 1}  # group -> label of its videos
LABELS = {"real": 0, "fake": 1}


def _safe_group(component: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", component) or "_"


def _entry_problem(key: str, entry: object, group: str) -> str | None:
    parts = key.split("/")
    if len(parts) < 2 or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        return f"dataset.json key {key!r}: expected a relative path like method_A/.../x.mp4"
    if group not in GROUPS:
        return (
            f"dataset.json key {key!r}: expected a path under {', '.join(GROUPS)}, "
            f"found {parts[0]!r}"
        )
    if not isinstance(entry, dict):
        return f"dataset.json entry {key!r}: expected an object with label and set, found {entry!r}"
    label, set_ = entry.get("label"), entry.get("set")
    if label not in LABELS:
        return f"dataset.json entry {key!r}: expected label real or fake, found {label!r}"
    if set_ not in SETS:
        return f"dataset.json entry {key!r}: expected set {', '.join(SETS)}, found {set_!r}"
    if LABELS[label] != GROUPS[group]:
        return (
            f"dataset.json entry {key!r}: label {label!r} disagrees with its folder {group}/ "
            f"({'real' if GROUPS[group] == 0 else 'fake'} videos)"
        )
    return None


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    meta_path = option_path(root, options["metadata"], "metadata")
    meta = read_json(meta_path, "dataset.json")
    if not isinstance(meta, dict):
        raise DatasetError(
            f"{meta_path}: expected a JSON object of videos, found {type(meta).__name__}"
        )
    on_disk = {f"{g}/{rel}" for g in GROUPS for rel in scan_tree(root / g)}
    videos = []
    first: dict[tuple[str, str], str] = {}  # (group, name) -> first key
    for key in sorted(meta):
        entry = meta[key]
        parts = key.split("/")
        group = parts[0] if parts[0] in GROUPS else _safe_group(parts[0])
        name = parts[-1]
        problem = _entry_problem(key, entry, group)
        if problem is None and (group, name) in first:
            problem = (
                f"dataset.json key {key!r}: same file name as {first[(group, name)]!r} in {group}/"
            )
        first.setdefault((group, name), key)
        set_ = entry["set"] if problem is None else _fallback_set(entry)
        videos.append(
            DatasetVideo(
                name=name,
                path=root / key.lstrip("/"),
                label=None if problem else LABELS[entry["label"]],
                set=set_,
                group=group,
                original=None,
                in_metadata=True,
                on_disk=key in on_disk,
                problem=problem,
            )
        )
    for key in sorted(on_disk - set(meta)):
        group = key.split("/", 1)[0]
        videos.append(
            DatasetVideo(
                name=key.rsplit("/", 1)[-1],
                path=root / key,
                label=GROUPS[group],
                set=UNSPLIT,
                group=group,
                original=None,
                in_metadata=False,
                on_disk=True,
            )
        )
    return videos


def _fallback_set(entry: object) -> str:
    # a bad entry keeps its own set where it has a valid one, so it is reported beside its set
    set_ = entry.get("set") if isinstance(entry, dict) else None
    return set_ if set_ in SETS else UNSPLIT


LAYOUT = Layout(
    name="dfdcp",
    list_videos=list_videos,
    keys={"metadata": "dataset.json"},
    description="DFDC-preview: original_videos/, method_A/, method_B/ and dataset.json",
)
