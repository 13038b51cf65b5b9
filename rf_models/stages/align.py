"""align_faces: cut each tube's crops from the full-resolution frames, decoded again: the seed's
squares, or crops aligned by the detector's landmarks; for robustness, from perturbed frames."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from rf_models.align.landmark_crops import aligned_crop
from rf_models.data.datasets import PartSource, part_videos
from rf_models.data.layout import crop_name, encode_params
from rf_models.data.manifest import ManifestRow, read_manifest, write_manifest
from rf_models.detect.landmarks_io import (
    LANDMARKS_FILENAME,
    LandmarksFormatError,
    read_landmarks_json,
)
from rf_models.perturb import apply_frame, compress_video, parse_perturbation, perturbation_rng
from rf_models.resume_loop import Planned, VideoLoop
from rf_models.stages.align_options import AlignOptions, FrameEdit
from rf_models.stages.track import read_video_detections
from rf_models.track.landmarks import LandmarksMatchError, crop_landmarks
from rf_models.track.tracks import TracksFormatError, VideoTracks
from rf_models.track.tracks_io import read_tracks_json
from rf_models.video.decode import FrameReader, VideoError
from rf_models.work_area import UpstreamArea, file_identity

log = logging.getLogger(__name__)

STAGE = "align_faces"
# What a video's crops depend on besides the video, its tracks and the options.
CODE = (
    __name__,
    "rf_models.stages.align_options",
    "rf_models.video.decode",
    "rf_models.track.tracks",
    "rf_models.track.tracks_io",
    "rf_models.track.landmarks",
    "rf_models.align.landmark_crops",
    "rf_models.detect.landmarks_io",
    "rf_models.infer.sampling",
    "rf_models.perturb.distortions",
    "rf_models.perturb.protocol",
    "rf_models.perturb.video",
)
LIBRARIES = ("cv2", "av", "numpy")


def crop_plan(
    tracks: VideoTracks, frames: set[int] | None = None
) -> dict[int, dict[tuple[int, int, int], list[tuple[int, int]]]]:
    """source frame -> {(left, top, size): [(frame, face number), ...]} (only the crops of
    ``frames`` when given).

    Faces whose tube never fell inside the frame (crop size 0) are left out and the rest
    renumbered from 1, so a list's face<k> always has crops.
    """
    plan: dict[int, dict[tuple[int, int, int], list[tuple[int, int]]]] = defaultdict(dict)
    for number, face in enumerate(_kept_faces(tracks), start=1):
        for crop in face.frames:
            if frames is None or crop.frame in frames:
                key = (crop.left, crop.top, crop.size)
                plan[crop.source_frame].setdefault(key, []).append((crop.frame, number))
    return plan


def landmark_plan(
    tracks: VideoTracks, landmarks: dict[int, np.ndarray], frames: set[int] | None = None
) -> dict[int, list[tuple[int, int, np.ndarray]]]:
    """source frame -> [(frame, face number, its 5 landmarks), ...], faces numbered as in
    :func:`crop_plan`; ``landmarks`` is :func:`rf_models.track.landmarks.crop_landmarks`'s."""
    plan: dict[int, list[tuple[int, int, np.ndarray]]] = defaultdict(list)
    for number, face in enumerate(_kept_faces(tracks), start=1):
        for crop, points in zip(face.frames, landmarks[face.face], strict=True):
            if frames is None or crop.frame in frames:
                plan[crop.source_frame].append((crop.frame, number, points))
    return plan


def _kept_faces(tracks: VideoTracks) -> list:
    return [face for face in tracks.faces if face.crop_size > 0]


