"""What the demo's builders share: the summary file a build writes last (its presence marks a
finished build, which a rebuild may replace) and the video options of their command lines."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any


def summary_dict(summary: Any, version: int) -> dict[str, Any]:
    """A summary dataclass as JSON-ready data with its format's version; the root is left out
    so that the file does not depend on where the build is."""
    data = asdict(summary)
    del data["root"]
    data["version"] = version
    return data


def summary_text(data: dict[str, Any]) -> str:
    """The summary file's bytes: sorted keys, so that equal builds write equal files."""
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def read_summary(path: Path, version: int, what: str, built: str) -> dict[str, Any]:
    """The JSON object of a build's summary file at its expected ``version``; an error naming
    the file otherwise (``what``: "demo summary"; ``built``: what the folder should be)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no {what} (is {path.parent} {built}?)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != version:
        found = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: expected {what} version {version}, got {found}")
    return data


def check_replaceable(root: Path, summary_name: str, what: str, earlier: str) -> None:
    """A build replaces ``root`` only when it is absent, empty or an earlier build (it holds
    the summary file): never a file or someone's folder."""
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root}: expected a directory for {what}, found a file")
    if root.is_dir() and any(root.iterdir()) and not (root / summary_name).is_file():
        raise FileExistsError(
            f"{root}: not empty and holds no {summary_name}; refusing to replace a directory "
            f"that is not {earlier}"
        )


def add_video_options(parser: argparse.ArgumentParser, max_seconds: float) -> None:
    """The rendered videos' size, rate and length options."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=max_seconds)


def video_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the builders from :func:`add_video_options`' options."""
    keys = ("seed", "width", "height", "fps", "min_seconds", "max_seconds")
    return {k: getattr(args, k) for k in keys}
