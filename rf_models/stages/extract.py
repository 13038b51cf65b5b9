"""extract_frames: decode every video of a part once, store frames for detection, record status."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.dfdc import VideoEntry, part_entries
from rf_models.data.layout import encode_params, frame_name
from rf_models.data.manifest import ManifestRow, write_manifest
from rf_models.detect.postprocess import resize_factor
from rf_models.io_utils import atomic_output_dir
from rf_models.video.decode import FrameReader, VideoError

log = logging.getLogger(__name__)


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
    skipped = _base_row(entry)
    if skipped is not None:
        return skipped
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
        return row.with_status(err.status, err.reason)
    except (ValueError, OSError, cv2.error) as err:
        # e.g. a stream that reports a 0-pixel size: record it, never fail the part
        return row.with_status("unreadable", f"cannot extract frames: {err}")
    geometry = dict(n_frames=reader.decoded, width=info.width, height=info.height, fps=info.fps)
    if reader.decoded == 0:
        return row.with_status(
            "unreadable", reader.error or "no frame could be decoded", **geometry
        )
    if reader.error:
        return row.with_status("partial", reader.error, **geometry)
    if info.declared_frames and reader.decoded < info.declared_frames:
        reason = f"decoded {reader.decoded} of {info.declared_frames} declared frames"
        return row.with_status("partial", reason, **geometry)
    return row.with_status("ok", "", **geometry)


def extract_part(
    part_dir: str | Path,
    frames_out: str | Path,
    manifest_out: str | Path,
    opts: FrameOptions,
    threads: int = 1,
) -> list[ManifestRow]:
    """Decode every video of ``part_dir`` into ``frames_out/<video_id>/frame<N>.<ext>``.

    Writes one manifest row per video found in the folder or in metadata.json. A bad
    video gets a status and a reason; it never fails the part.
    """
    entries = part_entries(part_dir)
    with atomic_output_dir(frames_out) as tmp:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            rows = list(pool.map(lambda e: extract_video(e, Path(tmp), opts), entries))
    for row in rows:
        if not row.usable:
            log.warning("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
    write_manifest(manifest_out, rows)
    return rows
