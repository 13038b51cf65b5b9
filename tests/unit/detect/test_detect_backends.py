from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from rf_models.detect.backends import RetinaFaceDetector, network_input_size, preprocess_frame
from rf_models.detect.onnx_export import ONNX_WEIGHTS_KEY


def _check_sorted_boxes(boxes: np.ndarray) -> None:
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert np.all(np.diff(boxes[:, 4]) <= 0)
    assert np.all(boxes[:, 4] > 0.02)


@pytest.mark.parametrize("which", ["torch_detector", "onnx_detector"])
def test_six_faces_on_insightface_photo(
    which: str, request: pytest.FixtureRequest, t1_image: np.ndarray
) -> None:
    detector = request.getfixturevalue(which)
    (boxes,) = detector.detect(t1_image[None], t1_image.shape[:2])
    _check_sorted_boxes(boxes)
    faces = boxes[boxes[:, 4] >= 0.8]
    assert len(faces) == 6
    # Original-resolution pixels: every face lies inside the 886x1280 photo, 90-200 px wide.
    assert faces[:, 0].min() > 0 and faces[:, 2].max() < 1280 and faces[:, 3].max() < 886
    assert np.all((faces[:, 2] - faces[:, 0] > 30) & (faces[:, 2] - faces[:, 0] < 200))


def test_backends_agree_on_photo(torch_detector, onnx_detector, t1_image: np.ndarray) -> None:
    size = t1_image.shape[:2]
    (a,) = torch_detector.detect(t1_image[None], size)
    (b,) = onnx_detector.detect(t1_image[None], size)
    confident_a, confident_b = a[a[:, 4] >= 0.1], b[b[:, 4] >= 0.1]
    np.testing.assert_allclose(confident_a, confident_b, rtol=1e-4, atol=1e-2)


def test_backends_agree_on_raw_outputs_at_odd_sizes(torch_detector, onnx_detector) -> None:
    rng = np.random.default_rng(0)
    for shape in [(2, 3, 75, 133), (1, 3, 41, 29)]:
        batch = rng.uniform(-120, 130, size=shape).astype(np.float32)
        loc_t, conf_t = torch_detector.forward(batch)
        loc_o, conf_o = onnx_detector.forward(batch)
        assert loc_t.shape == loc_o.shape == (shape[0], loc_t.shape[1], 4)
        np.testing.assert_allclose(loc_o, loc_t, atol=2e-4, rtol=1e-4)
        np.testing.assert_allclose(conf_o, conf_t, atol=1e-5)


