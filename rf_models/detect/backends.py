"""Batched RetinaFace detection on BGR frames with a PyTorch or ONNX Runtime backend: boxes,
and on request the 5 landmarks of each box."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from rf_models.detect.onnx_export import (
    ONNX_INPUT,
    ONNX_OUTPUTS,
    OnnxExportError,
    export_onnx_bytes,
    file_sha256,
    onnx_weights_hash,
)
from rf_models.detect.postprocess import (
    DEFAULT_POSTPROCESS,
    PostprocessConfig,
    postprocess,
    postprocess_with_landmarks,
    resize_factor,
    resized_shape,
)
from rf_models.detect.priors import prior_boxes
from rf_models.detect.retinaface import RetinaFace, default_weights_path, load_retinaface
from rf_models.io_utils import atomic_write_bytes

log = logging.getLogger(__name__)

BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)
BACKENDS = ("auto", "torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")


def network_input_size(orig_size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of the network input for an original frame of ``orig_size``."""
    height, width = orig_size
    size = resized_shape(height, width, resize_factor(height, width))
    if min(size) < 1:
        raise ValueError(f"frame of {height}x{width} is too elongated: it resizes to {size}")
    return size


def preprocess_frame(
    image_bgr: np.ndarray, orig_size: tuple[int, int], already_resized: bool = False
) -> np.ndarray:
    """One BGR uint8 frame (H, W, 3) to a (3, h, w) float32 network input.

    float32, resized by :func:`resize_factor` with ``cv2.INTER_LINEAR`` (skipped when
    ``already_resized``, in which case the frame must already be
    :func:`network_input_size`), minus the BGR mean (104, 117, 123).
    """
    image = np.asarray(image_bgr)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected a BGR uint8 frame of shape (H, W, 3), got {image.dtype} {image.shape}"
        )
    orig_h, orig_w = int(orig_size[0]), int(orig_size[1])
    factor = resize_factor(orig_h, orig_w)
    expected = network_input_size((orig_h, orig_w)) if already_resized else (orig_h, orig_w)
    if image.shape[:2] != expected:
        what = "resized " if already_resized else ""
        raise ValueError(
            f"expected a {what}frame of {expected[0]}x{expected[1]} (original {orig_h}x{orig_w}), "
            f"got {image.shape[0]}x{image.shape[1]}"
        )
    pixels = image.astype(np.float32)
    if not already_resized and factor != 1.0:
        pixels = cv2.resize(
            pixels, None, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR
        )
    pixels -= BGR_MEAN
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


