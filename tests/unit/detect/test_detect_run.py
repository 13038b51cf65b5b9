from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from rf_models.detect.backends import network_input_size
from rf_models.detect.run import detect_frames


class FakeDetector:
    """Returns, per frame, one box whose score is the frame's first preprocessed pixel."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, tuple[int, int]]] = []
        self.threads: set[str] = set()

    def detect_preprocessed(self, batch: np.ndarray, orig_size: tuple[int, int]):
        assert batch.shape[2:] == network_input_size(orig_size)
        self.batches.append((len(batch), orig_size))
        self.threads.add(threading.current_thread().name)
        return [np.array([[0, 0, 1, 1, item[0, 0, 0]]], np.float32) for item in batch]


def _frame(value: int, size: tuple[int, int] = (40, 60)) -> np.ndarray:
    return np.full((*size, 3), value, np.uint8)


def test_order_and_batches() -> None:
    frames = [(i + 1, _frame(104 + i)) for i in range(20)]
    detector = FakeDetector()
    out = list(detect_frames(iter(frames), detector, batch_size=8, prefetch=3))
    assert [index for index, _ in out] == list(range(1, 21))
    assert [boxes[0, 4] for _, boxes in out] == list(range(20))  # pixel - mean 104
    assert [n for n, _ in detector.batches] == [8, 8, 4]
    assert detector.threads == {threading.current_thread().name}


def test_size_change_starts_a_new_batch() -> None:
    frames = [(1, _frame(0)), (2, _frame(0)), (3, _frame(0, (50, 60))), (4, _frame(0, (50, 60)))]
    detector = FakeDetector()
    out = list(detect_frames(frames, detector, batch_size=8))
    assert [i for i, _ in out] == [1, 2, 3, 4]
    assert detector.batches == [(2, (40, 60)), (2, (50, 60))]


def test_already_resized_frames() -> None:
    orig = (1080, 1920)
    frames = [(5, _frame(110, network_input_size(orig)))]
    detector = FakeDetector()
    ((index, boxes),) = detect_frames(frames, detector, orig_size=orig, already_resized=True)
    assert index == 5 and boxes[0, 4] == 6
    assert detector.batches == [(1, orig)]


def test_loader_error_is_raised_after_earlier_frames() -> None:
    def frames() -> Iterator[tuple[int, np.ndarray]]:
        yield 1, _frame(0)
        yield 2, _frame(0)
        raise OSError("frame 3 is unreadable")

    seen = []
    with pytest.raises(OSError, match="frame 3 is unreadable"):
        for index, _ in detect_frames(frames(), FakeDetector(), batch_size=8):
            seen.append(index)
    assert seen == [1, 2]


def test_bad_frame_is_raised() -> None:
    frames = [(1, _frame(0)), (2, np.zeros((40, 60), np.uint8))]
    with pytest.raises(ValueError, match="BGR uint8"):
        list(detect_frames(frames, FakeDetector()))


def test_early_close_stops_the_loader() -> None:
    closed = threading.Event()
    produced = []

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i, _frame(0)
        finally:
            closed.set()

    stream = detect_frames(frames(), FakeDetector(), batch_size=2, prefetch=2)
    assert next(stream)[0] == 0
    stream.close()
    assert closed.is_set()
    assert len(produced) < 20  # the bounded queue kept the loader from running ahead
    assert not [t for t in threading.enumerate() if t.name == "detect-frames-loader"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"prefetch": 0}, "prefetch"),
        ({"already_resized": True}, "needs orig_size"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detect_frames([], FakeDetector(), **kwargs)


def test_real_detector_matches_direct_calls(onnx_detector, t1_image: np.ndarray) -> None:
    frames = [(1, t1_image), (2, t1_image[:, ::-1].copy()), (3, t1_image)]
    out = dict(detect_frames(frames, onnx_detector, batch_size=2))
    direct = onnx_detector.detect(np.stack([f for _, f in frames]), t1_image.shape[:2])
    for (index, _), boxes in zip(frames, direct, strict=True):
        np.testing.assert_allclose(out[index], boxes, rtol=1e-5, atol=1e-3)
    assert (out[1][:, 4] >= 0.8).sum() == 6
