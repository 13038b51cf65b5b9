"""RetinaFace's 5 landmarks of a video's detections: one ``landmarks.json`` per video folder,
beside the seed-format ``frame<N>.txt`` files, lined up with their lines.

Layout (version 1)::

    {"version": 1, "frames": {
    "1": [[[x, y], [x, y], [x, y], [x, y], [x, y]], ...],
    "2": [],
    ...}}

``frames["N"][k]`` holds the points of line ``k + 2`` of ``frame<N>.txt`` (its k-th box, counting
from 0 after the count line), in original-frame pixels rounded to 2 decimals: left eye, right eye,
nose, left and right mouth corner ("left" is the image's left). Every frame with a txt has an
entry, an empty list when the txt has no box. The txt rounds boxes to integers; the landmarks
stay floats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path

import numpy as np

from rf_models.detect.txt_io import read_detections_txt, txt_order
from rf_models.io_utils import atomic_write_text

LANDMARKS_FILENAME = "landmarks.json"
FORMAT_VERSION = 1
DECIMALS = 2
NUM_POINTS = 5
_TXT = re.compile(r"^frame(\d+)\.txt$")
_FRAME_KEY = re.compile(r"^(0|[1-9][0-9]*)$")


class LandmarksFormatError(ValueError):
    """A landmarks file that does not follow the format, or does not line up with its txt files."""


def landmarks_in_txt_order(boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``landmarks`` (n, 5, 2) of ``boxes`` (n, 5) reordered as the txt writes the boxes."""
    order = txt_order(boxes)  # checks the boxes are (n, 5) and finite
    count = len(order)
    points = np.asarray(landmarks, dtype=np.float64)
    if points.size == 0 and count == 0:
        return points.reshape(0, NUM_POINTS, 2)
    if points.shape != (count, NUM_POINTS, 2):
        raise ValueError(
            f"expected landmarks of shape ({count}, {NUM_POINTS}, 2) for {count} boxes, "
            f"got {points.shape}"
        )
    if not np.isfinite(points).all():
        raise ValueError("expected finite landmark coordinates, found NaN or inf")
    return points[order]


def _rounded(points: np.ndarray) -> list[list[list[float]]]:
    # + 0.0 turns the -0.0 that rounding small negatives gives into 0.0
    return [[[round(float(v), DECIMALS) + 0.0 for v in point] for point in box] for box in points]


def format_landmarks_json(detections: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> str:
    """Text of a video's landmarks file from ``{frame_index: (boxes (n, 5), landmarks (n, 5, 2))}``
    as the detector returns them; each frame's landmarks are put in its txt's line order."""
    lines = []
    for frame in sorted(detections):
        if not isinstance(frame, Integral) or isinstance(frame, bool) or frame < 0:
            raise ValueError(f"expected frame indices that are integers >= 0, found {frame!r}")
        boxes, points = detections[frame]
        try:
            ordered = landmarks_in_txt_order(boxes, points)
        except ValueError as err:
            raise ValueError(f"frame {frame}: {err}") from None
        lines.append(f'"{int(frame)}":' + json.dumps(_rounded(ordered), separators=(",", ":")))
    body = ",\n".join(lines)
    return f'{{"version":{FORMAT_VERSION},"frames":{{\n{body}\n}}}}\n'


def write_landmarks_json(
    path: str | Path, detections: Mapping[int, tuple[np.ndarray, np.ndarray]]
) -> None:
    """Write :func:`format_landmarks_json` of ``detections`` to ``path`` atomically."""
    atomic_write_text(path, format_landmarks_json(detections))


def parse_landmarks_json(text: str, source: str = "<text>") -> dict[int, np.ndarray]:
    """``{frame_index: (n, 5, 2) float64}`` from a landmarks file's text; errors name ``source``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LandmarksFormatError(f"{source}: not valid JSON: {err}") from None
    if not isinstance(data, dict) or set(data) != {"version", "frames"}:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise LandmarksFormatError(
            f"{source}: expected an object with keys 'version' and 'frames', found {found}"
        )
    if data["version"] != FORMAT_VERSION:
        raise LandmarksFormatError(
            f"{source}: expected version {FORMAT_VERSION}, found {data['version']!r}"
        )
    frames = data["frames"]
    if not isinstance(frames, dict):
        raise LandmarksFormatError(
            f"{source}: 'frames': expected an object of frame index -> landmarks, "
            f"found {type(frames).__name__}"
        )
    out: dict[int, np.ndarray] = {}
    for key, value in frames.items():
        if not _FRAME_KEY.match(key):
            raise LandmarksFormatError(
                f"{source}: expected frame indices (decimal integers) as keys, found {key!r}"
            )
        out[int(key)] = _parse_frame(value, f"{source}: frame {key}")
    return dict(sorted(out.items()))


def _parse_frame(value: object, where: str) -> np.ndarray:
    if not isinstance(value, list):
        raise LandmarksFormatError(
            f"{where}: expected a list of boxes' landmarks, found {type(value).__name__}"
        )
    if not value:
        return np.zeros((0, NUM_POINTS, 2), dtype=np.float64)
    try:
        arr = np.asarray(value)
    except ValueError:
        arr = np.asarray([None], dtype=object)  # ragged nesting: reported below
    if arr.dtype.kind not in "iuf" or arr.shape != (len(value), NUM_POINTS, 2):
        raise LandmarksFormatError(
            f"{where}: expected {len(value)} x [[x, y] x {NUM_POINTS}] numbers, "
            f"found {json.dumps(value)[:120]}"
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise LandmarksFormatError(f"{where}: expected finite coordinates, found NaN or inf")
    return arr


def read_landmarks_json(path: str | Path) -> dict[int, np.ndarray]:
    """Read a landmarks file: ``{frame_index: (n, 5, 2) float64}``, row k = the txt's box k."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise LandmarksFormatError(f"{path}: not a text file: {err}") from None
    return parse_landmarks_json(text, source=str(path))


def check_video_landmarks(video_dir: str | Path) -> dict[int, np.ndarray]:
    """Read ``video_dir/landmarks.json`` and check it lines up with the folder's txt files.

    Every ``frame<N>.txt`` must have an entry with as many landmark sets as it has boxes, and
    the landmarks file must list no frame without a txt. Returns the landmarks; raises
    LandmarksFormatError naming the files that disagree (FileNotFoundError without the file).
    """
    video_dir = Path(video_dir)
    path = video_dir / LANDMARKS_FILENAME
    landmarks = read_landmarks_json(path)
    txt_files = {
        int(match.group(1)): entry
        for entry in video_dir.iterdir()
        if (match := _TXT.match(entry.name))
    }
    for frame in sorted(txt_files):
        txt = txt_files[frame]
        if frame not in landmarks:
            raise LandmarksFormatError(f"{path}: no entry for frame {frame}, which has {txt}")
        boxes = len(read_detections_txt(txt))
        if len(landmarks[frame]) != boxes:
            raise LandmarksFormatError(
                f"{path}: frame {frame}: expected {boxes} landmark sets, one per box of {txt}, "
                f"found {len(landmarks[frame])}"
            )
    extra = sorted(set(landmarks) - set(txt_files))
    if extra:
        raise LandmarksFormatError(
            f"{path}: expected frames that have a txt in {video_dir}, found frames {extra[:5]} "
            f"without one"
        )
    return landmarks
