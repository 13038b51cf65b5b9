"""The DFDC folder layout: ``<root>/<part>/metadata.json`` plus the part's ``.mp4`` files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LABELS = {"REAL": 0, "FAKE": 1}
VIDEO_SUFFIX = ".mp4"


class MetadataError(ValueError):
    """A part's metadata.json cannot be used."""


@dataclass(frozen=True)
class VideoEntry:
    """One video of a part, as found in the folder and/or in metadata.json."""

    part: str
    video: str  # file name, e.g. "aaqaifqrwn.mp4"
    path: Path
    label: int | None  # 1 = FAKE, 0 = REAL, None when not in metadata
    original: str | None
    in_metadata: bool
    on_disk: bool

    @property
    def video_id(self) -> str:
        return Path(self.video).stem


def read_metadata(path: str | Path) -> dict[str, tuple[int, str | None]]:
    """Return ``{file name: (label, original)}`` from a DFDC metadata.json."""
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
    out: dict[str, tuple[int, str | None]] = {}
    for name, entry in raw.items():
        label = entry.get("label") if isinstance(entry, dict) else None
        if not isinstance(label, str) or label not in LABELS:
            raise MetadataError(
                f"{path}: entry {name!r} needs a label REAL or FAKE, found {entry!r}"
            )
        original = entry.get("original")
        if original is not None and not isinstance(original, str):
            raise MetadataError(
                f"{path}: entry {name!r}: original must be a file name or null, found {original!r}"
            )
        out[name] = (LABELS[label], original)
    return out


def part_entries(part_dir: str | Path) -> list[VideoEntry]:
    """Every video of a part, from the folder and from metadata.json, sorted by name.

    Listing only, no video is opened: the DAG and dry runs stay cheap.
    """
    part_dir = Path(part_dir)
    meta = read_metadata(part_dir / "metadata.json")
    on_disk = {p.name for p in part_dir.glob(f"*{VIDEO_SUFFIX}")}
    entries = []
    for name in sorted(on_disk | set(meta)):
        label, original = meta.get(name, (None, None))
        entries.append(
            VideoEntry(
                part=part_dir.name,
                video=name,
                path=part_dir / name,
                label=label,
                original=original,
                in_metadata=name in meta,
                on_disk=name in on_disk,
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
    with os.scandir(part_dir) as it:
        stats = sorted(_size_mtime(e) for e in it if e.name.endswith(VIDEO_SUFFIX))
    for name, size, mtime in stats:
        digest.update(f"{name}\t{size}\t{mtime}\n".encode())
    return f"{len(stats)} videos, sha1 {digest.hexdigest()}"
