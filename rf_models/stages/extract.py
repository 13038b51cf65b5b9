"""extract_frames: decode every video of a part once, store frames for detection, record status."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.datasets import PartSource, part_label, part_videos
from rf_models.data.dfdc import VideoEntry
from rf_models.data.layout import encode_params, frame_name
from rf_models.data.manifest import ManifestRow, write_manifest
from rf_models.detect.postprocess import resize_factor
from rf_models.resume_loop import Planned, VideoLoop
from rf_models.video.decode import FrameReader, VideoError
from rf_models.work_area import Entry, UpstreamArea, file_identity

log = logging.getLogger(__name__)

STAGE = "extract_frames"
# What a video's frames and row depend on besides the video and FrameOptions (work_area keys).
CODE = (__name__, "rf_models.video.decode", "rf_models.detect.postprocess")
LIBRARIES = ("cv2", "av", "numpy")
# Row fields that decoding sets; the others come from the folder listing and metadata.json.
_DECODED = ("status", "reason", "n_frames", "width", "height", "fps")


@dataclass(frozen=True)
class FrameOptions:
    stride: int = 1  # keep every stride-th frame (1 = every frame, as the seed)
    format: str = "jpg"  # jpg | png
    quality: int = 85  # JPEG quality (PNG is written losslessly)
    scale: str = "detect"  # detect: shrink to the detector's input size; full: keep size
    # values checked by the config schema (frames.*)

    def frame_scale(self, height: int, width: int) -> float:
        if self.scale == "full":
            return 1.0
        return resize_factor(height, width)


def resize_for_detection(image: np.ndarray, factor: float) -> np.ndarray:
    """The seed's resize (cv2, bilinear, same factor on both axes)."""
    if factor == 1.0:
        return image
    return cv2.resize(image, None, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)


def _base_row(entry: VideoEntry) -> ManifestRow | None:
    """The row of a video that is not decoded at all, or None when it should be."""
    row = ManifestRow(
        part=entry.part,
        video=entry.video,
        label=entry.label,
        status="ok",
        original=entry.original or "",
    )
    if entry.problem:
        return row.with_status("bad_metadata", entry.problem)
    if not entry.on_disk:
        return row.with_status("missing", "listed in metadata.json but the file is absent")
    if not entry.in_metadata:
        return row.with_status("not_in_metadata", "file has no entry (no label) in metadata.json")
    return None


def extract_video(entry: VideoEntry, out_dir: Path, opts: FrameOptions) -> ManifestRow:
    return _extract_video(entry, out_dir, opts)[0]


def _extract_video(
    entry: VideoEntry, out_dir: Path, opts: FrameOptions
) -> tuple[ManifestRow, bool]:
    """(row, whether the row may be kept for reuse): a status that an OSError gave may be a
    passing fault of the filesystem, so it is recomputed next time rather than kept."""
    skipped = _base_row(entry)
    if skipped is not None:
        return skipped, False
    row = ManifestRow(entry.part, entry.video, entry.label, "ok", original=entry.original or "")
    video_dir = out_dir / entry.video_id
    try:
        reader = FrameReader(entry.path)
        info = reader.info
        factor = opts.frame_scale(info.height, info.width)
        video_dir.mkdir(parents=True, exist_ok=True)
        params = encode_params(opts.format, opts.quality)
        for index, image in reader:
            if (index - 1) % opts.stride:
                continue
            ok, buf = cv2.imencode(f".{opts.format}", resize_for_detection(image, factor), params)
            if not ok:
                raise VideoError(entry.path, "unreadable", f"cannot encode frame {index}")
            (video_dir / frame_name(index, opts.format)).write_bytes(buf.tobytes())
    except VideoError as err:
        return row.with_status(err.status, err.reason), True
    except OSError as err:
        return row.with_status("unreadable", f"cannot extract frames: {err}"), False
    except (ValueError, cv2.error) as err:
        # e.g. a stream that reports a 0-pixel size: record it, never fail the part
        return row.with_status("unreadable", f"cannot extract frames: {err}"), True
    geometry = dict(n_frames=reader.decoded, width=info.width, height=info.height, fps=info.fps)
    if reader.decoded == 0:
        return row.with_status(
            "unreadable", reader.error or "no frame could be decoded", **geometry
        ), True
    if reader.error:
        return row.with_status("partial", reader.error, **geometry), True
    if info.declared_frames and reader.decoded < info.declared_frames:
        reason = f"decoded {reader.decoded} of {info.declared_frames} declared frames"
        return row.with_status("partial", reason, **geometry), True
    return row.with_status("ok", "", **geometry), True


