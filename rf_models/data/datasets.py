"""Labelled video records of a dataset on disk, dealt into parts, and the files that carry them.

A layout lister (:mod:`rf_models.data.layouts`) turns a dataset folder into a
:class:`DatasetListing`: one :class:`DatasetVideo` per file found and per entry its label source
names (split json, test list, labels.csv, dataset.json, ...). This module holds those records,
:func:`finish_listing` (the checks every layout shares), :func:`deal_parts` (per set and group,
consecutive chunks of a fixed size), the dataset index TSV and the per-part source that
the workflow's part jobs get as a parameter and read as :class:`rf_models.data.dfdc.VideoEntry`
rows (:func:`part_source`, :func:`part_source_entries`).

Statuses before decoding (:func:`listed_status`): a video with a ``problem`` is
``bad_metadata``; one its label source names without a file is ``missing``; a file its label
source does not name is ``not_in_metadata``; the rest are ``listed`` and go on to decoding.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rf_models.data.dfdc import VideoEntry, name_problem, part_entries
from rf_models.io_utils import atomic_write_text
from rf_models.video.decode import VIDEO_EXTENSIONS

SETS = ("train", "val", "test")
UNSPLIT = "unsplit"  # videos that no official split names
SET_ORDER = SETS + (UNSPLIT,)
NAME_PATTERN = re.compile(r"[A-Za-z0-9_]+")  # dataset and group names reach file paths
PART_FORMAT = "rf_models.part/1"  # a part source: one part's videos, a jobs' parameter
INDEX_COLUMNS = (
    "dataset",
    "set",
    "group",
    "part",
    "video",
    "path",
    "label",
    "original",
    "status",
    "reason",
)
LISTED_STATUSES = ("bad_metadata", "missing", "not_in_metadata", "listed")
# names name_problem would accept, recognised without its per-character scan (listing speed)
_EXTENSIONS = "|".join(re.escape(e) for e in VIDEO_EXTENSIONS)
_PLAIN_VIDEO_NAME = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(?:{_EXTENSIONS})", re.IGNORECASE)


class DatasetError(ValueError):
    """A dataset that cannot be listed at all: unknown layout, missing root, a missing or
    malformed split or label file. The message names the file."""


@dataclass(frozen=True)
class DatasetVideo:
    """One video of a dataset, as found on disk and/or named by the dataset's label source."""

    name: str  # the file name the pipeline knows it by, e.g. "000_003.mp4"
    path: Path  # absolute path of the file (where it would be, when missing)
    label: int | None  # 1 = FAKE, 0 = REAL, None when unknown or bad
    set: str  # one of SETS or UNSPLIT
    group: str  # the source folder or method, e.g. "youtube", "Deepfakes"
    original: str | None  # a fake's real source/target video name, where the layout says it
    in_metadata: bool  # named by the dataset's label source
    on_disk: bool
    problem: str | None = None  # why its label or split entry cannot be used (bad_metadata)

    def __post_init__(self) -> None:
        if self.set not in SET_ORDER:
            raise ValueError(f"{self.path}: set must be one of {SET_ORDER}, found {self.set!r}")
        if not NAME_PATTERN.fullmatch(self.group):
            raise ValueError(
                f"{self.path}: group must match {NAME_PATTERN.pattern}, found {self.group!r}"
            )
        if self.label not in (0, 1, None):
            raise ValueError(
                f"{self.path}: label must be 0 (REAL), 1 (FAKE) or None, found {self.label!r}"
            )

    @property
    def usable(self) -> bool:
        """Whether the video goes on to decoding."""
        return self.problem is None and self.in_metadata and self.on_disk


@dataclass(frozen=True)
class DatasetListing:
    """Every video of one configured dataset, sorted by (set in SET_ORDER, group, name, path)."""

    dataset: str
    layout: str
    root: Path
    videos: tuple[DatasetVideo, ...]


def listed_status(video: DatasetVideo) -> tuple[str, str]:
    """The status a video has before decoding, one of LISTED_STATUSES, and its reason."""
    if video.problem is not None:
        return "bad_metadata", video.problem
    if not video.on_disk:
        return "missing", f"named by the dataset's label source, but no file at {video.path}"
    if not video.in_metadata:
        return "not_in_metadata", "file found, but the dataset's label source does not name it"
    return "listed", ""


def _sort_key(video: DatasetVideo) -> tuple[int, str, str, str]:
    return SET_ORDER.index(video.set), video.group, video.name, str(video.path)