def _frames(
    video: Path, wanted, edit: FrameEdit | None, video_id: str, stack: contextlib.ExitStack
) -> tuple[FrameReader, Iterator[tuple[int, np.ndarray]]]:
    """The reader of the frames crops are cut from, and its frames under ``edit``'s
    perturbation: video compression re-encodes the whole file first (as the protocol
    does; the copy lives as long as ``stack``), the others change each decoded frame."""
    perturbation = None if edit is None else edit.perturbation
    if perturbation is None:
        reader = FrameReader(video, wanted=wanted)
        return reader, iter(reader)
    kind = parse_perturbation(perturbation)
    if not kind.per_frame:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        try:
            video = compress_video(video, scratch / f"{video_id}.mp4", int(kind.param))
        except RuntimeError as err:  # ffmpeg refused the file: a bad video, not a bad part
            raise VideoError(video, "unreadable", f"cannot re-encode it: {err}") from None
        reader = FrameReader(video, wanted=wanted)
        return reader, iter(reader)
    reader = FrameReader(video, wanted=wanted)

    def edited() -> Iterator[tuple[int, np.ndarray]]:
        for index, image in reader:
            rng = perturbation_rng(edit.seed, f"{video_id}#{index}", kind)
            yield index, apply_frame(image, kind, rng)

    return reader, edited()


def align_video(
    row: ManifestRow,
    video: Path,
    tracks: VideoTracks,
    out_dir: Path,
    options: AlignOptions | None = None,
    *,
    landmarks: dict[int, np.ndarray] | None = None,
    edit: FrameEdit | None = None,
) -> ManifestRow:
    """Cut ``row``'s crops into ``out_dir/<video_id>/``; its row with the outcome."""
    options = options or AlignOptions()
    faces = len(_kept_faces(tracks))
    if faces == 0:
        return row.with_status("no_face", "every tube lies outside the frame", num_faces=0)
    frames = None if edit is None else edit.frames(row)
    if options.method == "landmarks":
        if landmarks is None:
            raise ValueError(f"{row.video}: landmark crops need the tube crops' landmarks")
        plan: dict = landmark_plan(tracks, landmarks, frames)
    else:
        plan = crop_plan(tracks, frames)
    params = encode_params(options.ext, options.quality)
    video_dir = out_dir / row.video_id
    video_dir.mkdir(parents=True, exist_ok=True)
    done = set()

    def write(image: np.ndarray, index: int, names: list[tuple[int, int]]) -> None:
        ok, buf = cv2.imencode(f".{options.ext}", image, params)
        if not ok:
            raise VideoError(video, "unreadable", f"cannot encode a crop of frame {index}")
        data = buf.tobytes()
        for frame, face in names:
            (video_dir / crop_name(frame, face, options.ext)).write_bytes(data)

    try:
        with contextlib.ExitStack() as stack:
            reader, decoded = _frames(video, plan, edit, row.video_id, stack)
            for index, image in decoded:
                if options.method == "landmarks":
                    for frame, face, points in plan[index]:
                        crop = aligned_crop(image, points, options.size, options.margin)
                        write(crop, index, [(frame, face)])
                else:
                    for (left, top, size), targets in plan[index].items():
                        # a borrowed crop is the same pixels under several names: encode once
                        write(image[top : top + size, left : left + size], index, targets)
                done.add(index)
    except VideoError as err:
        return row.with_status(err.status, f"align: {err.reason}", num_faces=0)
    lost = sorted(set(plan) - done)
    if lost:
        reason = f"align: frames {lost[:5]} could not be decoded again ({reader.error})"
        return row.with_status("unreadable", reason, num_faces=0)
    return row.with_status(row.status, row.reason, num_faces=faces)


def _crop_landmarks(
    tracks: VideoTracks, detections: Path, score_threshold: float
) -> dict[int, np.ndarray]:
    kept = read_video_detections(detections, score_threshold)
    points = read_landmarks_json(detections / LANDMARKS_FILENAME)
    return crop_landmarks(tracks, kept, points, score_threshold=score_threshold)


def _align_one(
    row: ManifestRow,
    video: Path,
    tracks_dir: Path,
    out_dir: Path,
    options: AlignOptions,
    detections_dir: Path | None,
    edit: FrameEdit | None,
) -> tuple[ManifestRow, bool]:
    """(row, whether the row may be kept for reuse): a status that an OSError gave may be a
    passing fault of the filesystem, so it is recomputed next time rather than kept."""
    try:
        tracks = read_tracks_json(tracks_dir / f"{row.video_id}.json")
        landmarks = None
        if options.method == "landmarks":
            if detections_dir is None:
                raise ValueError("align.method landmarks needs the part's detections")
            landmarks = _crop_landmarks(
                tracks, detections_dir / row.video_id, options.score_threshold
            )
    except OSError as err:
        return row.with_status("unreadable", f"align: {err}", num_faces=0), False
    except (TracksFormatError, LandmarksFormatError, LandmarksMatchError) as err:
        return row.with_status("unreadable", f"align: {err}", num_faces=0), True
    return align_video(row, video, tracks, out_dir, options, landmarks=landmarks, edit=edit), True