def _reused_row(entry: VideoEntry, kept: Entry) -> ManifestRow | None:
    """The row of a kept result, with the current listing's label and original."""
    try:
        decoded = {name: kept.record[name] for name in _DECODED}
        row = ManifestRow(entry.part, entry.video, entry.label, **decoded)
    except (KeyError, TypeError, ValueError):
        return None
    return row.with_status(row.status, row.reason, original=entry.original or "")


def extract_part(
    part: PartSource,
    frames_out: str | Path,
    manifest_out: str | Path,
    opts: FrameOptions,
    threads: int = 1,
    work: str | Path | None = None,
    keep_frames: bool = True,
    downstream_work: str | Path | None = None,
) -> list[ManifestRow]:
    """Decode every video of ``part`` (a DFDC part folder, or a dataset part's source:
    :func:`rf_models.data.datasets.part_videos`) into ``frames_out/<video_id>/frame<N>.<ext>``.

    Writes one manifest row per video found in the folder or named by its metadata. A bad
    video gets a status and a reason; it never fails the part.

    With ``work`` (this part's work area, see :mod:`rf_models.work_area`), each decoded video's
    frames and row are kept there as soon as they are complete, and a video whose name, size,
    mtime, options and code are unchanged is not decoded again. ``keep_frames`` (frames are not
    ``temp()``): the work area keeps hard links to the frames, so a re-run after a changed video
    decodes only that video. Otherwise the frames are moved into ``frames_out`` at the end and
    the work area keeps only the rows: a killed job still resumes, and the frames' disk is
    freed as soon as detection deletes ``frames_out``. Then, with ``downstream_work`` (the
    part's detect_faces work area), a video whose row is kept and whose detections were made
    from these very frames is not decoded again: the output has no frames for it, and
    detection reuses its result (or, if its own key changed, decodes the video itself).
    """
    entries = part_videos(part)
    label = part_label(part)
    loop = VideoLoop(work, STAGE, asdict(opts), CODE, LIBRARIES)
    rows: list[ManifestRow | None] = [None] * len(entries)
    downstream = UpstreamArea(downstream_work if not keep_frames else None)
    items: list[Planned[int]] = []
    for i, entry in enumerate(entries):
        base = _base_row(entry)
        if base is not None:
            rows[i] = base
            continue
        identity = file_identity(entry.path) if loop.keeps else None
        item = loop.plan(
            entry.video_id,
            i,
            {"video": identity} if identity else None,
            accept=lambda kept, entry=entry: _reused_row(entry, kept) is not None,
        )
        if not item.reused and item.key is not None:
            # frames handed over and deleted: still settled if detection used these very ones
            found = loop.kept_without_data(item)
            if (
                found is not None
                and _reused_row(entry, found) is not None
                and downstream.consumed(entry.video_id, found.identity)
            ):
                item.kept, item.link = found, False
        if item.reused:
            rows[i] = _reused_row(entry, item.kept)
        items.append(item)
    hand_over = "link" if keep_frames else "move"
    with loop.run(items, frames_out, f"{STAGE} {label}", hand_over=hand_over) as run:

        def one(item: Planned[int]) -> None:
            i = item.payload
            with run.slot(item) as slot:
                rows[i], slot.store = _extract_video(entries[i], slot.data, opts)
                slot.record = {name: getattr(rows[i], name) for name in _DECODED}

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(one, run.todo))
    done = [row for row in rows if row is not None]
    if len(done) != len(entries):
        raise RuntimeError(f"{label}: {len(entries) - len(done)} videos have no manifest row")
    for row in done:
        if not row.usable:
            log.warning("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
    write_manifest(manifest_out, done)
    return done
