"""align_faces: cut each tube's square crops from the full-resolution frames, decoded again."""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from rf_models.data.layout import crop_name, encode_params
from rf_models.data.manifest import ManifestRow, read_manifest, write_manifest
from rf_models.io_utils import atomic_output_dir
from rf_models.track.tracks import TracksFormatError, VideoTracks
from rf_models.track.tracks_io import read_tracks_json
from rf_models.video.decode import FrameReader, VideoError

log = logging.getLogger(__name__)


def crop_plan(tracks: VideoTracks) -> dict[int, dict[tuple[int, int, int], list[tuple[int, int]]]]:
    """source frame -> {(left, top, size): [(frame, face number), ...]}.

    Faces whose tube never fell inside the frame (crop size 0) are left out and the rest
    renumbered from 1, so a list's face<k> always has crops.
    """
    plan: dict[int, dict[tuple[int, int, int], list[tuple[int, int]]]] = defaultdict(dict)
    kept = [face for face in tracks.faces if face.crop_size > 0]
    for number, face in enumerate(kept, start=1):
        for crop in face.frames:
            key = (crop.left, crop.top, crop.size)
            plan[crop.source_frame].setdefault(key, []).append((crop.frame, number))
    return plan


def align_video(
    row: ManifestRow, video: Path, tracks: VideoTracks, out_dir: Path, ext: str, quality: int
) -> ManifestRow:
    plan = crop_plan(tracks)
    faces = sum(1 for face in tracks.faces if face.crop_size > 0)
    if faces == 0:
        return row.with_status("no_face", "every tube lies outside the frame", num_faces=0)
    params = encode_params(ext, quality)
    video_dir = out_dir / row.video_id
    video_dir.mkdir(parents=True, exist_ok=True)
    done = set()
    try:
        reader = FrameReader(video, wanted=plan)
        for index, image in reader:
            for (left, top, size), targets in plan[index].items():
                # a borrowed crop is the same pixels under several names: encode once
                ok, buf = cv2.imencode(
                    f".{ext}", image[top : top + size, left : left + size], params
                )
                if not ok:
                    raise VideoError(video, "unreadable", f"cannot encode a crop of frame {index}")
                data = buf.tobytes()
                for frame, face in targets:
                    (video_dir / crop_name(frame, face, ext)).write_bytes(data)
            done.add(index)
    except VideoError as err:
        return row.with_status(err.status, f"align: {err.reason}", num_faces=0)
    lost = sorted(set(plan) - done)
    if lost:
        reason = f"align: frames {lost[:5]} could not be decoded again ({reader.error})"
        return row.with_status("unreadable", reason, num_faces=0)
    return row.with_status(row.status, row.reason, num_faces=faces)


def align_part(
    part_dir: str | Path,
    tracks_dir: str | Path,
    manifest_in: str | Path,
    faces_out: str | Path,
    manifest_out: str | Path,
    ext: str = "jpg",
    quality: int = 95,
    threads: int = 1,
) -> list[ManifestRow]:
    part_dir, tracks_dir = Path(part_dir), Path(tracks_dir)
    rows = read_manifest(manifest_in)
    with atomic_output_dir(faces_out) as tmp:

        def one(row: ManifestRow) -> ManifestRow:
            if not row.usable:
                return row
            try:
                tracks = read_tracks_json(tracks_dir / f"{row.video_id}.json")
            except (OSError, TracksFormatError) as err:
                return row.with_status("unreadable", f"align: {err}", num_faces=0)
            return align_video(row, part_dir / row.video, tracks, Path(tmp), ext, quality)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            rows = list(pool.map(one, rows))
    for row in rows:
        if row.status not in ("ok", "partial"):
            log.info("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
    write_manifest(manifest_out, rows)
    return rows
