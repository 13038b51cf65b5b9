"""detect_faces: RetinaFace on every extracted frame of a part, one seed-format txt per frame."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.datasets import PartSource, part_videos
from rf_models.data.dfdc import VideoEntry
from rf_models.data.layout import frame_name
from rf_models.data.manifest import ManifestRow, read_manifest
from rf_models.detect.landmarks_io import LANDMARKS_FILENAME, write_landmarks_json
from rf_models.detect.run import detect_frames_with_landmarks, detector_identity
from rf_models.detect.txt_io import format_detections_txt
from rf_models.resume_loop import Planned, VideoLoop
from rf_models.stages.extract import FrameOptions, extract_video
from rf_models.work_area import UpstreamArea

log = logging.getLogger(__name__)
_FRAME = re.compile(r"^frame(\d+)\.(jpg|png)$")

STAGE = "detect_faces"
# What a video's detections depend on besides its frames, the detector and the options.
CODE = (
    __name__,
    "rf_models.detect.run",
    "rf_models.detect.backends",
    "rf_models.detect.postprocess",
    "rf_models.detect.priors",
    "rf_models.detect.retinaface",
    "rf_models.detect.txt_io",
    "rf_models.detect.landmarks_io",
)
LIBRARIES = ("cv2", "numpy", "onnxruntime", "torch")


def frame_files(video_dir: Path) -> list[tuple[int, Path]]:
    """The ``frame<N>.<ext>`` files of a video folder, in frame order."""
    found = []
    for path in video_dir.iterdir():
        match = _FRAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _read_frames(files: list[tuple[int, Path]]) -> Iterator[tuple[int, np.ndarray]]:
    for index, path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: cannot read frame image")
        yield index, image


def _detect_video(
    row: ManifestRow,
    out_dir: Path,
    files: list[tuple[int, Path]],
    detector,
    batch_size: int,
    already_resized: bool,
) -> str | None:
    """Write ``out_dir/<video_id>/frame<N>.txt`` and the video's landmarks file, its lines in
    the txt files' order; the error that stopped it, if any."""
    video_out = out_dir / row.video_id
    video_out.mkdir()
    results = detect_frames_with_landmarks(
        _read_frames(files),
        detector,
        batch_size=batch_size,
        orig_size=(row.height, row.width),
        already_resized=already_resized,
    )
    found = {}
    try:
        for index, boxes, landmarks in results:
            (video_out / frame_name(index, "txt")).write_text(format_detections_txt(boxes))
            found[index] = (boxes, landmarks)
        write_landmarks_json(video_out / LANDMARKS_FILENAME, found)
    except ValueError as err:
        # track_faces records the video as unreadable: one bad video never fails a part
        shutil.rmtree(video_out)
        return str(err)
    return None


class _FrameSource:
    """Where a video's frames are: ``frames_dir/<video_id>``, or, when extraction left them
    out (temporary frames) and ``part`` and ``opts`` are given, a scratch folder under
    ``scratch_root`` they are decoded into again, as extract_frames would write them. The
    part's listing is read once, the first time a video needs it."""

    def __init__(
        self,
        frames_dir: Path,
        scratch_root: Path,
        part: PartSource | None,
        opts: FrameOptions | None,
    ) -> None:
        self.frames_dir, self.scratch_root = frames_dir, scratch_root
        self.part, self.opts = part, opts
        self._videos: dict[str, VideoEntry] | None = None

    def folder(self, row: ManifestRow, stack: contextlib.ExitStack) -> Path:
        """The folder of ``row``'s frames (a scratch one lives as long as ``stack``).
        OSError when the video is gone or no longer decodes."""
        folder = self.frames_dir / row.video_id
        if folder.exists() or self.part is None or self.opts is None:
            return folder
        if self._videos is None:
            self._videos = {e.video: e for e in part_videos(self.part)}
        entry = self._videos.get(row.video)
        if entry is None:
            raise FileNotFoundError(f"{row.video} is not in its part any more")
        log.info("%s/%s: its frames were not extracted; decoding them again", row.part, row.video)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=self.scratch_root)))
        again = extract_video(entry, scratch, self.opts)
        if not again.usable:
            raise OSError(f"decoding it again gave {again.status}: {again.reason}")
        return scratch / row.video_id


