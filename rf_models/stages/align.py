"""align_faces: cut each tube's square crops from the full-resolution frames, decoded again."""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from rf_models.data.layout import crop_name, encode_params
from rf_models.data.manifest import ManifestRow, read_manifest, write_manifest
from rf_models.resume_loop import Planned, VideoLoop
from rf_models.track.tracks import TracksFormatError, VideoTracks
from rf_models.track.tracks_io import read_tracks_json
from rf_models.video.decode import FrameReader, VideoError
from rf_models.work_area import UpstreamArea, file_identity

log = logging.getLogger(__name__)

STAGE = "align_faces"
# What a video's crops depend on besides the video, its tracks and the options.
CODE = (__name__, "rf_models.video.decode", "rf_models.track.tracks", "rf_models.track.tracks_io")
LIBRARIES = ("cv2", "av", "numpy")


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


def _align_one(
    row: ManifestRow, part_dir: Path, tracks_dir: Path, out_dir: Path, ext: str, quality: int
) -> tuple[ManifestRow, bool]:
    """(row, whether the row may be kept for reuse): a status that an OSError gave may be a
    passing fault of the filesystem, so it is recomputed next time rather than kept."""
    try:
        tracks = read_tracks_json(tracks_dir / f"{row.video_id}.json")
    except OSError as err:
        return row.with_status("unreadable", f"align: {err}", num_faces=0), False
    except TracksFormatError as err:
        return row.with_status("unreadable", f"align: {err}", num_faces=0), True
    return align_video(row, part_dir / row.video, tracks, out_dir, ext, quality), True


def _outcome(row: ManifestRow) -> dict:
    """What align sets in a row: all it keeps, so a label change in metadata.json reuses it."""
    return {"status": row.status, "reason": row.reason, "num_faces": row.num_faces}


def _with_outcome(row: ManifestRow, outcome: dict) -> ManifestRow:
    return row.with_status(outcome["status"], outcome["reason"], num_faces=outcome["num_faces"])


def align_part(
    part_dir: str | Path,
    tracks_dir: str | Path,
    manifest_in: str | Path,
    faces_out: str | Path,
    manifest_out: str | Path,
    ext: str = "jpg",
    quality: int = 95,
    threads: int = 1,
    work: str | Path | None = None,
    upstream_work: str | Path | None = None,
) -> list[ManifestRow]:
    """Crops of every usable video into ``faces_out/<video_id>/`` and the part's final manifest.

    With ``work``, each video's crops and outcome are kept in this part's work area and reused
    while the video (name, size, mtime), its row's status and geometry, its tracks (their entry
    in ``upstream_work``, the track_faces work area, else the tracks file's size and mtime), the
    options and the code are unchanged.
    """
    part_dir, tracks_dir = Path(part_dir), Path(tracks_dir)
    rows = read_manifest(manifest_in)
    part = next((row.part for row in rows), Path(faces_out).name)
    loop = VideoLoop(work, STAGE, {"ext": ext, "quality": quality}, CODE, LIBRARIES)
    upstream = UpstreamArea(upstream_work)
    items: list[Planned[int]] = []
    for i, row in enumerate(rows):
        if not row.usable:
            continue
        deps = None
        if loop.keeps:
            video = file_identity(part_dir / row.video)
            source = upstream.identity(row.video_id, tracks_dir / f"{row.video_id}.json")
            if video is not None and source is not None:
                state = (row.status, row.reason, row.n_frames, row.width, row.height)
                deps = {"video": video, "row": state, "tracks": source}
        items.append(loop.plan(row.video_id, i, deps))
    out: list[ManifestRow] = list(rows)
    for item in items:
        if item.reused:
            out[item.payload] = _with_outcome(rows[item.payload], item.kept.record)
    with loop.run(items, faces_out, f"{STAGE} {part}") as run:

        def one(item: Planned[int]) -> None:
            i = item.payload
            with run.slot(item) as slot:
                out[i], slot.store = _align_one(
                    rows[i], part_dir, tracks_dir, slot.data, ext, quality
                )
                slot.record = _outcome(out[i])

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(one, run.todo))
    for row in out:
        if row.status not in ("ok", "partial"):
            log.info("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
    write_manifest(manifest_out, out)
    return out