class RetinaFaceDetector:
    """RetinaFace (MobileNet-0.25) detector: BGR frames in, boxes in original pixels out.

    backend: "torch", "onnx", or "auto" (ONNX Runtime on CPU, PyTorch on CUDA; falls
    back to PyTorch when no ONNX graph can be exported). device: "cpu", "cuda" or
    "auto" (CUDA when available). threads: intra-op threads (ONNX session option; for
    PyTorch this sets ``torch.set_num_threads`` process-wide). onnx_path: an exported
    graph to load, or where to export one when the file does not exist; without it,
    the graph is exported in memory.
    """

    def __init__(
        self,
        weights: str | Path | None = None,
        backend: str = "auto",
        device: str = "cpu",
        threads: int | None = None,
        onnx_path: str | Path | None = None,
        config: PostprocessConfig = DEFAULT_POSTPROCESS,
        memory_arena: bool = True,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be a positive integer or None, got {threads}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available() and backend != "onnx":
            raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
        self.weights_path = Path(weights) if weights is not None else default_weights_path()
        self.device = device
        self.threads = threads
        self.config = config
        self.onnx_path = Path(onnx_path) if onnx_path is not None else None
        # ONNX Runtime's CPU arena keeps its peak for the session's life; without it detection
        # is slower but lean (predict's one-model-at-a-time mode; docs/benchmarks.md)
        self.memory_arena = memory_arena
        self._session: Any = None
        self._model: RetinaFace | None = None
        model = load_retinaface(self.weights_path, device="cpu")
        if backend == "auto":
            backend = "torch" if device == "cuda" else "onnx"
            if backend == "onnx":
                try:
                    self._session = self._open_onnx(model)
                except (ImportError, OnnxExportError) as exc:
                    log.warning("ONNX backend unavailable (%s); using PyTorch on CPU", exc)
                    backend = "torch"
        elif backend == "onnx":
            self._session = self._open_onnx(model)
        self.backend = backend
        if backend == "torch":
            if threads is not None:
                torch.set_num_threads(threads)
            self._model = model.to(device)

    def _open_onnx(self, model: RetinaFace) -> Any:
        import onnxruntime as ort

        sha = file_sha256(self.weights_path)
        if self.onnx_path is None:
            source: bytes | str = export_onnx_bytes(model, sha)
        else:
            if not self.onnx_path.is_file():
                atomic_write_bytes(self.onnx_path, export_onnx_bytes(model, sha))
            found = onnx_weights_hash(self.onnx_path)
            if found is not None and found != sha:
                raise ValueError(
                    f"{self.onnx_path}: ONNX graph was exported from weights with sha256 {found}, "
                    f"expected {sha} ({self.weights_path}); delete it to re-export"
                )
            source = str(self.onnx_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or 0
        options.enable_cpu_mem_arena = self.memory_arena
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        providers = ["CPUExecutionProvider"]
        if self.device == "cuda":
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            else:
                log.warning("onnxruntime has no CUDAExecutionProvider; running ONNX on CPU")
        return ort.InferenceSession(source, sess_options=options, providers=providers)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network on a (B, 3, h, w) float32 batch: loc (B, N, 4) and softmaxed conf (B, N, 2)."""
        if self._session is not None:
            loc, conf = self._session.run(list(ONNX_OUTPUTS[:2]), {ONNX_INPUT: batch})
            return loc, conf
        assert self._model is not None
        with torch.inference_mode():
            loc, conf, _ = self._model(torch.from_numpy(batch).to(self.device))
        return loc.float().cpu().numpy(), conf.float().cpu().numpy()

    def forward_with_landmarks(
        self, batch: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`forward` plus the landmark offsets ``landms`` (B, N, 10)."""
        if self._session is not None:
            loc, conf, landms = self._session.run(list(ONNX_OUTPUTS), {ONNX_INPUT: batch})
            return loc, conf, landms
        assert self._model is not None
        with torch.inference_mode():
            loc, conf, landms = self._model(torch.from_numpy(batch).to(self.device))
        return loc.float().cpu().numpy(), conf.float().cpu().numpy(), landms.float().cpu().numpy()

    def _check_batch(
        self, batch: np.ndarray, orig_size: tuple[int, int]
    ) -> tuple[np.ndarray, tuple[int, int]]:
        """The batch as a contiguous array and its network input size, after the checks."""
        batch = np.asarray(batch)
        if batch.dtype != np.float32 or batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(
                f"expected a (B, 3, h, w) float32 batch, got {batch.dtype} {batch.shape}"
            )
        input_size = (batch.shape[2], batch.shape[3])
        expected = network_input_size(orig_size)
        if input_size != expected:
            raise ValueError(
                f"batch is {input_size[0]}x{input_size[1]}, expected {expected[0]}x{expected[1]} "
                f"for frames of {orig_size[0]}x{orig_size[1]}"
            )
        return np.ascontiguousarray(batch), input_size

    def detect_preprocessed(
        self, batch: np.ndarray, orig_size: tuple[int, int]
    ) -> list[np.ndarray]:
        """Detect on a batch of :func:`preprocess_frame` outputs of frames of ``orig_size``."""
        batch, input_size = self._check_batch(batch, orig_size)
        if batch.shape[0] == 0:
            return []
        factor = resize_factor(*orig_size)
        priors = prior_boxes(*input_size)
        loc, conf = self.forward(batch)
        return [
            postprocess(loc[b], conf[b], priors, input_size, factor, self.config)
            for b in range(batch.shape[0])
        ]

    def detect_preprocessed_with_landmarks(
        self, batch: np.ndarray, orig_size: tuple[int, int]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`detect_preprocessed` with each frame's (n, 5, 2) landmarks beside its boxes.

        The boxes are the ones :meth:`detect_preprocessed` returns (the same network outputs
        and the same post-processing); landmark row k belongs to box k.
        """
        batch, input_size = self._check_batch(batch, orig_size)
        if batch.shape[0] == 0:
            return []
        factor = resize_factor(*orig_size)
        priors = prior_boxes(*input_size)
        loc, conf, landms = self.forward_with_landmarks(batch)
        return [
            postprocess_with_landmarks(
                loc[b], conf[b], landms[b], priors, input_size, factor, self.config
            )
            for b in range(batch.shape[0])
        ]

    def _preprocess_batch(
        self, frames_bgr: np.ndarray, orig_size: tuple[int, int], already_resized: bool
    ) -> np.ndarray | None:
        frames = np.asarray(frames_bgr)
        if frames.ndim != 4:
            raise ValueError(f"expected frames of shape (B, H, W, 3), got {frames.shape}")
        if len(frames) == 0:
            return None
        return np.stack([preprocess_frame(f, orig_size, already_resized) for f in frames])

    def detect(
        self, frames_bgr: np.ndarray, orig_size: tuple[int, int], already_resized: bool = False
    ) -> list[np.ndarray]:
        """Per frame of a (B, H, W, 3) uint8 BGR batch, an (n, 5) float32 array
        [x1, y1, x2, y2, score] in original-resolution pixels, highest score first."""
        batch = self._preprocess_batch(frames_bgr, orig_size, already_resized)
        return [] if batch is None else self.detect_preprocessed(batch, orig_size)

    def detect_with_landmarks(
        self, frames_bgr: np.ndarray, orig_size: tuple[int, int], already_resized: bool = False
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per frame, :meth:`detect`'s boxes and their (n, 5, 2) float32 landmarks (x, y) in
        original-resolution pixels: left eye, right eye, nose, left and right mouth corner."""
        batch = self._preprocess_batch(frames_bgr, orig_size, already_resized)
        return [] if batch is None else self.detect_preprocessed_with_landmarks(batch, orig_size)
