"""predict_<model>: score every usable video of some manifests with one trained model.

For each usable video (status ok/partial, at least one face) it takes faces
1..min(num_faces, max_faces) and the sampled frames (:func:`rf_models.infer.sampling.
sample_frames`), reads the crops ``<crops_root>/<part>/<video_id>/frame<N>_face<k>.<ext>`` and
scores them: an image model per frame, a video model once per face over the whole clip. The
crops of consecutive videos share forward passes (:func:`rf_models.infer.scoring.image_logits`,
:func:`~rf_models.infer.scoring.clips_logits`), each video's rows are its own.

The output is a predictions file (:mod:`rf_models.infer.predictions`).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.layout import crop_name
from rf_models.data.manifest import ManifestRow
from rf_models.infer.predictions import read_manifests, video_key, write_prediction_file
from rf_models.infer.sampling import MAX_FRAMES, sample_frames
from rf_models.infer.scoring import (
    LoadedModel,
    clips_logits,
    clips_per_pass,
    crops_per_pass,
    image_logits,
    infer_size,
    prepare_crops,
)

log = logging.getLogger(__name__)

MAX_FACES = 2


class CropError(RuntimeError):
    """A video's crops cannot be used (missing or unreadable file)."""


@dataclass(frozen=True)
class PredictSummary:
    model: str
    kind: str
    videos: int  # usable videos with a face, each scored or skipped
    scored: int
    rows: int
    unusable: int  # manifest rows left out before scoring (status, no face)
    skipped: dict[str, str] = field(default_factory=dict)  # video -> reason


def crop_path(root: Path, row: ManifestRow, frame: int, face: int, ext: str) -> Path:
    return root / row.part / row.video_id / crop_name(frame, face, ext)


def _load_video(
    root: Path, row: ManifestRow, faces: int, frames: list[int], ext: str, size: int
) -> list[np.ndarray]:
    """Per face, uint8 BGR ``(n_frames, size, size, 3)``; :class:`CropError` names the first
    bad file."""
    out = []
    for face in range(1, faces + 1):
        crops = []
        for frame in frames:
            path = crop_path(root, row, frame, face, ext)
            if not path.is_file():
                raise CropError(f"missing crop {path}")
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None or img.size == 0:
                raise CropError(f"unreadable crop {path}")
            crops.append(img)
        # resize here, in the loader thread, so a window of prefetched videos stays small
        out.append(prepare_crops(crops, size))
    return out


def _prefetch(
    work: list[tuple[ManifestRow, int, list[int]]],
    load,
    threads: int,
) -> Iterator[tuple[ManifestRow, list[int], Future]]:
    """Load videos on ``threads`` threads, at most ``2 * threads`` ahead of the consumer."""
    items = iter(work)
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=threads) as pool:

        def submit() -> None:
            item = next(items, None)
            if item is not None:
                row, faces, frames = item
                pending.append((row, frames, pool.submit(load, row, faces, frames)))

        for _ in range(2 * threads):
            submit()
        while pending:
            head = pending.popleft()
            submit()
            yield head


