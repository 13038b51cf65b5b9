"""predict_<model>: score every usable video of some manifests with one trained model.

For each usable video (status ok/partial, at least one face) it takes faces
1..min(num_faces, max_faces) and the sampled frames (:func:`rf_models.infer.sampling.
sample_frames`), reads the crops ``<crops_root>/<part>/<video_id>/frame<N>_face<k>.<ext>`` and
scores them: an image model per frame, a video model once per face over the whole clip.

The output is one ``.npz`` (no pickle) with a row per scored frame (image models) or per face
(video models, ``frame`` = -1):

    video         str    "<part>/<video file>", the manifest's part and video columns
    face          int32  face number from 1
    frame         int32  frame number from 1, -1 for a clip row
    logit_real    float32
    logit_fake    float32

plus ``skipped_video`` / ``skipped_reason`` (videos whose crops were missing or unreadable:
recorded and left out, the ensemble gives them its default score), ``model``, ``kind`` and
``format``.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rf_models.data.layout import crop_name
from rf_models.data.manifest import ManifestRow, read_manifest
from rf_models.infer.sampling import MAX_FRAMES, sample_frames
from rf_models.infer.scoring import (
    LoadedModel,
    clip_logits,
    image_logits,
    infer_size,
    prepare_crops,
)
from rf_models.io_utils import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "rf_models.predictions/1"
COLUMNS = ("video", "face", "frame", "logit_real", "logit_fake")
KINDS = ("image", "video")
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


def video_key(row: ManifestRow) -> str:
    """The id a video has in predictions and ensemble outputs: ``<part>/<video file>``."""
    return f"{row.part}/{row.video}"


def read_manifests(manifests: Sequence[str | os.PathLike]) -> list[ManifestRow]:
    """Every row of the manifests, in order; a video listed twice is an error."""
    rows: list[ManifestRow] = []
    seen: dict[str, Path] = {}
    for manifest in manifests:
        manifest = Path(manifest)
        for row in read_manifest(manifest):
            key = video_key(row)
            if key in seen:
                raise ValueError(f"{manifest}: video {key} is also listed in {seen[key]}")
            seen[key] = manifest
            rows.append(row)
    return rows


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
    for done, (row, frames, future) in enumerate(_prefetch(work, load, io_threads), 1):
        key = video_key(row)
        try:
            per_face = future.result()
            scored = _score_video(lm, per_face, frames)
        except (CropError, ValueError) as err:
            skipped[key] = str(err)
            log.warning("%s: %s skipped: %s", lm.name, key, err)
            continue
        names.append(key)
        chunks.append((len(names) - 1, *scored))
        if done % 500 == 0:
            log.info("%s: %d / %d videos", lm.name, done, len(work))

    arrays = _columns(names, chunks)
    arrays.update(
        skipped_video=np.array(list(skipped), dtype=str),
        skipped_reason=np.array(list(skipped.values()), dtype=str),
        model=np.array(lm.name),
        kind=np.array(lm.cfg.kind),
        format=np.array(FORMAT),
    )
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(out_path, buf.getvalue())
    summary = PredictSummary(
        model=lm.name,
        kind=lm.cfg.kind,
        videos=len(work),
        scored=len(names),
        rows=len(arrays["face"]),
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


def _score_video(
    lm: LoadedModel, per_face: list[np.ndarray], frames: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face, frame, logits) rows of one video."""
    faces, frame_col, logits = [], [], []
    for k, crops in enumerate(per_face, 1):
        if lm.cfg.kind == "image":
            out = image_logits(lm, crops)
            frame_col.append(np.asarray(frames, dtype=np.int32))
        else:
            out = clip_logits(lm, crops)[None]
            frame_col.append(np.array([-1], dtype=np.int32))
        faces.append(np.full(len(out), k, dtype=np.int32))
        logits.append(out)
    stacked = np.concatenate(logits)
    if not np.all(np.isfinite(stacked)):
        raise ValueError(f"model {lm.name!r} gave non-finite logits")
    return np.concatenate(faces), np.concatenate(frame_col), stacked


