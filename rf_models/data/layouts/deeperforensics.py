"""DeeperForensics-1.0: ``manipulated_videos/<variant>/`` and ``lists/splits/{train,val,test}.txt``
(EndlessSora/DeeperForensics-1.0 ``dataset/README.md``), with FF++ c23 youtube videos as its
real part.

- Fakes are named ``<target_id>_<source_id>.mp4`` (a three-digit FF++ target id, an actor id
  like ``M004``); each variant folder (``end_to_end``, ``end_to_end_level_1`` ... ``_5``,
  ``end_to_end_random_level``, ``end_to_end_mix_{2,3,4}_distortions``,
  ``reenact_postprocess``) holds the same 1,000 names; key ``variant`` picks one (group
  ``<variant>``, label 1, ``original`` = ``<target_id>.mp4``).
- Each line of a split file is one fake's file name ("Each line of these files shows a
  manipulated ('fake') video names"); blank lines are skipped, any other line must be such a
  name, else :class:`~rf_models.data.datasets.DatasetError` naming the line.
- The real videos are not part of the dataset: "The 'real' part for face forensics models
  are the target videos, i.e., 1,000 refined YouTube videos collected by FaceForensics++ ...
  with C23 compression rate"; "You can easily find the corresponding 'real' videos (i.e.,
  target videos) using the first three digit ID". They are read from ``real_root`` (an FF++
  root, ``original_sequences/youtube/<real_compression>/videos/<id>.mp4``; default the sibling
  ``../FaceForensics++`` that DeepfakeBench's datasets folder holds), group ``real``, label 0.
  The source videos are not the real part (the README says so; DeepfakeBench labels them
  real).
- A real video goes to the set of the fakes made from it (one fake per target and variant,
  so one set); a target whose fakes are in two sets, and a fake named by two split files, get
  a problem. A real file that no split fake names is ``unsplit`` / ``not_in_metadata``, like a
  fake file no split names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import NAME_PATTERN, SETS, UNSPLIT, DatasetError, DatasetVideo
from rf_models.data.dfdc import name_problem
from rf_models.data.layouts.common import (
    Layout,
    line_error,
    option_choice,
    option_path,
    read_text,
    require_dir,
    scan_videos,
)

FAKE_NAME = re.compile(r"([0-9]+)_([A-Za-z0-9]+)")
REAL_GROUP = "real"
REAL_COMPRESSIONS = ("c0", "raw", "c23", "c40")


def read_split(path: Path) -> list[str]:
    """The fake file names one split file lists."""
    names = []
    for number, line in enumerate(read_text(path, f"split list {path.name}").splitlines(), 1):
        name = line.strip()
        if not name:
            continue
        if name_problem(name) or not FAKE_NAME.fullmatch(name.rsplit(".", 1)[0]):
            raise line_error(path, number, line, "a fake video name like 000_M101.mp4")
        names.append(name)
    return names


def _target(name: str) -> str:
    return FAKE_NAME.fullmatch(name.rsplit(".", 1)[0]).group(1)  # type: ignore[union-attr]


def _sets_problem(sets: list[str], what: str) -> str | None:
    if len(sets) < 2:
        return None
    return f"{what} {', '.join(f'{s}.txt' for s in sets)}"


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    variant = options["variant"]
    if not isinstance(variant, str) or not NAME_PATTERN.fullmatch(variant):
        raise DatasetError(f"{root}: expected variant to be a folder name, found {variant!r}")
    comp = option_choice(options["real_compression"], "real_compression", REAL_COMPRESSIONS, root)
    fake_dir = root / "manipulated_videos" / variant
    require_dir(fake_dir, f"DeeperForensics-1.0 variant {variant}")
    real_root = option_path(root, options["real_root"], "real_root")
    real_dir = real_root / "original_sequences" / "youtube" / comp / "videos"
    require_dir(real_dir, f"the FF++ youtube {comp} videos (DeeperForensics-1.0 real part)")
    splits_dir = option_path(root, options["splits_dir"], "splits_dir")

    fake_sets: dict[str, list[str]] = {}
    real_sets: dict[str, list[str]] = {}
    for set_ in SETS:
        for name in read_split(splits_dir / f"{set_}.txt"):
            for named, key in ((fake_sets, name), (real_sets, f"{_target(name)}.mp4")):
                sets = named.setdefault(key, [])
                if set_ not in sets:
                    sets.append(set_)

    videos = []
    groups = (
        (fake_dir, variant, 1, fake_sets, "named by the split files"),
        (real_dir, REAL_GROUP, 0, real_sets, "the target of fakes in the split files"),
    )
    for folder, group, label, named, what in groups:
        on_disk = set(scan_videos(folder))
        for name in on_disk | set(named):
            sets = named.get(name, [])
            problem = _sets_problem(sets, what)
            original = None
            if label == 1 and FAKE_NAME.fullmatch(name.rsplit(".", 1)[0]):
                original = f"{_target(name)}.mp4"
            videos.append(
                DatasetVideo(
                    name=name,
                    path=folder / name,
                    label=None if problem else label,
                    set=sets[0] if sets else UNSPLIT,
                    group=group,
                    original=original,
                    in_metadata=bool(sets),
                    on_disk=name in on_disk,
                    problem=problem,
                )
            )
    return videos


LAYOUT = Layout(
    name="deeperforensics",
    list_videos=list_videos,
    keys={
        "variant": "end_to_end",
        "splits_dir": "lists/splits",
        "real_root": "../FaceForensics++",
        "real_compression": "c23",
    },
    description="DeeperForensics-1.0 fakes with the FF++ c23 youtube videos as its real part",
)
