"""Per-video results that survive a failed per-part job, so a retry or re-run redoes only what
changed (like training's last.pt: kept beside the outputs, never a declared output).

A stage's work area for one part holds one committed entry per video::

    <root>/videos/<video_id>/entry.json   key, record (JSON), the data's file and folder names
    <root>/videos/<video_id>/data/...     the files the video adds to the stage's output folder
    <root>/incoming/<video_id>.<random>/  an entry being written; removed when the area opens

An entry is built under ``incoming/`` and renamed into ``videos/`` only once complete, so a
kill at any moment leaves either the previous entry, no entry, or a complete new one; never a
half-written one that a later run would reuse. Its key is a digest of everything the result
depends on (the stage, its parameters, the code's version, the video and its upstream
result): a result is reused only under the same key.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTRY = "entry.json"
DATA = "data"
FORMAT = 1  # entry.json layout; entries of another format are recomputed


def digest(value: Any) -> str:
    """sha256 of a JSON-able value (keys sorted, so dict order never matters)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_version(modules: Iterable[str], libraries: Iterable[str] = ()) -> str:
    """Digest of the source of ``modules`` and the versions of ``libraries``.

    Hashed rather than a hand-bumped constant: Snakemake re-runs a rule when its workflow
    script changes, not when the rf_models code behind it does, so a forgotten bump would
    silently reuse results of old code. Any edit, even a comment, costs one recomputation of
    the parts re-run afterwards; reusing a wrong result would cost far more.
    """
    parts = {}
    for name in sorted(set(modules)):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"code_version: expected an importable module, found none: {name}")
        parts[name] = hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()
    for name in sorted(set(libraries)):
        try:
            module = __import__(name)
        except ImportError:
            parts[name] = "absent"
        else:
            parts[name] = str(getattr(module, "__version__", "unknown"))
    return digest(parts)


def file_identity(path: str | os.PathLike) -> dict[str, Any] | None:
    """Name, size and modification time of a file (what part signatures use); None if absent."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"name": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_digest(path: str | os.PathLike | None) -> str | None:
    """sha256 of a file's bytes (weights, checkpoints: read once per job); None if absent."""
    if path is None or not Path(path).is_file():
        return None
    digest_ = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest_.update(block)
    return digest_.hexdigest()


def tree_identity(path: str | os.PathLike) -> str | None:
    """Digest of the names, sizes and mtimes under ``path`` (a file or a folder); None if absent.

    The upstream identity of a video when its upstream stage kept no entry (its work area was
    deleted): valid as long as the upstream output is not rewritten.
    """
    path = Path(path)
    if path.is_file():
        return digest(file_identity(path))
    if not path.is_dir():
        return None
    found = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder, name)
            found.append([str(full.relative_to(path)), file_identity(full)])
    return digest(found)


def _tree(root: Path) -> tuple[list[str], list[str]]:
    """(files, folders) under ``root`` as sorted relative paths."""
    files, dirs = [], []
    for folder, subdirs, names in os.walk(root):
        rel = Path(folder).relative_to(root)
        dirs.extend(str(rel / d) for d in subdirs)
        files.extend(str(rel / n) for n in names)
    return sorted(files), sorted(dirs)


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link (no copy, same bytes), or a copy where the filesystem cannot link."""
    try:
        os.link(src, dst)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(src, dst)


@dataclass(frozen=True)
class Entry:
    """A committed per-video result: its key, its record and the files it adds to the output."""

    path: Path
    key: str
    record: dict[str, Any]
    files: tuple[str, ...]
    dirs: tuple[str, ...]

    @property
    def data(self) -> Path:
        return self.path / DATA

    @property
    def identity(self) -> str:
        """How a later stage's key names this result (:meth:`UpstreamArea.identity`)."""
        return f"entry:{self.key}"

    def has_data(self) -> bool:
        """Every file the entry lists is still there (data handed over by a move is not)."""
        if not self.files and not self.dirs:
            return True
        if not self.data.is_dir():
            return False
        return _tree(self.data) == (list(self.files), list(self.dirs))

    def link_into(self, out_dir: str | os.PathLike) -> None:
        """Add the entry's files to ``out_dir`` as hard links; the entry keeps them."""
        out_dir = Path(out_dir)
        for rel in self.dirs:
            (out_dir / rel).mkdir(parents=True, exist_ok=True)
        for rel in self.files:
            link_or_copy(self.data / rel, out_dir / rel)

    def move_into(self, out_dir: str | os.PathLike) -> None:
        """Move the entry's files to ``out_dir`` (one rename per top-level item); the entry keeps
        its key and record, so a later stage can still name this result, but no data."""
        out_dir = Path(out_dir)
        if not self.data.is_dir():
            return
        for item in sorted(self.data.iterdir()):
            os.replace(item, out_dir / item.name)
        self.data.rmdir()


@dataclass
class Slot:
    """An entry being written: put the video's output files under ``data`` and its JSON-able
    result in ``record``. ``store = False`` drops it (e.g. a failure that may be transient)."""

    path: Path
    record: dict[str, Any] = field(default_factory=dict)
    store: bool = True

    @property
    def data(self) -> Path:
        return self.path / DATA