def predict_split(
    lm: LoadedModel,
    manifests: Sequence[str | os.PathLike],
    crops_root: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    ext: str = "jpg",
    max_faces: int = MAX_FACES,
    max_frames: int = MAX_FRAMES,
    frame_stride: int = 1,
    spacing: str = "stride",
    io_threads: int = 4,
) -> PredictSummary:
    """Score every usable video of ``manifests`` with ``lm`` and write ``out_path`` (.npz,
    atomically). ``ext`` is the crops' extension (``align.format``); ``frame_stride`` the
    ``frames.stride`` the crops were made with; ``max_frames`` and ``spacing`` the sampling
    (:func:`rf_models.infer.sampling.sample_frames`). A video with a missing or unreadable
    crop is skipped and recorded, never a failure of the split."""
    if not isinstance(ext, str) or not ext or "/" in ext or ext.startswith("."):
        raise ValueError(f"ext must be an extension such as jpg or png, found {ext!r}")
    for name, value in (("max_faces", max_faces), ("io_threads", io_threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, found {value!r}")
    sample_frames(0, max_frames, frame_stride, spacing)  # checks them, even with no video
    root = Path(crops_root)
    rows = read_manifests(manifests)
    work = []
    for row in rows:
        if row.usable and row.num_faces >= 1:
            frames = sample_frames(row.n_frames, max_frames, frame_stride, spacing)
            work.append((row, min(row.num_faces, max_faces), frames))
    size = infer_size(lm.cfg)

    def load(row: ManifestRow, faces: int, frames: list[int]) -> list[np.ndarray]:
        if not frames:
            raise CropError(f"no frames to sample (n_frames {row.n_frames})")
        return _load_video(root, row, faces, frames, ext, size)

    chunks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    names: list[str] = []
    skipped: dict[str, str] = {}

    def score(window: list[tuple[str, list[int], list[np.ndarray]]]) -> None:
        for key, result in zip(window, _score_window(lm, window), strict=True):
            if isinstance(result, ValueError):
                skipped[key[0]] = str(result)
                log.warning("%s: %s skipped: %s", lm.name, key[0], result)
                continue
            names.append(key[0])
            chunks.append((len(names) - 1, *result))

    # a window of a few passes' crops: full passes, and a bounded memory
    per_pass = crops_per_pass(lm) if lm.cfg.kind == "image" else clips_per_pass(lm, max_frames)
    window_size = WINDOW_PASSES * per_pass
    window: list[tuple[str, list[int], list[np.ndarray]]] = []
    units = 0  # of window_size the window holds
    for done, (row, frames, future) in enumerate(_prefetch(work, load, io_threads), 1):
        key = video_key(row)
        try:
            per_face = future.result()
        except CropError as err:
            skipped[key] = str(err)
            log.warning("%s: %s skipped: %s", lm.name, key, err)
            continue
        window.append((key, frames, per_face))
        units += sum(_units(lm, crops) for crops in per_face)
        if units >= window_size:
            score(window)
            window, units = [], 0
        if done % 500 == 0:
            log.info("%s: %d / %d videos", lm.name, done, len(work))
    if window:
        score(window)
    rows_written = write_prediction_file(out_path, names, chunks, skipped, lm.name, lm.cfg.kind)
    summary = PredictSummary(
        model=lm.name,
        kind=lm.cfg.kind,
        videos=len(work),
        scored=len(names),
        rows=rows_written,
        unusable=len(rows) - len(work),
        skipped=skipped,
    )
    log.info(
        "%s: %d videos scored, %d skipped (missing/unreadable crops), %d unusable; %d rows -> %s",
        lm.name,
        summary.scored,
        len(skipped),
        summary.unusable,
        summary.rows,
        out_path,
    )
    return summary


WINDOW_PASSES = 4  # forward passes' worth of crops scored together


def _units(lm: LoadedModel, crops: np.ndarray) -> int:
    """What one face takes of a pass: its crops (image model) or one clip (video model)."""
    return len(crops) if lm.cfg.kind == "image" else 1


def _score_window(
    lm: LoadedModel, window: list[tuple[str, list[int], list[np.ndarray]]]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | ValueError]:
    """Per video of ``window`` (key, frames, per-face crops), its (face, frame, logits) rows, or
    the ValueError that leaves it out (non-finite logits)."""
    faces = [crops for _, _, per_face in window for crops in per_face]
    if lm.cfg.kind == "image":
        logits = image_logits(lm, np.concatenate(faces))
        per_face = np.split(logits, np.cumsum([len(c) for c in faces])[:-1])
    else:
        per_face = list(clips_logits(lm, faces)[:, None])
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | ValueError] = []
    at = 0
    for _, frames, video_faces in window:
        logits = per_face[at : at + len(video_faces)]
        at += len(video_faces)
        stacked = np.concatenate(logits)
        if not np.all(np.isfinite(stacked)):
            out.append(ValueError(f"model {lm.name!r} gave non-finite logits"))
            continue
        frame = np.asarray(frames, np.int32) if lm.cfg.kind == "image" else np.array([-1], np.int32)
        out.append(
            (
                np.concatenate([np.full(len(f), k, np.int32) for k, f in enumerate(logits, 1)]),
                np.concatenate([frame] * len(logits)),
                stacked,
            )
        )
    return out
