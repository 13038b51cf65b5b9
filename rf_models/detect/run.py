"""Run a detector over a stream of frames, overlapping frame loading with detection; boxes
only, or boxes with their landmarks."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, Protocol, TypeVar

import numpy as np

from rf_models.detect.backends import preprocess_frame
from rf_models.work_area import file_digest

_DONE = object()
_Result = TypeVar("_Result")


class BatchDetector(Protocol):
    def detect_preprocessed(
        self, batch: np.ndarray, orig_size: tuple[int, int]
    ) -> list[np.ndarray]: ...


class LandmarkBatchDetector(Protocol):
    def detect_preprocessed_with_landmarks(
        self, batch: np.ndarray, orig_size: tuple[int, int]
    ) -> list[tuple[np.ndarray, np.ndarray]]: ...


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _produce(
    frames: Iterable[tuple[int, np.ndarray]],
    out: queue.Queue,
    stop: threading.Event,
    orig_size: tuple[int, int] | None,
    already_resized: bool,
) -> None:
    """Load and preprocess frames into ``out`` until exhausted, failed or stopped."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    iterator = iter(frames)
    try:
        for index, image in iterator:
            size = orig_size if orig_size is not None else tuple(np.shape(image)[:2])
            item = (index, size, preprocess_frame(image, size, already_resized))
            if not put(item):
                return
        put(_DONE)
    except BaseException as exc:
        put(_Failure(exc))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _check_stream_args(
    batch_size: int, prefetch: int | None, orig_size: tuple[int, int] | None, already_resized: bool
) -> int:
    """The prefetch depth, after checking the arguments shared by both streams."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    prefetch = 2 * batch_size if prefetch is None else prefetch
    if prefetch < 1:
        raise ValueError(f"prefetch must be >= 1, got {prefetch}")
    if already_resized and orig_size is None:
        raise ValueError("already_resized=True needs orig_size (the frames' original size)")
    return prefetch


def detect_frames(
    frames: Iterable[tuple[int, np.ndarray]],
    detector: BatchDetector,
    batch_size: int = 8,
    prefetch: int | None = None,
    orig_size: tuple[int, int] | None = None,
    already_resized: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Detect on a stream: ``(frame_index, boxes)`` per ``(frame_index, bgr_image)``, in order.

    A background thread iterates ``frames`` and preprocesses each image (resize, mean)
    into a queue of at most ``prefetch`` frames (default ``2 * batch_size``) while the
    caller's thread runs ``detector`` on batches of up to ``batch_size`` frames of one
    size. ``boxes`` is the detector's (n, 5) [x1, y1, x2, y2, score] in original pixels.

    Images are originals (their shape is the original size) unless ``already_resized``,
    which needs ``orig_size``. Arguments are checked at the call; the thread starts at the
    first ``next``. An exception raised while iterating or preprocessing is re-raised
    after the frames before it were yielded. Closing the returned generator early stops
    the thread and closes ``frames`` if it has a ``close`` method.
    """
    prefetch = _check_stream_args(batch_size, prefetch, orig_size, already_resized)
    return _detect_stream(
        frames, detector.detect_preprocessed, batch_size, prefetch, orig_size, already_resized
    )


def detect_frames_with_landmarks(
    frames: Iterable[tuple[int, np.ndarray]],
    detector: LandmarkBatchDetector,
    batch_size: int = 8,
    prefetch: int | None = None,
    orig_size: tuple[int, int] | None = None,
    already_resized: bool = False,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`detect_frames` that yields ``(frame_index, boxes, landmarks)``.

    ``landmarks`` (n, 5, 2) float32 holds the (x, y) points of box k in row k, in original
    pixels; the boxes are those :func:`detect_frames` yields for the same frames. Same
    arguments, thread, ordering, errors and closing as :func:`detect_frames`.
    """
    prefetch = _check_stream_args(batch_size, prefetch, orig_size, already_resized)
    stream = _detect_stream(
        frames,
        detector.detect_preprocessed_with_landmarks,
        batch_size,
        prefetch,
        orig_size,
        already_resized,
    )
    return _with_landmarks(stream)


def _with_landmarks(
    stream: Generator[tuple[int, tuple[np.ndarray, np.ndarray]], None, None],
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    # close the inner stream explicitly, so closing this one stops the loader thread at once
    try:
        for index, (boxes, points) in stream:
            yield index, boxes, points
    finally:
        stream.close()


def _detect_stream(
    frames: Iterable[tuple[int, np.ndarray]],
    detect_batch: Callable[[np.ndarray, tuple[int, int]], list[_Result]],
    batch_size: int,
    prefetch: int,
    orig_size: tuple[int, int] | None,
    already_resized: bool,
) -> Generator[tuple[int, _Result], None, None]:
    items: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce,
        args=(frames, items, stop, orig_size, already_resized),
        name="detect-frames-loader",
        daemon=True,
    )
    worker.start()
    pending: list[tuple[int, tuple[int, int], np.ndarray]] = []

    def flush() -> list[tuple[int, _Result]]:
        size = pending[0][1]
        results = detect_batch(np.stack([p[2] for p in pending]), size)
        done = [(p[0], r) for p, r in zip(pending, results, strict=True)]
        pending.clear()
        return done

    try:
        while True:
            item = items.get()
            if item is _DONE:
                break
            if isinstance(item, _Failure):
                if pending:
                    yield from flush()
                raise item.exc
            if pending and pending[0][1] != item[1]:
                yield from flush()
            pending.append(item)
            if len(pending) == batch_size:
                yield from flush()
        if pending:
            yield from flush()
    finally:
        stop.set()
        worker.join()


def detector_identity(detector: Any) -> dict[str, Any]:
    """What a detector's boxes depend on: its class, the backend and device it resolved to
    (ONNX on CPU and PyTorch on CUDA differ in the last digits), its weights and thresholds."""
    config = getattr(detector, "config", None)
    session = getattr(detector, "_session", None)
    backend = getattr(detector, "backend", None)
    return {
        "class": f"{type(detector).__module__}.{type(detector).__qualname__}",
        "backend": backend,
        "device": str(getattr(detector, "device", None)),
        "providers": session.get_providers() if session is not None else None,
        "weights": file_digest(getattr(detector, "weights_path", None)),
        "onnx": file_digest(getattr(detector, "onnx_path", None)) if backend == "onnx" else None,
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else None,
    }