def detect_part(
    frames_dir: str | Path,
    manifest: str | Path,
    out_dir: str | Path,
    detector,
    *,
    batch_size: int = 8,
    already_resized: bool = True,
    work: str | Path | None = None,
    upstream_work: str | Path | None = None,
    part: PartSource | None = None,
    frame_options: FrameOptions | None = None,
) -> int:
    """Write ``out_dir/<video_id>/frame<N>.txt`` for every frame of every usable video.

    Returns the number of frames processed. Videos the manifest marks unusable have no
    frames and get no folder; their status stays in the manifest.

    With ``work``, each video's detections are kept in this part's work area once complete
    and reused while the video's upstream result (its entry in ``upstream_work``, the
    extract_frames work area, else its frames' names, sizes and mtimes), its size and frame
    count, the detector, the options and the code are unchanged. Extraction leaves out the
    frames of videos whose detections it finds here (temporary frames); if such a video must
    be detected again after all (the detector changed), its frames are decoded from the video
    of ``part`` (its folder or source) with ``frame_options``, as extraction would have written
    them.
    """
    frames_dir = Path(frames_dir)
    rows = [row for row in read_manifest(manifest) if row.usable]
    label = rows[0].part if rows else Path(out_dir).name
    options = {"batch_size": batch_size, "already_resized": already_resized}
    params = {**options, "detector": detector_identity(detector)}
    loop = VideoLoop(work, STAGE, params, CODE, LIBRARIES)
    upstream = UpstreamArea(upstream_work)
    # payload: (row, the identity of its upstream result)
    items: list[Planned[tuple[ManifestRow, str | None]]] = []
    for row in rows:
        source = upstream.identity(row.video_id, frames_dir / row.video_id) if loop.keeps else None
        geometry = (row.n_frames, row.width, row.height)  # all detection reads of a row
        deps = None if source is None else {"geometry": geometry, "frames": source}
        items.append(loop.plan(row.video_id, (row, source), deps))
    computed = 0  # frames detected now
    outcomes: dict[str, tuple[str | None, int]] = {}  # video id -> (error, frames)
    start = time.perf_counter()
    with loop.run(items, out_dir, f"{STAGE} {label}") as run:
        frame_source = _FrameSource(frames_dir, run.out, part, frame_options)
        for item in run.todo:
            row, source = item.payload
            with contextlib.ExitStack() as stack:
                try:
                    files = frame_files(frame_source.folder(row, stack))
                except OSError as err:  # as below: track_faces records it as unreadable
                    log.error("%s/%s: no frames to detect on: %s", row.part, row.video, err)
                    run.skip(item)
                    continue
                with run.slot(item) as slot:
                    error = _detect_video(
                        row, slot.data, files, detector, batch_size, already_resized
                    )
                    slot.record = {"frames": len(files), "error": error, "upstream": source}
            outcomes[item.video_id] = (error, len(files))
            computed += len(files)
    total = 0  # frames with detections in the output
    for item in items:
        row, _ = item.payload
        if item.reused:
            error, frames = item.kept.record.get("error"), int(item.kept.record["frames"])
        elif item.video_id in outcomes:
            error, frames = outcomes[item.video_id]
        else:
            continue
        if error is not None:
            log.error("%s/%s: detection failed: %s", row.part, row.video, error)
        else:
            total += frames
    elapsed = time.perf_counter() - start
    log.info(
        "%d frames detected in %.1f s (%.1f ms/frame); %d frames in the output",
        computed,
        elapsed,
        1e3 * elapsed / max(computed, 1),
        total,
    )
    return total
