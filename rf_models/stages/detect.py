"""detect_faces: RetinaFace on every extracted frame of a part, one seed-format txt per frame."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.layout import frame_name
from rf_models.data.manifest import read_manifest
from rf_models.detect.run import detect_frames
from rf_models.detect.txt_io import format_detections_txt
from rf_models.io_utils import atomic_output_dir

log = logging.getLogger(__name__)
_FRAME = re.compile(r"^frame(\d+)\.(jpg|png)$")


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


def detect_part(
    frames_dir: str | Path,
    manifest: str | Path,
    out_dir: str | Path,
    detector,
    *,
    batch_size: int = 8,
    already_resized: bool = True,
) -> int:
    """Write ``out_dir/<video_id>/frame<N>.txt`` for every frame of every usable video.

    Returns the number of frames processed. Videos the manifest marks unusable have no
    frames and get no folder; their status stays in the manifest.
    """
    frames_dir = Path(frames_dir)
    total = 0
    start = time.perf_counter()
    with atomic_output_dir(out_dir) as tmp:
        for row in read_manifest(manifest):
            if not row.usable:
                continue
            try:
                files = frame_files(frames_dir / row.video_id)
            except OSError as err:  # as below: track_faces records it as unreadable
                log.error("%s/%s: no frames to detect on: %s", row.part, row.video, err)
                continue
            video_out = Path(tmp) / row.video_id
            video_out.mkdir()
            results = detect_frames(
                _read_frames(files),
                detector,
                batch_size=batch_size,
                orig_size=(row.height, row.width),
                already_resized=already_resized,
            )
            try:
                for index, boxes in results:
                    (video_out / frame_name(index, "txt")).write_text(format_detections_txt(boxes))
            except ValueError as err:
                # track_faces records the video as unreadable: one bad video never fails a part
                log.error("%s/%s: detection failed: %s", row.part, row.video, err)
                shutil.rmtree(video_out)
                continue
            total += len(files)
    elapsed = time.perf_counter() - start
    log.info("%d frames in %.1f s (%.1f ms/frame)", total, elapsed, 1e3 * elapsed / max(total, 1))
    return total
