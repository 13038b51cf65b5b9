"""Bounded scratch: at most ``frames.max_parts`` parts' frames on disk at once.

Frames are the only large temporary data (about 49 GB per DFDC part). They exist from the
start of a part's extract_frames until its detect_faces ends and Snakemake deletes them
(``temp()``). A Snakemake resource cannot bound that span: it is held only while one job runs,
and Snakemake's job groups, which could hold it across both jobs, are inactive in local runs.
So the bound is in the DAG: parts are dealt, in configuration order, into ``max_parts`` lanes,
and a part's frames_turn (an input of its extract_frames) waits for the detection of the part
before it in its lane. Each lane then holds one part's frames at a time, so the parts with
frames on disk are never more than the lanes. The turn file is an ``ancient()`` input of
extract_frames: a re-run of the earlier part's detection orders a re-run of the later part's
extraction after it, but never causes it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from rf_models.io_utils import atomic_write_text


def frames_turn_after(parts: Sequence[str], part: str, max_parts: int, temp: bool) -> str | None:
    """The part whose detection ``part``'s frame extraction waits for, or None.

    None when there is no cap (``max_parts`` 0), when frames are kept (``temp`` false: they
    are not scratch, nothing would free them), for the first ``max_parts`` parts, and for a
    part outside ``parts``.
    """
    if max_parts < 0:
        raise ValueError(f"frames.max_parts: expected 0 (no cap) or more, found {max_parts}")
    if not max_parts or not temp or part not in parts:
        return None
    index = list(parts).index(part)
    return parts[index - max_parts] if index >= max_parts else None


def write_frames_turn(
    path: str | os.PathLike, part: str, after: str | None, log_path: str | os.PathLike
) -> None:
    """The turn file (constant text: rewriting it when the cap changed changes nothing else)
    and a one-line log saying what the part waited for."""
    waited = f"after the detection of {after}" if after else "without waiting (no earlier part)"
    atomic_write_text(log_path, f"{part}: frames may be extracted {waited}\n")
    atomic_write_text(path, f"{part} may extract its frames\n")
