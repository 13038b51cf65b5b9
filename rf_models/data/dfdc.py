"""The DFDC folder layout: ``<root>/<part>/metadata.json`` plus the part's video files.

A part's videos are its files with a video extension (:data:`rf_models.video.decode.
VIDEO_EXTENSIONS`, any case) and the names its metadata.json lists. A metadata row that cannot
be used (unknown label, wrong types, a name that is a path) is kept as the video's problem, so
it gets a ``bad_metadata`` manifest row and the rest of the part goes on; only a metadata.json
that cannot be read or is not a JSON object fails the part.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rf_models.video.decode import VIDEO_EXTENSIONS, is_video_name, scan_videos

LABELS = {"REAL": 0, "FAKE": 1}


class MetadataError(ValueError):
    """A part's metadata.json cannot be used at all."""


@dataclass(frozen=True)
class VideoEntry:
    """One video of a part, as found in the folder and/or in metadata.json."""

    part: str
    video: str  # file name, e.g. "aaqaifqrwn.mp4"
    path: Path
    label: int | None  # 1 = FAKE, 0 = REAL, None when not in metadata (or its row is bad)
    original: str | None
    in_metadata: bool
    on_disk: bool
    problem: str | None = None  # why its metadata row cannot be used (bad_metadata)

    @property
    def video_id(self) -> str:
        return Path(self.video).stem


@dataclass(frozen=True)
class Metadata:
    """A metadata.json: the usable rows ``{file name: (label, original)}`` and the rows that
    cannot be used ``{name: reason}``."""

    labels: dict[str, tuple[int, str | None]]
    bad: dict[str, str]


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a video of a part (None when it can): it must be a bare file
    name, without folders or control characters, with a video extension."""
    if not name or name in (".", ".."):
        return f"expected a video file name, found {name!r}"
    if "/" in name or "\\" in name:
        return f"expected a file name in the part's folder, found the path {name!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"expected a file name without control characters, found {name!r}"
    if not is_video_name(name):
        return (
            f"expected a video file name ending in one of {', '.join(VIDEO_EXTENSIONS)} "
            f"(any case), found {name!r}"
        )
    return None


def _entry_problem(name: str, entry: object) -> str | None:
    problem = name_problem(name)
    if problem:
        return problem
    if not isinstance(entry, dict):
        return f"expected an object with a label, found {entry!r}"
    label = entry.get("label")
    if not isinstance(label, str) or label not in LABELS:
        return f"expected a label REAL or FAKE, found {label!r}"
    original = entry.get("original")
    if original is not None and not isinstance(original, str):
        return f"expected original to be a file name or null, found {original!r}"
    return None


def read_metadata(path: str | Path) -> Metadata:
    """Read a DFDC metadata.json; :class:`MetadataError` (naming the file) only when the file
    cannot be read or is not a JSON object. Bad rows come back in ``bad`` with the reason."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(f"{path}: metadata.json not found") from None
    except OSError as err:
        raise MetadataError(f"{path}: cannot read metadata.json ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise MetadataError(f"{path}: not valid JSON, not UTF-8 text ({err})") from None
    except json.JSONDecodeError as err:
        raise MetadataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise MetadataError(f"{path}: expected a JSON object of videos, found {type(raw).__name__}")
    labels: dict[str, tuple[int, str | None]] = {}
    bad: dict[str, str] = {}
    for name, entry in raw.items():
        problem = _entry_problem(name, entry)
        if problem:
            bad[name] = f"bad metadata.json row: {problem}"
        else:
            labels[name] = (LABELS[entry["label"]], entry.get("original"))
    return Metadata(labels, bad)


def part_entries(part_dir: str | Path) -> list[VideoEntry]:
    """Every video of a part, from the folder and from metadata.json, sorted by name.

    Listing only, no video is opened: the DAG and dry runs stay cheap. Two usable videos whose
    names share a video id (``a.mp4``, ``a.MP4``) would share their frames, crops and list
    lines: the later one is marked as a bad metadata row.
    """
    part_dir = Path(part_dir)
    meta = read_metadata(part_dir / "metadata.json")
    on_disk = {e.name for e in scan_videos(part_dir)}
    entries = []
    ids: dict[str, str] = {}
    for name in sorted(on_disk | set(meta.labels) | set(meta.bad)):
        label, original = meta.labels.get(name, (None, None))
        problem = meta.bad.get(name)
        video_id = Path(name).stem
        if problem is None and name in meta.labels and name in on_disk:
            if video_id in ids:
                problem = (
                    f"bad metadata.json row: video id {video_id!r} is also the id of "
                    f"{ids[video_id]} (frames, crops and list lines are named by id)"
                )
                label, original = None, None
            else:
                ids[video_id] = name
        entries.append(
            VideoEntry(
                part=part_dir.name,
                video=name,
                path=part_dir / name,
                label=label,
                original=original,
                in_metadata=name in meta.labels or name in meta.bad,
                on_disk=name in on_disk,
                problem=problem,
            )
        )
    return entries


def _size_mtime(entry: os.DirEntry) -> tuple[str, int, int]:
    try:
        stat = entry.stat()
    except FileNotFoundError:
        # a dangling symlink: extract_frames records the video as missing
        return entry.name, -1, 0
    return entry.name, stat.st_size, stat.st_mtime_ns


def part_signature(part_dir: str | Path) -> str:
    """A digest of the part's video names, sizes and modification times.

    Used as a rule parameter: a changed, added or removed video changes it and re-runs
    only its part, while the DAG never lists 2,400 inputs per part nor opens a video.
    """
    import hashlib

    digest = hashlib.sha1()
    if not os.path.isdir(part_dir):
        return "part folder not found"
    stats = sorted(_size_mtime(e) for e in scan_videos(part_dir))
    for name, size, mtime in stats:
        digest.update(f"{name}\t{size}\t{mtime}\n".encode())
    return f"{len(stats)} videos, sha1 {digest.hexdigest()}"
