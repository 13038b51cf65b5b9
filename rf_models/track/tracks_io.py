"""Reading and writing a video's tracks as JSON (the seed used a pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rf_models.io_utils import atomic_write_text
from rf_models.track.tracks import TracksFormatError, VideoTracks


def write_tracks_json(path: str | os.PathLike[str], tracks: VideoTracks) -> None:
    """Write `tracks` to `path` atomically (temp file in the same folder, then os.replace)."""
    atomic_write_text(path, json.dumps(tracks.to_json_dict(), indent=1) + "\n")


def read_tracks_json(path: str | os.PathLike[str]) -> VideoTracks:
    """Read a tracks file; raise TracksFormatError naming the file when it is malformed."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TracksFormatError(
            f"{path}: expected a JSON tracks file, found invalid JSON ({err})"
        ) from err
    try:
        return VideoTracks.from_json_dict(data)
    except TracksFormatError as err:
        raise TracksFormatError(f"{path}: {err}") from err