def finish_listing(
    dataset: str, layout: str, root: Path, videos: Iterable[DatasetVideo]
) -> DatasetListing:
    """Sort a layout's records and apply the checks every layout shares.

    Within one (set, group): a name that is not a bare video file name gets a problem; of two
    problem-free records with one name (two paths), the later one gets a problem; of two
    usable videos whose names share a video id (``a.mp4``, ``a.MP4``), the later one gets a
    problem, since frames, crops and list lines are named by id.
    """
    if not NAME_PATTERN.fullmatch(dataset):
        raise DatasetError(f"dataset name must match {NAME_PATTERN.pattern}, found {dataset!r}")
    checked = []
    names: dict[tuple[str, str, str], DatasetVideo] = {}
    ids: dict[tuple[str, str, str], DatasetVideo] = {}
    for video in sorted(videos, key=_sort_key):
        if video.problem is None:
            problem = None if _PLAIN_VIDEO_NAME.fullmatch(video.name) else name_problem(video.name)
            if problem is not None:
                problem = f"unusable video name: {problem}"
            key = (video.set, video.group, video.name)
            if problem is None and key in names:
                problem = f"same name as {names[key].path} in set {video.set}, group {video.group}"
            stem = (video.set, video.group, os.path.splitext(video.name)[0])
            if problem is None and video.usable and stem in ids:
                problem = (
                    f"video id {stem[2]!r} is also the id of {ids[stem].name} in set "
                    f"{video.set}, group {video.group} (frames, crops and list lines are "
                    "named by id)"
                )
            if problem is None:
                names[key] = video
                if video.usable:
                    ids[stem] = video
            else:
                video = replace(video, label=None, problem=problem)
        checked.append(video)
    return DatasetListing(dataset, layout, root, tuple(checked))


