"""Training/validation lists in the seed's format (docs/reproduction.md §5).

One line per face tube: ``<part>/<video_id>/frame%d_face<k>.<ext> start stride count label``.

The four numbers are the last four fields, so a path may hold spaces (``space name é``): such
a line is read from the right. A ``%`` of a name is written ``%%``, as printf-style formatting
(which the seed's loader used, ``pattern % frame``) expects. Lines of ordinary names are the
seed's, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rf_models.data.layout import crop_name
from rf_models.data.manifest import ManifestRow, read_manifest
from rf_models.io_utils import atomic_write_text


@dataclass(frozen=True)
class ListLine:
    pattern: str  # <part>/<video_id>/frame%d_face<k>.<ext>
    start: int
    stride: int
    count: int
    label: int

    def format(self) -> str:
        return f"{self.pattern} {self.start} {self.stride} {self.count} {self.label}"

    def frames(self) -> list[int]:
        return [self.start + i * self.stride for i in range(self.count)]

    def path(self, frame: int) -> str:
        """The crop path of ``frame``, relative to the crops root."""
        return self.pattern % frame


def escape_name(text: str) -> str:
    """A part or video id as it goes into a pattern: ``%`` doubled."""
    return text.replace("%", "%%")


def _check_pattern(pattern: str) -> bool:
    """Exactly one ``%d``; any other ``%`` doubled."""
    rest = pattern.replace("%%", "")
    return rest.count("%") == 1 and "%d" in rest


def parse_list_line(line: str, where: str = "") -> ListLine:
    parts = line.rsplit(maxsplit=4)
    if len(parts) != 5 or not parts[0].strip():
        raise ValueError(f"{where}: expected 'pattern start stride count label', found {line!r}")
    parts[0] = parts[0].strip()
    try:
        start, stride, count, label = (int(p) for p in parts[1:])
    except ValueError:
        raise ValueError(
            f"{where}: expected 'pattern start stride count label': start, stride, count and "
            f"label must be integers, found {line!r}"
        ) from None
    if not _check_pattern(parts[0]):
        raise ValueError(
            f"{where}: the path pattern needs a %d frame field: expected one %d in the path "
            f"(and %% for each % of a name), found {line!r}"
        )
    if label not in (0, 1):
        raise ValueError(f"{where}: label must be 0 (REAL) or 1 (FAKE), found {label}")
    if start < 1 or stride < 1:
        raise ValueError(f"{where}: start must be >= 1 and stride must be >= 1: {line!r}")
    return ListLine(parts[0], start, stride, count, label)


def read_list(path: str | Path) -> list[ListLine]:
    """The lines of a list file; count <= 0 lines are dropped as the seed did."""
    path = Path(path)
    lines = []
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if text.strip():
            line = parse_list_line(text, f"{path}:{number}")
            if line.count > 0:
                lines.append(line)
    return lines


def check_stride(stride: int, frame_stride: int) -> None:
    if stride < 1 or frame_stride < 1 or stride % frame_stride:
        raise ValueError(
            f"list stride {stride} must be a multiple of frames.stride {frame_stride}: "
            "only every frames.stride-th frame has a crop"
        )


def tube_lines(row: ManifestRow, stride: int, frame_stride: int, ext: str) -> list[ListLine]:
    """The list lines of one video: one per face tube, frames 1..n_frames every ``stride``."""
    check_stride(stride, frame_stride)
    if not row.usable or row.num_faces < 1 or row.label is None:
        return []
    count = len(range(1, row.n_frames + 1, stride))
    folder = f"{escape_name(row.part)}/{escape_name(row.video_id)}"
    return [
        ListLine(f"{folder}/{crop_name('%d', k, ext)}", 1, stride, count, row.label)
        for k in range(1, row.num_faces + 1)
    ]


def make_list(
    manifests: list[str | Path], out: str | Path, stride: int, frame_stride: int, ext: str
) -> int:
    """Write the list of every usable face tube in ``manifests``; return the number of lines."""
    check_stride(stride, frame_stride)
    lines = []
    for manifest in manifests:
        for row in read_manifest(manifest):
            lines.extend(tube_lines(row, stride, frame_stride, ext))
    atomic_write_text(out, "".join(line.format() + "\n" for line in lines))
    return len(lines)