def _outcome(row: ManifestRow) -> dict:
    """What align sets in a row: all it keeps, so a label change in metadata.json reuses it."""
    return {"status": row.status, "reason": row.reason, "num_faces": row.num_faces}


def _with_outcome(row: ManifestRow, outcome: dict) -> ManifestRow:
    return row.with_status(outcome["status"], outcome["reason"], num_faces=outcome["num_faces"])


def align_part(
    part: PartSource,
    tracks_dir: str | Path,
    manifest_in: str | Path,
    faces_out: str | Path,
    manifest_out: str | Path,
    options: AlignOptions | None = None,
    threads: int = 1,
    work: str | Path | None = None,
    upstream_work: str | Path | None = None,
    *,
    detections_dir: str | Path | None = None,
    edit: FrameEdit | None = None,
) -> list[ManifestRow]:
    """Crops of every usable video of ``part`` (a DFDC part folder or a dataset part's source)
    into ``faces_out/<video_id>/`` and the part's final manifest. ``detections_dir`` (the
    part's detections, with each video's landmarks file) is needed by landmark crops;
    ``edit`` perturbs the frames and keeps only the crops a scorer samples (robustness).

    With ``work``, each video's crops and outcome are kept in this part's work area and reused
    while the video (name, size, mtime), its row's status and geometry, its tracks (their entry
    in ``upstream_work``, the track_faces work area, else the tracks file's size and mtime), its
    landmarks file (landmark crops), the options, the edit and the code are unchanged.
    """
    options = options or AlignOptions()
    tracks_dir = Path(tracks_dir)
    detections = None if detections_dir is None else Path(detections_dir)
    rows = read_manifest(manifest_in)
    # listed only when a video is to be cut: unusable rows pass through without the listing
    usable = any(row.usable for row in rows)
    paths = {entry.video: entry.path for entry in part_videos(part)} if usable else {}
    label = next((row.part for row in rows), Path(faces_out).name)
    params = {
        **options.record(),
        **({} if edit is None else {"edit": dataclasses.asdict(edit)}),
    }
    loop = VideoLoop(work, STAGE, params, CODE, LIBRARIES)
    upstream = UpstreamArea(upstream_work)
    items: list[Planned[int]] = []
    for i, row in enumerate(rows):
        if not row.usable:
            continue
        deps = None
        if loop.keeps and row.video in paths:
            video = file_identity(paths[row.video])
            source = upstream.identity(row.video_id, tracks_dir / f"{row.video_id}.json")
            if video is not None and source is not None:
                state = (row.status, row.reason, row.n_frames, row.width, row.height)
                deps = {"video": video, "row": state, "tracks": source}
                if options.method == "landmarks" and detections is not None:
                    points = detections / row.video_id / LANDMARKS_FILENAME
                    deps["landmarks"] = file_identity(points)
        items.append(loop.plan(row.video_id, i, deps))
    out: list[ManifestRow] = list(rows)
    for item in items:
        if item.reused:
            out[item.payload] = _with_outcome(rows[item.payload], item.kept.record)
    with loop.run(items, faces_out, f"{STAGE} {label}") as run:

        def one(item: Planned[int]) -> None:
            i = item.payload
            row = rows[i]
            with run.slot(item) as slot:
                if row.video not in paths:
                    out[i], slot.store = (
                        row.with_status("missing", "align: the video left its part", num_faces=0),
                        False,
                    )
                else:
                    out[i], slot.store = _align_one(
                        row, paths[row.video], tracks_dir, slot.data, options, detections, edit
                    )
                slot.record = _outcome(out[i])

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(one, run.todo))
    for row in out:
        if row.status not in ("ok", "partial"):
            log.info("%s/%s: %s (%s)", row.part, row.video, row.status, row.reason)
    write_manifest(manifest_out, out)
    return out