def part_name(dataset: str, set: str, group: str, k: int) -> str:
    """The name of the k-th part (from 0) of a dataset's (set, group)."""
    for what, value in (("dataset", dataset), ("group", group)):
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"{what} name must match {NAME_PATTERN.pattern}, found {value!r}")
    if set not in SET_ORDER:
        raise ValueError(f"set must be one of {SET_ORDER}, found {set!r}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"part number must be an integer >= 0, found {k!r}")
    return f"{dataset}-{set}-{group}-{k}"


def deal_parts(listing: DatasetListing, part_size: int) -> dict[str, tuple[DatasetVideo, ...]]:
    """Per (set, group), the videos sorted by name cut into consecutive chunks of
    ``part_size``: ``{part name: videos}`` in SET_ORDER, then group name, then k."""
    if not isinstance(part_size, int) or isinstance(part_size, bool) or part_size < 1:
        raise ValueError(f"part_size must be an integer >= 1, found {part_size!r}")
    by_group: dict[tuple[str, str], list[DatasetVideo]] = {}
    for video in listing.videos:
        by_group.setdefault((video.set, video.group), []).append(video)
    parts: dict[str, tuple[DatasetVideo, ...]] = {}
    for set_, group in sorted(by_group, key=lambda sg: (SET_ORDER.index(sg[0]), sg[1])):
        videos = sorted(by_group[(set_, group)], key=lambda v: (v.name, str(v.path)))
        for k, start in enumerate(range(0, len(videos), part_size)):
            parts[part_name(listing.dataset, set_, group, k)] = tuple(
                videos[start : start + part_size]
            )
    return parts


def _tsv_cell(value: object) -> str:
    # a tab or newline inside a cell would shift or split the row
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _video_key(video: DatasetVideo) -> tuple[str, str, str, str]:
    return video.set, video.group, video.name, str(video.path)


def write_dataset_index(
    listing: DatasetListing,
    parts: Mapping[str, Sequence[DatasetVideo]],
    index_path: str | os.PathLike,
) -> None:
    """Write a TSV with one row per video of the listing (columns INDEX_COLUMNS), in the order
    of ``parts``; status and reason are :func:`listed_status`. Backslash, tab and newline in a
    cell are written as ``\\\\``, ``\\t``, ``\\n``. ValueError when ``parts`` does not hold each
    video of the listing exactly once."""
    wanted: dict[tuple[str, str, str, str], int] = {}
    for video in listing.videos:
        wanted[_video_key(video)] = wanted.get(_video_key(video), 0) + 1
    buf = io.StringIO()
    buf.write("\t".join(INDEX_COLUMNS) + "\n")
    for part, videos in parts.items():
        for video in videos:
            key = _video_key(video)
            if wanted.get(key, 0) == 0:
                raise ValueError(
                    f"{index_path}: part {part} holds {video.path} (set {video.set}, group "
                    f"{video.group}), which the listing of {listing.dataset} does not hold "
                    "(or holds fewer times)"
                )
            wanted[key] -= 1
            status, reason = listed_status(video)
            row = (
                listing.dataset,
                video.set,
                video.group,
                part,
                video.name,
                video.path,
                video.label,
                video.original,
                status,
                reason,
            )
            buf.write("\t".join(_tsv_cell(cell) for cell in row) + "\n")
    left = [key for key, n in wanted.items() if n]
    if left:
        raise ValueError(
            f"{index_path}: {len(left)} videos of {listing.dataset} are in no part, e.g. "
            f"{left[0][3]} (set {left[0][0]}, group {left[0][1]})"
        )
    atomic_write_text(index_path, buf.getvalue())


def _video_record(video: DatasetVideo) -> dict[str, object]:
    return {
        "name": video.name,
        "path": str(video.path),
        "label": video.label,
        "set": video.set,
        "group": video.group,
        "original": video.original,
        "in_metadata": video.in_metadata,
        "on_disk": video.on_disk,
        "problem": video.problem,
    }


def part_source(
    dataset: str, layout: str, part: str, videos: Sequence[DatasetVideo]
) -> dict[str, object]:
    """One part's videos as plain data (format PART_FORMAT): what its jobs get as a
    parameter, so that a change to one part's videos re-runs that part only."""
    return {
        "format": PART_FORMAT,
        "dataset": dataset,
        "layout": layout,
        "part": part,
        "videos": [_video_record(v) for v in videos],
    }


_RECORD_TYPES = {
    "name": (str,),
    "path": (str,),
    "label": (int, type(None)),
    "original": (str, type(None)),
    "in_metadata": (bool,),
    "on_disk": (bool,),
    "problem": (str, type(None)),
}


def _record_problem(record: object) -> str | None:
    if not isinstance(record, dict):
        return f"expected an object, found {type(record).__name__}"
    for key, types in _RECORD_TYPES.items():
        if key not in record:
            return f"expected a key {key!r}"
        value = record[key]
        if not isinstance(value, types) or (key == "label" and isinstance(value, bool)):
            return f"expected {key} to be {' or '.join(t.__name__ for t in types)}, found {value!r}"
    if record["label"] not in (0, 1, None):
        return f"expected label 0, 1 or null, found {record['label']!r}"
    return None


def part_source_entries(source: object) -> list[VideoEntry]:
    """A part source (:func:`part_source`) as VideoEntry rows (``part`` = the part's name),
    sorted by name; ValueError when it is not one.

    As in :func:`rf_models.data.dfdc.part_entries`, of two usable videos whose names share a
    video id the later one gets a problem. A record whose name another record of the part
    has already (it carries a problem: it is never decoded) is renamed ``<stem>~<n><ext>``,
    so that each manifest row of a part has a name of its own.
    """
    if not isinstance(source, Mapping) or source.get("format") != PART_FORMAT:
        found = source.get("format") if isinstance(source, Mapping) else type(source).__name__
        raise ValueError(f"expected a part source of format {PART_FORMAT}, found {found!r}")
    for key in ("dataset", "layout", "part"):
        if not isinstance(source.get(key), str):
            raise ValueError(
                f"part source: expected {key} to be a string, found {source.get(key)!r}"
            )
    part = source["part"]
    if not isinstance(source.get("videos"), list):
        raise ValueError(
            f"part {part}: expected videos to be a list, found {source.get('videos')!r}"
        )
    for i, record in enumerate(source["videos"]):
        problem = _record_problem(record)
        if problem:
            raise ValueError(f"part {part}: videos[{i}]: {problem}")
    entries = []
    ids: dict[str, str] = {}
    seen: dict[str, int] = {}
    for record in sorted(source["videos"], key=lambda r: (r["name"], r["path"])):
        name, label, original, problem = (
            record["name"],
            record["label"],
            record["original"],
            record["problem"],
        )
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            stem, ext = os.path.splitext(name)
            name = f"{stem}~{seen[name]}{ext}"
        video_id = os.path.splitext(name)[0]
        if problem is None and record["in_metadata"] and record["on_disk"]:
            if video_id in ids:
                problem = (
                    f"video id {video_id!r} is also the id of {ids[video_id]} (frames, crops "
                    "and list lines are named by id)"
                )
                label, original = None, None
            else:
                ids[video_id] = name
        entries.append(
            VideoEntry(
                part=part,
                video=name,
                path=Path(record["path"]),
                label=label,
                original=original,
                in_metadata=record["in_metadata"],
                on_disk=record["on_disk"],
                problem=problem,
            )
        )
    return entries


PartSource = str | os.PathLike | Mapping
"""A part as its jobs know it: a DFDC part folder, or a part source (:func:`part_source`)."""


def part_videos(source: PartSource) -> list[VideoEntry]:
    """Every video of a part: a DFDC folder's (:func:`rf_models.data.dfdc.part_entries`) or a
    part source's (:func:`part_source_entries`)."""
    if isinstance(source, Mapping):
        return part_source_entries(source)
    return part_entries(source)


def part_label(source: PartSource) -> str:
    """The part's name: its folder's, or the source's ``part``."""
    return str(source["part"]) if isinstance(source, Mapping) else Path(source).name


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        # absent (or a dangling link): decoding records it as missing
        return -1, 0
    return stat.st_size, stat.st_mtime_ns


def listing_signature(videos: Iterable[DatasetVideo]) -> str:
    """A digest of the videos' names, sizes and modification times (an absent file counts as
    size -1): as a rule parameter it re-runs a part when one of its videos changes."""
    digest = hashlib.sha1()
    stats = sorted((v.name, *_stat(v.path)) for v in videos)
    for name, size, mtime in stats:
        digest.update(f"{name}\t{size}\t{mtime}\n".encode())
    return f"{len(stats)} videos, sha1 {digest.hexdigest()}"