def read_entry(path: Path) -> Entry | None:
    """The committed entry at ``path``, or None when there is none or it is unreadable."""
    try:
        raw = json.loads((path / ENTRY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return None
    try:
        return Entry(
            path=path,
            key=str(raw["key"]),
            record=dict(raw["record"]),
            files=tuple(raw["files"]),
            dirs=tuple(raw["dirs"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


class WorkArea:
    """One stage's per-video results for one part (see the module docstring).

    ``params`` (JSON-able) and ``modules`` (the code the stage's result depends on) make the
    area's base key; :meth:`key` adds a video's own dependencies. Opening the area removes the
    entries that killed attempts left half-written. One job uses an area at a time (Snakemake
    never runs two jobs of one part and rule at once); threads may commit different videos.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        stage: str,
        params: Mapping[str, Any],
        modules: Iterable[str] = (),
        libraries: Iterable[str] = (),
    ) -> None:
        self.root = Path(root)
        self.stage = stage
        self.videos = self.root / "videos"
        self.incoming = self.root / "incoming"
        self.videos.mkdir(parents=True, exist_ok=True)
        if self.incoming.exists():
            shutil.rmtree(self.incoming)
        self.incoming.mkdir()
        self.base = digest(
            {
                "stage": stage,
                "params": params,
                "code": code_version([*modules, __name__], libraries),
            }
        )

    def key(self, video_id: str, **deps: Any) -> str:
        """The key of one video's result: the area's base key, the video id and ``deps``."""
        return digest({"base": self.base, "video": video_id, "deps": deps})

    def entry(self, video_id: str) -> Entry | None:
        return read_entry(self.videos / video_id)

    def reusable(self, video_id: str, key: str | None, need_data: bool = True) -> Entry | None:
        """The committed entry of ``video_id`` if it was made under ``key`` (and, with
        ``need_data``, still holds its files)."""
        if key is None:
            return None
        entry = self.entry(video_id)
        if entry is None or entry.key != key or (need_data and not entry.has_data()):
            return None
        return entry

    @contextlib.contextmanager
    def commit(self, video_id: str, key: str) -> Iterator[Slot]:
        """Build ``video_id``'s entry in a slot; it replaces the old entry only if the block ends
        normally (and the slot's ``store`` is still true). The slot's ``data`` folder exists."""
        if not video_id or "/" in video_id or video_id in (".", ".."):
            raise ValueError(f"work area {self.root}: expected a video id, found {video_id!r}")
        slot = Slot(self.incoming / f"{video_id}.{uuid.uuid4().hex}")
        slot.data.mkdir(parents=True)
        try:
            yield slot
            if slot.store:
                self._publish(video_id, key, slot)
        finally:
            shutil.rmtree(slot.path, ignore_errors=True)

    def _publish(self, video_id: str, key: str, slot: Slot) -> None:
        files, dirs = _tree(slot.data)
        entry = {
            "format": FORMAT,
            "stage": self.stage,
            "video": video_id,
            "key": key,
            "record": slot.record,
            "files": files,
            "dirs": dirs,
        }
        # written last inside the slot: the rename below publishes data and entry.json at once
        (slot.path / ENTRY).write_text(json.dumps(entry, indent=1) + "\n", encoding="utf-8")
        final = self.videos / video_id
        if final.exists():
            # a directory cannot replace a non-empty one: move the old entry aside first (a kill
            # in between leaves no entry, so the video is recomputed)
            old = self.incoming / f"{video_id}.{uuid.uuid4().hex}.old"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(slot.path, final)

    def prune(self, keep: Iterable[str]) -> int:
        """Remove the entries of videos not in ``keep`` (videos no longer in the part)."""
        keep = set(keep)
        removed = 0
        for path in self.videos.iterdir():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        return removed


class NullWorkArea:
    """The work area of a run that has none: no key, so nothing is reused or kept."""

    def key(self, video_id: str, **deps: Any) -> None:
        return None

    def entry(self, video_id: str) -> None:
        return None

    def reusable(self, video_id: str, key: str | None, need_data: bool = True) -> None:
        return None

    def prune(self, keep: Iterable[str]) -> int:
        return 0


def open_work_area(
    root: str | os.PathLike | None,
    stage: str,
    params: Mapping[str, Any],
    modules: Iterable[str] = (),
    libraries: Iterable[str] = (),
) -> WorkArea | NullWorkArea:
    """The stage's :class:`WorkArea` at ``root``, or a :class:`NullWorkArea` without one."""
    if root is None:
        return NullWorkArea()
    return WorkArea(root, stage, params, modules, libraries)


class UpstreamArea:
    """Read-only view of another stage's work area: of the previous stage's, the key its result
    of a video was made under, so a stage's key can name its upstream result without reading or
    hashing it; of the next stage's, whether it already holds a result made from this one."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.videos = Path(root) / "videos" if root is not None else None

    def identity(self, video_id: str, output: str | os.PathLike) -> str | None:
        """The upstream entry's key, else the names, sizes and mtimes of the upstream ``output``
        for this video, else None (no upstream result: nothing can be reused)."""
        if self.videos is not None:
            entry = read_entry(self.videos / video_id)
            if entry is not None:
                return entry.identity
        found = tree_identity(output)
        return None if found is None else f"tree:{found}"

    def consumed(self, video_id: str, identity: str) -> bool:
        """Whether the next stage's area (this view's root) holds a complete result of
        ``video_id`` made from the upstream result ``identity`` (its record's ``upstream``):
        the upstream stage may then skip recomputing data that only fed that result."""
        if self.videos is None:
            return False
        entry = read_entry(self.videos / video_id)
        return entry is not None and entry.record.get("upstream") == identity and entry.has_data()
