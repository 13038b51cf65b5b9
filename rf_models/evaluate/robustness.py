"""The robustness grid: DeeperForensics-1.0's perturbations at the configured levels, and, for
the ``redetect`` mode, a part's videos written again under one of them.

A condition is named as its perturbation (``GB3``: Gaussian blur at level 3). In ``crops``
mode the clean tracks are kept and align_faces cuts the sampled crops from perturbed frames
(:class:`rf_models.stages.align_options.FrameEdit`); in ``redetect`` mode
:func:`perturb_part_videos` writes every video of a part under the perturbation into a
DFDC-style folder (the videos and a ``metadata.json`` with their labels), a derived part
``<part>~<condition>`` that every stage runs on, detection included.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import av
import numpy as np

from rf_models.data.datasets import PartSource, part_videos
from rf_models.io_utils import atomic_output_dir
from rf_models.perturb import apply_frame, compress_video, parse_perturbation, perturbation_rng
from rf_models.video.decode import FrameReader, VideoError

log = logging.getLogger(__name__)

# The perturbed videos are stored as H.264 at this CRF: visually lossless, far below the
# loss of the protocol's own video compression (CRF 30 at level 1).
STORE_CRF = 12
DEFAULT_FPS = 25  # when a video declares no frame rate


def _write_h264(path: Path, frames, fps: float) -> int:
    """Encode BGR frames into ``path`` (an MP4 stream whatever its extension) at STORE_CRF;
    odd sizes lose their last row or column (yuv420p). Returns the frames written."""
    written = 0
    with av.open(str(path), "w", format="mp4") as out:
        stream = None
        for _, image in frames:
            height, width = image.shape[:2]
            if stream is None:
                stream = out.add_stream("libx264", rate=round(fps) or DEFAULT_FPS)
                stream.width, stream.height = width - width % 2, height - height % 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(STORE_CRF)}
            image = np.ascontiguousarray(image[: stream.height, : stream.width])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
            written += 1
        if stream is not None:
            out.mux(stream.encode())
    return written


def perturb_video(source: Path, target: Path, condition: str, seed: int, video_id: str) -> int:
    """``source`` under ``condition`` into ``target``: video compression re-encodes the file
    at the level's CRF; the others decode every frame (upright), change it (random draws
    per video and frame) and store it at STORE_CRF. Returns the frames written (VC: -1)."""
    perturbation = parse_perturbation(condition)
    if not perturbation.per_frame:
        compress_video(source, target, int(perturbation.param))
        return -1
    reader = FrameReader(source)

    def frames():
        for index, image in reader:
            rng = perturbation_rng(seed, f"{video_id}#{index}", perturbation)
            yield index, apply_frame(image, perturbation, rng)

    written = _write_h264(target, frames(), reader.info.fps)
    if written == 0:
        raise VideoError(source, "unreadable", reader.error or "no frame could be decoded")
    return written


def perturb_part_videos(
    part: PartSource, out_dir: str | os.PathLike, condition: str, seed: int = 0
) -> dict[str, str]:
    """Write every labelled video of ``part`` (a DFDC folder or a dataset part's source) under
    ``condition`` into ``out_dir`` (replaced atomically), with a ``metadata.json`` of their
    labels. A video that was not usable in the clean part, or that cannot be perturbed, is
    listed with its label and no file, so the derived part records it as missing; an
    unlabelled one is listed with a null label and no file, so the derived part records it as
    ``bad_metadata`` and leaves it out of the metrics, as the clean part did. Returns
    {video: why} for every video without a perturbed file."""
    entries = part_videos(part)
    skipped: dict[str, str] = {}
    with atomic_output_dir(out_dir) as tmp:
        metadata = {}
        for entry in entries:
            if entry.label is None:
                metadata[entry.video] = {"label": None}  # recorded, never dropped
                skipped[entry.video] = "no label in the clean part"
                continue
            metadata[entry.video] = {"label": "FAKE" if entry.label == 1 else "REAL"}
            if entry.original:
                metadata[entry.video]["original"] = entry.original
            if entry.problem or not entry.on_disk or not entry.in_metadata:
                skipped[entry.video] = "not a usable video of the clean part"
                continue
            try:
                perturb_video(entry.path, Path(tmp) / entry.video, condition, seed, entry.video)
            except (VideoError, RuntimeError, OSError, ValueError) as err:
                (Path(tmp) / entry.video).unlink(missing_ok=True)
                skipped[entry.video] = f"cannot be perturbed: {err}"
        (Path(tmp) / "metadata.json").write_text(json.dumps(metadata, sort_keys=True))
    for video, why in skipped.items():
        log.warning("%s under %s: %s", video, condition, why)
    return skipped
