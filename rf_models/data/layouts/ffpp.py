"""FaceForensics++ (and its DeepFakeDetection part, DFD), as ondyari/FaceForensics lays it out.

Folders (``dataset/README.md``): ``original_sequences/youtube/<comp>/videos/000.mp4`` ...
``999.mp4`` and ``manipulated_sequences/<method>/<comp>/videos/<target>_<source>.mp4``; DFD:
``original_sequences/actors/<comp>/videos/<actor>__<scene>.mp4`` and
``manipulated_sequences/DeepFakeDetection/<comp>/videos/<t>_<s>__<scene>__<8-char id>.mp4``.

Splits (``dataset/splits/{train,val,test}.json``): lists of id pairs ``["953", "974"]``; a pair
covers the originals ``953.mp4``, ``974.mp4`` and, in every configured method, the fakes
``953_974.mp4`` and ``974_953.mp4`` (DeepfakeBench ``preprocessing/rearrange.py`` maps them so).
A fake's ``original`` is its target's original (``953.mp4`` for ``953_974.mp4``).

- a video a split names without a file is ``missing``; a file no pair covers is in set
  ``unsplit`` and ``not_in_metadata`` (labelled by its folder);
- a video named by two splits gets a problem (``bad_metadata``) and is reported in the
  first of them (train, val, test); a pair repeated within one split is harmless;
- DFD has no official split (FaceForensics issue #63; DeepfakeBench copies it into all three
  splits, i.e. uses it for testing only): its videos, labelled by their folder, all go to the
  set ``dfd_set`` (default ``test``), groups ``actors`` and ``DeepFakeDetection``; a DFD
  fake's original is ``<t>__<scene>.mp4``;
- a configured method whose folder (or the originals' folder it needs) is missing, and a
  missing or malformed split file, are :class:`~rf_models.data.datasets.DatasetError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rf_models.data.datasets import SETS, UNSPLIT, DatasetError, DatasetVideo
from rf_models.data.layouts.common import (
    Layout,
    option_choice,
    option_path,
    option_set,
    read_json,
    require_dir,
    scan_videos,
)

COMPRESSIONS = ("c0", "raw", "c23", "c40")
CLASSIC_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
DFD = "DeepFakeDetection"
METHODS = CLASSIC_METHODS + ("FaceShifter", DFD)
ID_PATTERN = re.compile(r"[A-Za-z0-9]+")
FAKE_PATTERN = re.compile(r"([A-Za-z0-9]+)_([A-Za-z0-9]+)")
DFD_FAKE_PATTERN = re.compile(r"([A-Za-z0-9]+)_([A-Za-z0-9]+)__(.+)__([A-Za-z0-9]+)")


def videos_dir(root: Path, kind: str, folder: str, compression: str) -> Path:
    return root / kind / folder / compression / "videos"


def read_split(path: Path) -> list[tuple[str, str]]:
    """The id pairs of one official split file."""
    pairs = read_json(path, f"the FF++ split file {path.name}")
    if not isinstance(pairs, list):
        raise DatasetError(
            f'{path}: expected a JSON list of id pairs like ["953", "974"], found '
            f"{type(pairs).__name__}"
        )
    for i, pair in enumerate(pairs):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, str) and ID_PATTERN.fullmatch(v) for v in pair)
        ):
            raise DatasetError(
                f'{path}: item {i}: expected a pair of video ids like ["953", "974"], '
                f"found {pair!r}"
            )
    return [(a, b) for a, b in pairs]


def _add(named: dict[str, list[str]], name: str, set_: str) -> None:
    sets = named.setdefault(name, [])
    if set_ not in sets:
        sets.append(set_)


def _methods(value: object, root: Path) -> list[str]:
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(m, str) for m in value)
    ):
        raise DatasetError(
            f"{root}: expected methods to be a list of method names, found {value!r}"
        )
    unknown = [m for m in value if m not in METHODS]
    if unknown:
        raise DatasetError(
            f"{root}: expected methods among {', '.join(METHODS)}, found {', '.join(unknown)}"
        )
    if len(set(value)) != len(value):
        raise DatasetError(f"{root}: expected each method once in methods, found {list(value)}")
    return list(value)


def _fake_original(name: str) -> str | None:
    match = FAKE_PATTERN.fullmatch(name.rsplit(".", 1)[0])
    return f"{match.group(1)}.mp4" if match else None


def _dfd_original(name: str) -> str | None:
    match = DFD_FAKE_PATTERN.fullmatch(name.rsplit(".", 1)[0])
    return f"{match.group(1)}__{match.group(3)}.mp4" if match else None


def _group_videos(
    folder: Path,
    group: str,
    label: int,
    named: Mapping[str, list[str]] | None,
    default_set: str,
    original: Callable[[str], str | None],
) -> list[DatasetVideo]:
    """One group's videos: its files and, when ``named`` is given, the names the splits give
    it (``named`` None: the folder is the label source, every file goes to ``default_set``)."""
    on_disk = set(scan_videos(folder))
    videos = []
    for name in on_disk | set(named or ()):
        sets = named.get(name, []) if named is not None else [default_set]
        problem = None
        if len(sets) > 1:
            problem = f"named by the splits {', '.join(f'{s}.json' for s in sets)}"
        videos.append(
            DatasetVideo(
                name=name,
                path=folder / name,
                label=None if problem else label,
                set=sets[0] if sets else UNSPLIT,
                group=group,
                original=original(name),
                in_metadata=bool(sets),
                on_disk=name in on_disk,
                problem=problem,
            )
        )
    return videos


def list_videos(dataset: str, root: Path, options: Mapping[str, Any]) -> list[DatasetVideo]:
    comp = option_choice(options["compression"], "compression", COMPRESSIONS, root)
    methods = _methods(options["methods"], root)
    dfd_set = option_set(options["dfd_set"], "dfd_set", root)
    split_methods = [m for m in methods if m != DFD]
    folders = {}
    if split_methods:
        folders["youtube"] = videos_dir(root, "original_sequences", "youtube", comp)
    for method in methods:
        folders[method] = videos_dir(root, "manipulated_sequences", method, comp)
    if DFD in methods:
        folders["actors"] = videos_dir(root, "original_sequences", "actors", comp)
    for group, folder in folders.items():
        require_dir(folder, f"FF++ {group} videos ({comp})")

    videos: list[DatasetVideo] = []
    if split_methods:
        splits_dir = option_path(root, options["splits_dir"], "splits_dir")
        originals: dict[str, list[str]] = {}
        fakes: dict[str, list[str]] = {}
        for set_ in SETS:
            for a, b in read_split(splits_dir / f"{set_}.json"):
                _add(originals, f"{a}.mp4", set_)
                _add(originals, f"{b}.mp4", set_)
                _add(fakes, f"{a}_{b}.mp4", set_)
                _add(fakes, f"{b}_{a}.mp4", set_)
        videos += _group_videos(folders["youtube"], "youtube", 0, originals, "", lambda n: None)
        for method in split_methods:
            videos += _group_videos(folders[method], method, 1, fakes, "", _fake_original)
    if DFD in methods:
        videos += _group_videos(folders["actors"], "actors", 0, None, dfd_set, lambda n: None)
        videos += _group_videos(folders[DFD], DFD, 1, None, dfd_set, _dfd_original)
    return videos


LAYOUT = Layout(
    name="ffpp",
    list_videos=list_videos,
    keys={
        "compression": "c23",
        "methods": list(CLASSIC_METHODS),
        "splits_dir": "splits",
        "dfd_set": "test",
    },
    description="FaceForensics++: original_sequences/, manipulated_sequences/, official splits",
)
