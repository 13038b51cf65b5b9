"""The per-frame detection text format of the seed (docs/reproduction.md §3).

First line: the number of boxes. Then one line per box, highest score first:
``x y w h score`` with integer top-left corner and size and the float32 score,
e.g. ``766 238 215 317 0.99811953``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rf_models.io_utils import atomic_write_text


class DetectionsFormatError(ValueError):
    """A detections txt file that does not follow the format."""


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 5)
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise ValueError(f"expected boxes of shape (n, 5) [x1, y1, x2, y2, score], got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("expected finite box coordinates and scores, found NaN or inf")
    return arr


def txt_order(boxes: np.ndarray) -> np.ndarray:
    """Indices of ``boxes`` in the order their lines are written: score, highest first
    (stable, so equal scores keep their order). Files kept beside the txt (the landmarks)
    use it to line up with the txt's lines."""
    arr = _as_boxes(boxes)
    return np.argsort(-arr[:, 4], kind="stable")


def format_detections_txt(boxes: np.ndarray) -> str:
    """Text of a detections file for (n, 5) [x1, y1, x2, y2, score] boxes.

    x = int(x1), y = int(y1), w = int(x2) - int(x1), h = int(y2) - int(y1) (int()
    truncates toward zero, as the seed did); score = str(np.float32(score)). Lines are
    ordered by score, highest first (stable, so equal scores keep their order).
    """
    arr = _as_boxes(boxes)
    arr = arr[txt_order(arr)]
    lines = [str(len(arr))]
    for x1, y1, x2, y2, score in arr:
        left, top = int(x1), int(y1)
        # str(), not a bare f-string field: formatting np.float32 that way prints the
        # digits of its float64 value (0.9981195330619812 instead of 0.99811953).
        lines.append(f"{left} {top} {int(x2) - left} {int(y2) - top} {str(np.float32(score))}")
    return "\n".join(lines) + "\n"


def write_detections_txt(path: str | Path, boxes: np.ndarray) -> None:
    """Write :func:`format_detections_txt` of ``boxes`` to ``path`` atomically."""
    atomic_write_text(path, format_detections_txt(boxes))


def parse_detections_txt(text: str, source: str = "<text>") -> np.ndarray:
    """Parse detections text into (n, 5) float32 [x, y, w, h, score]; errors name ``source``."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DetectionsFormatError(f"{source}: empty detections file, expected a box count")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise DetectionsFormatError(
            f"{source}: line 1: expected the number of boxes, found {lines[0]!r}"
        ) from None
    if count < 0:
        raise DetectionsFormatError(f"{source}: line 1: negative box count {count}")
    rows = lines[1:]
    if len(rows) != count:
        raise DetectionsFormatError(
            f"{source}: header says {count} boxes, found {len(rows)} box lines"
        )
    out = np.zeros((count, 5), dtype=np.float32)
    for k, line in enumerate(rows):
        fields = line.split()
        if len(fields) != 5:
            raise DetectionsFormatError(
                f"{source}: line {k + 2}: expected 'x y w h score', found {line!r}"
            )
        try:
            out[k, :4] = [int(v) for v in fields[:4]]
            score = float(fields[4])
        except ValueError:
            raise DetectionsFormatError(
                f"{source}: line {k + 2}: expected integers x y w h and a float score, "
                f"found {line!r}"
            ) from None
        if not np.isfinite(score):
            raise DetectionsFormatError(f"{source}: line {k + 2}: score is not finite: {line!r}")
        out[k, 4] = score
    return out


def read_detections_txt(path: str | Path) -> np.ndarray:
    """Read a detections file into (n, 5) float32 [x, y, w, h, score], in file order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DetectionsFormatError(f"{path}: not a text file: {exc}") from None
    return parse_detections_txt(text, source=str(path))
