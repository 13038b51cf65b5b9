"""RetinaFace's 5 landmarks: decoding, post-processing beside the boxes, backends, streams."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from rf_models.detect.backends import network_input_size
from rf_models.detect.postprocess import (
    PostprocessConfig,
    decode_boxes,
    decode_landmarks,
    postprocess,
    postprocess_with_landmarks,
)
from rf_models.detect.priors import prior_boxes
from rf_models.detect.run import detect_frames, detect_frames_with_landmarks
from rf_models.detect.txt_io import format_detections_txt


def test_decode_landmarks_hand_computed() -> None:
    priors = np.array([[0.5, 0.5, 0.2, 0.4], [0.1, 0.9, 0.05, 0.05]], np.float32)
    landms = np.zeros((2, 10), np.float32)
    landms[0] = [1, -2, 0, 0, 3, 1, -1, 0, 0.5, 0.5]
    # point = centre + offset * 0.1 * prior size, per point: x with w 0.2, y with h 0.4
    expected0 = [
        [0.5 + 0.02, 0.5 - 0.08],
        [0.5, 0.5],
        [0.5 + 0.06, 0.5 + 0.04],
        [0.5 - 0.02, 0.5],
        [0.5 + 0.01, 0.5 + 0.02],
    ]
    points = decode_landmarks(landms, priors)
    assert points.dtype == np.float32 and points.shape == (2, 5, 2)
    np.testing.assert_allclose(points[0], expected0, atol=1e-6)
    np.testing.assert_allclose(points[1], [[0.1, 0.9]] * 5, atol=1e-7)


def test_decode_landmarks_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        decode_landmarks(np.zeros((3, 8)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        decode_landmarks(np.zeros((3, 10)), np.zeros((2, 4)))


def _random_outputs(rng: np.random.Generator, size: tuple[int, int]):
    priors = prior_boxes(*size)
    n = len(priors)
    loc = rng.normal(0, 1.5, (n, 4)).astype(np.float32)
    scores = rng.uniform(0, 1, n).astype(np.float32) ** 3
    scores[rng.integers(0, n, 8)] = scores[0]  # equal scores: NMS's stable order matters
    conf = np.stack([1 - scores, scores], axis=1)
    landms = rng.normal(0, 2, (n, 10)).astype(np.float32)
    return loc, conf, landms, priors


@pytest.mark.parametrize(
    "config",
    [
        PostprocessConfig(),
        PostprocessConfig(top_k=40, keep_top_k=7),
        PostprocessConfig(conf_threshold=0.5, nms_threshold=0.2),
    ],
)
def test_boxes_identical_and_landmarks_follow_their_anchor(config: PostprocessConfig) -> None:
    rng = np.random.default_rng(3)
    for size, factor in [((64, 96), 0.37), ((75, 133), 1.0), ((41, 29), 2.5)]:
        loc, conf, landms, priors = _random_outputs(rng, size)
        plain = postprocess(loc, conf, priors, size, factor, config)
        dets, points = postprocess_with_landmarks(loc, conf, landms, priors, size, factor, config)
        assert dets.dtype == plain.dtype == np.float32
        assert dets.tobytes() == plain.tobytes() and dets.shape == plain.shape
        assert points.dtype == np.float32 and points.shape == (len(dets), 5, 2)
        assert len(dets) > 1
        # Find each kept box's anchor among all anchors, independently of postprocess.
        height, width = size
        all_boxes = (
            decode_boxes(loc, priors)
            * np.array([width, height, width, height], np.float32)
            / np.float32(factor)
        )
        all_points = (
            decode_landmarks(landms, priors)
            * np.array([width, height], np.float32)
            / np.float32(factor)
        )
        for det, point in zip(dets, points, strict=True):
            (anchor,) = np.flatnonzero((all_boxes == det[:4]).all(axis=1) & (conf[:, 1] == det[4]))
            np.testing.assert_array_equal(point, all_points[anchor])


def test_landmarks_of_the_box_nms_keeps() -> None:
    # Three copies of one anchor with different landmark offsets: NMS keeps the best score.
    priors = np.array([[0.5, 0.5, 0.1, 0.1]] * 3 + [[0.1, 0.1, 0.1, 0.1]], np.float32)
    scores = np.array([0.7, 0.9, 0.8, 0.3], np.float32)
    conf = np.stack([1 - scores, scores], axis=1)
    loc = np.zeros((4, 4), np.float32)
    landms = np.zeros((4, 10), np.float32)
    landms[:, 0] = [1, 2, 3, 4]  # x offset of the left eye tells the anchors apart
    dets, points = postprocess_with_landmarks(loc, conf, landms, priors, (100, 200), 0.5)
    np.testing.assert_allclose(dets[:, 4], [0.9, 0.3], rtol=1e-6)
    # x = (0.5 + 2 * 0.1 * 0.1) * 200 / 0.5 = 208; y = 0.5 * 100 / 0.5 = 100
    np.testing.assert_allclose(points[0, 0], [208.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(points[0, 1:], [[200.0, 100.0]] * 4, rtol=1e-6)
    np.testing.assert_allclose(points[1, 0], [(0.1 + 4 * 0.1 * 0.1) * 400, 20.0], rtol=1e-5)
    empty, none = postprocess_with_landmarks(loc, conf * 0, landms, priors, (100, 200), 0.5)
    assert empty.shape == (0, 5) and none.shape == (0, 5, 2)


def test_postprocess_with_landmarks_rejects_mismatched_landms() -> None:
    priors = np.array([[0.5, 0.5, 0.1, 0.1]] * 3, np.float32)
    conf = np.full((3, 2), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"landms of shape \(3, 10\)"):
        postprocess_with_landmarks(np.zeros((3, 4)), conf, np.zeros((2, 10)), priors, (10, 10), 1.0)


@pytest.mark.parametrize("which", ["torch_detector", "onnx_detector"])
def test_photo_boxes_and_txt_unchanged_by_landmarks(
    which: str, request: pytest.FixtureRequest, t1_image: np.ndarray
) -> None:
    detector = request.getfixturevalue(which)
    size = t1_image.shape[:2]
    frames = np.stack([t1_image, t1_image[:, ::-1]])
    plain = detector.detect(frames, size)
    with_points = detector.detect_with_landmarks(frames, size)
    for boxes, (same, points) in zip(plain, with_points, strict=True):
        assert same.tobytes() == boxes.tobytes()
        assert format_detections_txt(same) == format_detections_txt(boxes)
        assert points.shape == (len(boxes), 5, 2) and points.dtype == np.float32
    # The network outputs themselves do not depend on fetching the landmarks too.
    batch = np.zeros((1, 3, *network_input_size(size)), np.float32)
    loc, conf = detector.forward(batch)
    loc3, conf3, landms = detector.forward_with_landmarks(batch)
    np.testing.assert_array_equal(loc3, loc)
    np.testing.assert_array_equal(conf3, conf)
    assert landms.shape == (*loc.shape[:2], 10)


def test_backends_agree_on_landmarks(torch_detector, onnx_detector, t1_image) -> None:
    size = t1_image.shape[:2]
    ((boxes_t, points_t),) = torch_detector.detect_with_landmarks(t1_image[None], size)
    ((boxes_o, points_o),) = onnx_detector.detect_with_landmarks(t1_image[None], size)
    confident_t, confident_o = boxes_t[:, 4] >= 0.1, boxes_o[:, 4] >= 0.1
    np.testing.assert_allclose(boxes_t[confident_t], boxes_o[confident_o], rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(points_t[confident_t], points_o[confident_o], rtol=1e-4, atol=1e-2)
    rng = np.random.default_rng(0)
    batch = rng.uniform(-120, 130, size=(2, 3, 75, 133)).astype(np.float32)
    landms_t = torch_detector.forward_with_landmarks(batch)[2]
    landms_o = onnx_detector.forward_with_landmarks(batch)[2]
    np.testing.assert_allclose(landms_o, landms_t, atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("mirrored", [False, True])
def test_photo_landmarks_are_plausible(onnx_detector, t1_image, mirrored: bool) -> None:
    image = t1_image[:, ::-1].copy() if mirrored else t1_image
    ((boxes, points),) = onnx_detector.detect_with_landmarks(image[None], image.shape[:2])
    faces = boxes[:, 4] >= 0.8
    assert faces.sum() == 6
    for box, (left_eye, right_eye, nose, left_mouth, right_mouth) in zip(
        boxes[faces], points[faces], strict=True
    ):
        pts = np.stack([left_eye, right_eye, nose, left_mouth, right_mouth])
        assert (pts[:, 0] > box[0]).all() and (pts[:, 0] < box[2]).all()
        assert (pts[:, 1] > box[1]).all() and (pts[:, 1] < box[3]).all()
        # Image-left eye and mouth corner first (mirroring swaps which eye is which).
        assert left_eye[0] < right_eye[0] and left_mouth[0] < right_mouth[0]
        assert left_eye[0] < nose[0] < right_eye[0]
        eyes_y = max(left_eye[1], right_eye[1])
        assert eyes_y < nose[1] < min(left_mouth[1], right_mouth[1])


class FakeLandmarkDetector:
    """One box per frame, scored by the frame's first preprocessed pixel, with landmarks."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def _boxes(self, batch: np.ndarray) -> list[np.ndarray]:
        return [np.array([[0, 0, 1, 1, item[0, 0, 0]]], np.float32) for item in batch]

    def detect_preprocessed(self, batch: np.ndarray, orig_size: tuple[int, int]):
        return self._boxes(batch)

    def detect_preprocessed_with_landmarks(self, batch: np.ndarray, orig_size: tuple[int, int]):
        self.batches.append(len(batch))
        return [(b, np.full((1, 5, 2), b[0, 4], np.float32)) for b in self._boxes(batch)]


