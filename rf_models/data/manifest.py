"""Per-part manifests: one row per video with its status, so no video is ever lost silently."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from rf_models.io_utils import atomic_write_text

# Videos with these statuses go on to the next stage; the others are recorded and skipped.
USABLE = ("ok", "partial")
STATUSES = USABLE + (
    "no_face",
    "unreadable",
    "empty_file",
    "missing",
    "not_in_metadata",
    "bad_metadata",
)


@dataclass(frozen=True)
class ManifestRow:
    part: str
    video: str
    label: int | None
    status: str
    reason: str = ""
    n_frames: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    num_faces: int = 0
    original: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"manifest status must be one of {STATUSES}, found {self.status!r}")
        if self.label not in (0, 1, None):
            raise ValueError(
                f"manifest label must be 0 (REAL), 1 (FAKE) or None, found {self.label!r}"
            )

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    @property
    def video_id(self) -> str:
        return Path(self.video).stem

    def with_status(self, status: str, reason: str, **changes) -> ManifestRow:
        return replace(self, status=status, reason=reason, **changes)


COLUMNS = [f.name for f in fields(ManifestRow)]


def write_manifest(path: str | Path, rows: list[ManifestRow]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = asdict(row)
        record["label"] = "" if row.label is None else row.label
        writer.writerow(record)
    atomic_write_text(path, buf.getvalue())


def read_manifest(path: str | Path) -> list[ManifestRow]:
    path = Path(path)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if reader.fieldnames != COLUMNS:
            raise ValueError(
                f"{path}: expected manifest columns {COLUMNS}, found {reader.fieldnames}"
            )
        rows = []
        for rec in reader:
            # csv.DictReader keeps extra fields under None and fills missing ones with None
            extra = rec.pop(None, None)
            if extra or None in rec.values():
                found = sum(v is not None for v in rec.values()) + len(extra or [])
                raise ValueError(
                    f"{path}: line {reader.line_num}: bad row for {rec.get('video')!r}: "
                    f"expected {len(COLUMNS)} tab-separated fields, found {found}"
                )
            try:
                rows.append(
                    ManifestRow(
                        part=rec["part"],
                        video=rec["video"],
                        label=int(rec["label"]) if rec["label"] != "" else None,
                        status=rec["status"],
                        reason=rec["reason"],
                        n_frames=int(rec["n_frames"]),
                        width=int(rec["width"]),
                        height=int(rec["height"]),
                        fps=float(rec["fps"]),
                        num_faces=int(rec["num_faces"]),
                        original=rec["original"],
                    )
                )
            except ValueError as err:
                raise ValueError(f"{path}: bad row for {rec.get('video')!r}: {err}") from None
    return rows


def status_counts(rows: list[ManifestRow]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row.status] += 1
    return counts
