"""track_faces: the seed's IoU tubes and crop boxes for every video of a part, as JSON."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

from rf_models.data.manifest import ManifestRow, read_manifest, write_manifest
from rf_models.detect.txt_io import read_detections_txt
from rf_models.resume_loop import Planned, VideoLoop
from rf_models.track.boxes import boxes_from_txt_rows
from rf_models.track.tracks import track_video
from rf_models.track.tracks_io import write_tracks_json
from rf_models.work_area import Entry, UpstreamArea

log = logging.getLogger(__name__)
_TXT = re.compile(r"^frame(\d+)\.txt$")

STAGE = "track_faces"
# What a video's tubes depend on besides its detections, its row and the options.
CODE = (
    __name__,
    "rf_models.detect.txt_io",
    "rf_models.track.boxes",
    "rf_models.track.tracks",
    "rf_models.track.tubes",
    "rf_models.track.tracks_io",
)
LIBRARIES = ("numpy",)


def read_video_detections(video_dir: Path, score_threshold: float) -> dict[int, list]:
    """Kept boxes (corners) per frame index from a video's ``frame<N>.txt`` files."""
    out = {}
    for path in video_dir.iterdir():
        match = _TXT.match(path.name)
        if match:
            out[int(match.group(1))] = boxes_from_txt_rows(
                read_detections_txt(path), score_threshold
            )
    return out


def track_one(row: ManifestRow, detections_dir: Path, opts: dict, frame_stride: int):
    """(tracks or None, updated manifest row) for one video."""
    video_dir = detections_dir / row.video_id
    if not video_dir.is_dir():
        return None, row.with_status("unreadable", "no detections (see the detect_faces log)")
    try:
        detections = read_video_detections(video_dir, opts["score_threshold"])
    except ValueError as err:
        return None, row.with_status("unreadable", f"bad detection file: {err}")
    frames = list(range(1, row.n_frames + 1, frame_stride))
    try:
        tracks = track_video(
            detections,
            frames,
            row.width,
            row.height,
            iou_threshold=opts["iou_threshold"],
            crop_scale=opts["crop_scale"],
            crop_source=opts["crop_source"],
        )
    except ValueError as err:
        # e.g. detections of frames the manifest says the video does not have
        return None, row.with_status("unreadable", f"{video_dir}: {err}")
    if tracks.status == "no_face":
        reason = (
            f"face-count vote is 0 ({sum(1 for b in detections.values() if b)} frames had faces)"
        )
        return tracks, row.with_status("no_face", reason, num_faces=0)
    return tracks, row.with_status(row.status, row.reason, num_faces=tracks.num_faces)


def track_part(
    detections_dir: str | Path,
    manifest_in: str | Path,
    tracks_out: str | Path,
    manifest_out: str | Path,
    opts: dict,
    frame_stride: int = 1,
    work: str | Path | None = None,
    upstream_work: str | Path | None = None,
) -> list[ManifestRow]:
    """Tubes of every usable video into ``tracks_out/<video_id>.json`` and a manifest.

    With ``work``, each video's tracks and row are kept in this part's work area and reused
    while its row, its upstream result (its entry in ``upstream_work``, the detect_faces work
    area, else its detection files' names, sizes and mtimes), the options and the code are
    unchanged.
    """
    detections_dir = Path(detections_dir)
    rows_in = read_manifest(manifest_in)
    usable = [row for row in rows_in if row.usable]
    part = usable[0].part if usable else Path(tracks_out).name
    params = {"opts": dict(opts), "frame_stride": frame_stride}
    loop = VideoLoop(work, STAGE, params, CODE, LIBRARIES)
    upstream = UpstreamArea(upstream_work)
    items: dict[str, Planned[ManifestRow]] = {}
    for row in usable:
        source = None
        if loop.keeps:
            source = upstream.identity(row.video_id, detections_dir / row.video_id)
        deps = None if source is None else {"row": dataclasses.asdict(row), "detections": source}
        items[row.video] = loop.plan(
            row.video_id, row, deps, accept=lambda kept: _record_row(kept) is not None
        )
    rows = []
    with loop.run(list(items.values()), tracks_out, f"{STAGE} {part}") as run:
        for row in rows_in:
            if not row.usable:
                rows.append(row)
                continue
            item = items[row.video]
            if item.reused:
                row = _record_row(item.kept)
            else:
                with run.slot(item) as slot:
                    tracks, row = track_one(row, detections_dir, opts, frame_stride)
                    if tracks is not None:
                        write_tracks_json(slot.data / f"{row.video_id}.json", tracks)
                    slot.record = {"row": dataclasses.asdict(row)}
            if not row.usable:
                log.warning("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
            rows.append(row)
    write_manifest(manifest_out, rows)
    return rows


def _record_row(entry: Entry) -> ManifestRow | None:
    try:
        return ManifestRow(**entry.record["row"])
    except (KeyError, TypeError, ValueError):
        return None
