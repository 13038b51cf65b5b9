"""What the layout listers share: the :class:`Layout` record, folder scans with ``os.scandir``
(no video is opened), reading the small label and split files, and checking layout keys.

Every error is a :class:`rf_models.data.datasets.DatasetError` that names the file or folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rf_models.data.datasets import SETS, DatasetError, DatasetVideo
from rf_models.video import decode
from rf_models.video.decode import is_video_name

Lister = Callable[[str, Path, Mapping[str, Any]], list[DatasetVideo]]


@dataclass(frozen=True)
class Layout:
    """A dataset layout: its lister, called as ``list_videos(dataset, root, options)`` with
    ``options`` = ``keys`` (the layout's keys and their defaults) updated by the block."""

    name: str
    list_videos: Lister
    keys: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


def scan_videos(folder: Path) -> list[str]:
    """The names of the video files directly in ``folder`` (none when it does not exist),
    as every reader of a folder lists them (:func:`rf_models.video.decode.scan_videos`: a
    dangling link counts as a file, which decoding records as missing)."""
    try:
        return [e.name for e in decode.scan_videos(folder)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise DatasetError(f"{folder}: cannot list the folder ({err.strerror})") from None


def scan_tree(folder: Path) -> list[str]:
    """The paths, relative to ``folder`` and joined with ``/``, of the video files in
    ``folder`` and its subfolders (none when it does not exist). Links to folders are not
    followed, so a link loop cannot hang the listing."""
    found: list[str] = []
    stack = [("", folder)]
    while stack:
        prefix, here = stack.pop()
        try:
            with os.scandir(here) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append((f"{prefix}{e.name}/", Path(e.path)))
                    elif is_video_name(e.name) and not e.is_dir():
                        found.append(prefix + e.name)
        except (FileNotFoundError, NotADirectoryError):
            if here == folder:
                return []
            continue  # removed while being listed: what is left of it is listed elsewhere
        except OSError as err:
            raise DatasetError(f"{here}: cannot list the folder ({err.strerror})") from None
    return found


def require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        found = "a file" if path.exists() else "nothing"
        raise DatasetError(f"{path}: expected the folder of {what}, found {found}")


def read_text(path: Path, what: str) -> str:
    """The text of a small label or split file (UTF-8, a byte-order mark dropped)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: expected {what}, found a folder") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read {what} ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: {what} is not UTF-8 text ({err})") from None


def read_json(path: Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: {what} is not valid JSON ({err})") from None


def option_path(root: Path, value: object, key: str) -> Path:
    """A path key of a dataset block: absolute, or relative to the dataset's root."""
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise DatasetError(f"{root}: expected {key} to be a path, found {value!r}")
    return Path(os.path.abspath(os.path.join(root, os.path.expanduser(value))))


def option_choice(value: object, key: str, choices: tuple[str, ...], root: Path) -> str:
    if value not in choices:
        raise DatasetError(
            f"{root}: expected {key} to be one of {', '.join(choices)}, found {value!r}"
        )
    return value  # type: ignore[return-value]


def option_set(value: object, key: str, root: Path) -> str:
    """A set key (``set``, ``dfd_set``): one of SETS."""
    return option_choice(value, key, SETS, root)


def parse_label(cell: str) -> int | None:
    """A label cell: 0/1 or REAL/FAKE (any case); None when it is neither."""
    text = cell.strip().upper()
    return {"0": 0, "1": 1, "REAL": 0, "FAKE": 1}.get(text)


def line_error(path: Path, number: int, line: str, expected: str) -> DatasetError:
    return DatasetError(f"{path}: line {number}: expected {expected}, found {line.strip()!r}")
