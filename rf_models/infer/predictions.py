"""The predictions file a model's scoring writes (:mod:`rf_models.infer.predict_split`) and
the ensemble stage reads: one ``.npz`` (no pickle) with a row per scored frame (image models)
or per face (video models, ``frame`` = -1):

    video         str    "<part>/<video file>", the manifest's part and video columns
    face          int32  face number from 1
    frame         int32  frame number from 1, -1 for a clip row
    logit_real    float32
    logit_fake    float32

plus ``skipped_video`` / ``skipped_reason`` (videos whose crops were missing or unreadable:
recorded and left out, the ensemble gives them its default score), ``model``, ``kind`` and
``format``. Reading it needs NumPy only, so the ensemble jobs never load PyTorch.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rf_models.data.manifest import ManifestRow, read_manifest
from rf_models.io_utils import atomic_write_bytes

FORMAT = "rf_models.predictions/1"
COLUMNS = ("video", "face", "frame", "logit_real", "logit_fake")
KINDS = ("image", "video")


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


def write_prediction_file(
    out_path: str | os.PathLike,
    names: list[str],
    chunks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]],
    skipped: dict[str, str],
    model: str,
    kind: str,
) -> int:
    """Write a predictions file atomically: ``chunks`` are ``(index into names, face, frame,
    logits)`` per scored video; returns the rows written."""
    arrays = _columns(names, chunks)
    arrays.update(
        skipped_video=np.array(list(skipped), dtype=str),
        skipped_reason=np.array(list(skipped.values()), dtype=str),
        model=np.array(model),
        kind=np.array(kind),
        format=np.array(FORMAT),
    )
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(out_path, buf.getvalue())
    return len(arrays["face"])


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
