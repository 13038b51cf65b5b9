"""The competition's submission file: ``filename,label`` with label = P(FAKE), one row per video."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from numbers import Real
from pathlib import Path

from rf_models.io_utils import atomic_write_text

HEADER = ("filename", "label")


class SubmissionError(ValueError):
    """A submission (rows to write, or a file read back) that breaks the format."""


def _label(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise SubmissionError(f"{where}: expected a label in [0, 1], found {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise SubmissionError(f"{where}: expected a label in [0, 1], found {value!r}")
    return float(value)


def _filename(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise SubmissionError(f"{where}: expected a file name, found {value!r}")
    if any(c in value for c in ",\r\n/\\"):
        raise SubmissionError(
            f"{where}: expected a bare file name without commas, line breaks or slashes, "
            f"found {value!r}"
        )
    return value


def _check_expected(rows: Mapping[str, float], expected: Iterable[str] | None, where: str) -> None:
    if expected is None:
        return
    wanted = set(expected)
    missing = sorted(wanted - set(rows))
    extra = sorted(set(rows) - wanted)
    if missing or extra:
        raise SubmissionError(
            f"{where}: expected one row per video of {len(wanted)}, missing {len(missing)} "
            f"(e.g. {missing[:5]}), unexpected {len(extra)} (e.g. {extra[:5]})"
        )


def write_submission(
    rows: Mapping[str, float] | Iterable[tuple[str, float]],
    path: str | os.PathLike,
    expected_files: Iterable[str] | None = None,
) -> dict[str, float]:
    """Write ``filename,label`` rows sorted by file name, atomically; returns them as written.

    ``rows`` maps (or pairs) a video's file name to its P(FAKE). Every name must appear once
    and every label be a number in [0, 1]; with ``expected_files``, the names must be exactly
    those. Labels are written with full float precision.
    """
    path = Path(path)
    pairs = rows.items() if isinstance(rows, Mapping) else rows
    table: dict[str, float] = {}
    for position, pair in enumerate(pairs):
        where = f"{path}: row {position + 1}"
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise SubmissionError(f"{where}: expected a (filename, label) pair, found {pair!r}")
        name = _filename(pair[0], where)
        if name in table:
            raise SubmissionError(f"{where}: expected one row per file, found {name!r} again")
        table[name] = _label(pair[1], f"{where} ({name})")
    _check_expected(table, expected_files, str(path))
    ordered = dict(sorted(table.items()))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for name, label in ordered.items():
        writer.writerow((name, repr(label)))
    atomic_write_text(path, buf.getvalue())
    return ordered


def read_submission(
    path: str | os.PathLike, expected_files: Iterable[str] | None = None
) -> dict[str, float]:
    """Read and check a submission: header ``filename,label``, one row per file, labels in
    [0, 1] (and, with ``expected_files``, exactly those files). Returns name -> label in file
    order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SubmissionError(f"{path}: cannot read the submission: {err}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != HEADER:
        raise SubmissionError(
            f"{path}: line 1: expected the header 'filename,label', found {header}"
        )
    table: dict[str, float] = {}
    for line, record in enumerate(reader, start=2):
        where = f"{path}: line {line}"
        if len(record) != 2:
            raise SubmissionError(f"{where}: expected 'filename,label', found {record}")
        name = _filename(record[0], where)
        if name in table:
            raise SubmissionError(f"{where}: expected one row per file, found {name!r} again")
        try:
            value = float(record[1])
        except ValueError:
            raise SubmissionError(
                f"{where}: expected a label in [0, 1], found {record[1]!r}"
            ) from None
        table[name] = _label(value, f"{where} ({name})")
    _check_expected(table, expected_files, str(path))
    return table