def test_batch_and_resized_input_give_the_same_boxes(onnx_detector, t1_image) -> None:
    import cv2

    size = t1_image.shape[:2]
    (single,) = onnx_detector.detect(t1_image[None], size)
    batch = onnx_detector.detect(np.stack([t1_image, t1_image[:, ::-1]]), size)
    assert len(batch) == 2
    np.testing.assert_allclose(batch[0], single, rtol=1e-5, atol=1e-3)
    assert (batch[1][:, 4] >= 0.8).sum() == 6  # mirrored photo
    f = 400 / 886
    small = cv2.resize(t1_image, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
    assert small.shape[:2] == network_input_size(size) == (400, 578)
    (resized,) = onnx_detector.detect(small[None], size, already_resized=True)
    confident = resized[resized[:, 4] >= 0.8]
    assert len(confident) == 6
    # Resizing uint8 instead of float32 moves boxes by at most a few original pixels.
    np.testing.assert_allclose(confident[:, :4], single[:6, :4], atol=6)


def test_empty_batch(onnx_detector) -> None:
    assert onnx_detector.detect(np.zeros((0, 20, 30, 3), np.uint8), (20, 30)) == []


def test_preprocess_frame_values() -> None:
    image = np.full((1080, 1920, 3), (104, 117, 123), np.uint8)
    image[0, 0] = (255, 0, 0)
    out = preprocess_frame(image, (1080, 1920))
    assert out.dtype == np.float32 and out.shape == (3, 400, 711)
    assert np.all(out[:, 200:, 200:] == 0)
    assert out[0, 0, 0] > 0 and out[1, 0, 0] < 0  # BGR channel order kept
    # Frames whose factor is exactly 1 pass through unresized.
    same = preprocess_frame(np.zeros((400, 500, 3), np.uint8), (400, 500))
    np.testing.assert_array_equal(same[:, 0, 0], [-104, -117, -123])


@pytest.mark.parametrize(
    ("image", "orig_size", "resized", "message"),
    [
        (np.zeros((20, 30, 3), np.float32), (20, 30), False, "BGR uint8"),
        (np.zeros((20, 30), np.uint8), (20, 30), False, "BGR uint8"),
        (np.zeros((20, 30, 4), np.uint8), (20, 30), False, "BGR uint8"),
        (np.zeros((20, 30, 3), np.uint8), (30, 20), False, "frame of 30x20"),
        (np.zeros((400, 710, 3), np.uint8), (1080, 1920), True, "resized frame of 400x711"),
    ],
)
def test_preprocess_rejects_bad_frames(image, orig_size, resized, message) -> None:
    with pytest.raises(ValueError, match=message):
        preprocess_frame(image, orig_size, already_resized=resized)


def test_too_elongated_frame() -> None:
    assert network_input_size((3, 10000)) == (1, 2150)
    with pytest.raises(ValueError, match="too elongated"):
        network_input_size((1, 100000))


def test_detect_rejects_bad_batches(onnx_detector) -> None:
    with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
        onnx_detector.detect(np.zeros((20, 30, 3), np.uint8), (20, 30))
    with pytest.raises(ValueError, match="float32 batch"):
        onnx_detector.detect_preprocessed(np.zeros((1, 3, 20, 30), np.float64), (20, 30))
    with pytest.raises(ValueError, match="expected 400x711"):
        onnx_detector.detect_preprocessed(np.zeros((1, 3, 20, 30), np.float32), (1080, 1920))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "tensorrt"}, "backend must be one of"),
        ({"device": "tpu"}, "device must be one of"),
        ({"threads": 0}, "threads must be"),
    ],
)
def test_detector_rejects_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetinaFaceDetector(**kwargs)


def test_cuda_without_gpu_is_an_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        RetinaFaceDetector(backend="torch", device="cuda")


def test_auto_picks_onnx_on_cpu(onnx_file: Path) -> None:
    detector = RetinaFaceDetector(backend="auto", device="cpu", threads=1, onnx_path=onnx_file)
    assert detector.backend == "onnx" and detector.device == "cpu"


def test_without_the_memory_arena_the_boxes_are_the_same(onnx_file: Path, t1_image) -> None:
    lean = RetinaFaceDetector(
        backend="onnx", device="cpu", threads=1, onnx_path=onnx_file, memory_arena=False
    )
    usual = RetinaFaceDetector(backend="onnx", device="cpu", threads=1, onnx_path=onnx_file)
    assert not lean._session.get_session_options().enable_cpu_mem_arena
    assert usual._session.get_session_options().enable_cpu_mem_arena
    (a,) = lean.detect(t1_image[None], t1_image.shape[:2])
    (b,) = usual.detect(t1_image[None], t1_image.shape[:2])
    np.testing.assert_array_equal(a, b)


def test_onnx_graph_is_tagged_and_dynamic(onnx_file: Path) -> None:
    proto = onnx.load(str(onnx_file))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert len(meta[ONNX_WEIGHTS_KEY]) == 64
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, "height", "width"]
    assert [o.name for o in proto.graph.output] == ["loc", "conf", "landms"]
    assert not list(onnx_file.parent.glob(".*.tmp"))


def test_onnx_path_is_exported_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "rf.onnx"
    detector = RetinaFaceDetector(backend="onnx", threads=1, onnx_path=path)
    assert path.is_file() and detector.backend == "onnx"


def test_onnx_from_other_weights_is_refused(onnx_file: Path, tmp_path: Path) -> None:
    proto = onnx.load(str(onnx_file))
    for entry in proto.metadata_props:
        if entry.key == ONNX_WEIGHTS_KEY:
            entry.value = "0" * 64
    stale = tmp_path / "stale.onnx"
    onnx.save(proto, str(stale))
    with pytest.raises(ValueError, match=r"stale\.onnx.*exported from weights"):
        RetinaFaceDetector(backend="onnx", threads=1, onnx_path=stale)


def test_unreadable_onnx_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nonsense")
    with pytest.raises(ValueError, match=r"bad\.onnx"):
        RetinaFaceDetector(backend="onnx", threads=1, onnx_path=bad)