def _frame(value: int) -> np.ndarray:
    return np.full((40, 60, 3), value, np.uint8)


def test_stream_with_landmarks_keeps_order_and_boxes() -> None:
    frames = [(i + 1, _frame(104 + i)) for i in range(11)]
    detector = FakeLandmarkDetector()
    out = list(detect_frames_with_landmarks(iter(frames), detector, batch_size=4, prefetch=2))
    plain = list(detect_frames(iter(frames), detector, batch_size=4))
    assert [index for index, _, _ in out] == list(range(1, 12))
    assert detector.batches == [4, 4, 3]
    for (index, boxes, points), (same_index, same_boxes) in zip(out, plain, strict=True):
        assert index == same_index
        np.testing.assert_array_equal(boxes, same_boxes)
        assert points.shape == (1, 5, 2) and (points == index - 1).all()


def test_stream_with_landmarks_checks_arguments_and_closes() -> None:
    with pytest.raises(ValueError, match="needs orig_size"):
        detect_frames_with_landmarks([], FakeLandmarkDetector(), already_resized=True)
    with pytest.raises(ValueError, match="batch_size"):
        detect_frames_with_landmarks([], FakeLandmarkDetector(), batch_size=0)
    closed = threading.Event()

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        try:
            for i in range(1000):
                yield i, _frame(0)
        finally:
            closed.set()

    stream = detect_frames_with_landmarks(frames(), FakeLandmarkDetector(), batch_size=2)
    assert next(stream)[0] == 0
    stream.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "detect-frames-loader"]


def test_real_stream_with_landmarks_matches_direct_calls(onnx_detector, t1_image) -> None:
    frames = [(1, t1_image), (2, t1_image[:, ::-1].copy()), (3, t1_image)]
    out = {i: (b, p) for i, b, p in detect_frames_with_landmarks(frames, onnx_detector, 2)}
    plain = dict(detect_frames(frames, onnx_detector, batch_size=2))
    direct = onnx_detector.detect_with_landmarks(
        np.stack([f for _, f in frames]), t1_image.shape[:2]
    )
    for (index, _), (boxes, points) in zip(frames, direct, strict=True):
        assert out[index][0].tobytes() == plain[index].tobytes()
        np.testing.assert_allclose(out[index][0], boxes, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(out[index][1], points, rtol=1e-5, atol=1e-3)