def _columns(names: list[str], chunks: list) -> dict[str, np.ndarray]:
    if not chunks:
        return {
            "video": np.array([], dtype=str),
            "face": np.zeros(0, np.int32),
            "frame": np.zeros(0, np.int32),
            "logit_real": np.zeros(0, np.float32),
            "logit_fake": np.zeros(0, np.float32),
        }
    index = np.concatenate([np.full(len(c[1]), c[0], dtype=np.int64) for c in chunks])
    logits = np.concatenate([c[3] for c in chunks]).astype(np.float32)
    return {
        "video": np.array(names, dtype=str)[index],
        "face": np.concatenate([c[1] for c in chunks]),
        "frame": np.concatenate([c[2] for c in chunks]),
        "logit_real": logits[:, 0],
        "logit_fake": logits[:, 1],
    }


@dataclass(frozen=True)
class Predictions:
    """One model's predictions file, grouped for the ensemble policy."""

    model: str
    kind: str
    faces: dict[str, list[np.ndarray]]  # video -> per face: (n_frames, 2) or (2,) logits
    frames: dict[str, list[np.ndarray]]  # image models: video -> per face frame numbers
    skipped: dict[str, str]


def _bad(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: not a {FORMAT} predictions file: {what}")


def read_prediction_file(path: str | os.PathLike) -> Predictions:
    """Read and check a file :func:`predict_split` wrote (``allow_pickle=False``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise _bad(path, f"cannot read it ({err})") from None
    expected = {*COLUMNS, "skipped_video", "skipped_reason", "model", "kind", "format"}
    if set(arrays) != expected:
        raise _bad(path, f"expected arrays {sorted(expected)}, found {sorted(arrays)}")
    if arrays["format"].shape != () or str(arrays["format"]) != FORMAT:
        raise _bad(path, f"format is {arrays['format']!r}")
    kind, model = str(arrays["kind"]), str(arrays["model"])
    if kind not in KINDS:
        raise _bad(path, f"kind must be one of {KINDS}, found {kind!r}")
    n = len(arrays["video"])
    for col, dtype_kind in zip(COLUMNS, ("U", "i", "i", "f", "f"), strict=True):
        arr = arrays[col]
        if arr.ndim != 1 or len(arr) != n or arr.dtype.kind != dtype_kind:
            raise _bad(path, f"column {col} is {arr.dtype} of shape {arr.shape}, expected {n} rows")
    if len(arrays["skipped_video"]) != len(arrays["skipped_reason"]):
        raise _bad(path, "skipped_video and skipped_reason differ in length")
    logits = np.stack([arrays["logit_real"], arrays["logit_fake"]], axis=1)
    video, face, frame = arrays["video"], arrays["face"], arrays["frame"]
    if n and face.min() < 1:
        raise _bad(path, f"face numbers start at 1, found {face.min()}")
    if kind == "video" and n and np.any(frame != -1):
        raise _bad(path, "a video model's rows have frame -1")
    if kind == "image" and n and frame.min() < 1:
        raise _bad(path, f"an image model's frame numbers start at 1, found {frame.min()}")

    order = np.lexsort((frame, face, video))
    video, face, frame, logits = video[order], face[order], frame[order], logits[order]
    key_change = (video[1:] != video[:-1]) | (face[1:] != face[:-1])
    if np.any(~key_change & (frame[1:] == frame[:-1])):
        raise _bad(path, "a (video, face, frame) appears twice")
    starts = np.concatenate([[0], np.flatnonzero(key_change) + 1, [n]]) if n else np.zeros(1, int)
    faces: dict[str, list[np.ndarray]] = {}
    frames: dict[str, list[np.ndarray]] = {}
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        vid = str(video[a])
        faces.setdefault(vid, []).append(logits[a:b] if kind == "image" else logits[a])
        frames.setdefault(vid, []).append(frame[a:b])
    skipped = dict(
        zip(arrays["skipped_video"].tolist(), arrays["skipped_reason"].tolist(), strict=True)
    )
    return Predictions(model=model, kind=kind, faces=faces, frames=frames, skipped=skipped)


def read_predictions(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """``video -> per-face logits`` as :func:`rf_models.infer.policy.ensemble_scores` takes
    them: ``(n_frames, 2)`` arrays (frame order) for an image model, ``(2,)`` for a video
    model; faces in face-number order."""
    return read_prediction_file(path).faces
