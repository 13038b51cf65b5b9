"""Benchmark: milliseconds per frame of RetinaFace detection at the DFDC input size.

    python benchmarks/detect_speed.py --backend onnx --threads 2 --batch 8

Frames are 1080x1920 (network input 400x711) made from insightface's ``t1.jpg``
when available, else a smooth synthetic image. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np
import torch

from rf_models.detect.backends import RetinaFaceDetector, network_input_size, preprocess_frame

FRAME_SIZE = (1080, 1920)


def _test_frame() -> np.ndarray:
    try:
        import insightface

        path = os.path.join(os.path.dirname(insightface.__file__), "data", "images", "t1.jpg")
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    except ImportError:
        image = None
    if image is None:
        ramp = np.linspace(0, 255, FRAME_SIZE[1], dtype=np.float32)
        image = np.broadcast_to(ramp[None, :, None], (*FRAME_SIZE, 3)).astype(np.uint8)
    return cv2.resize(image, FRAME_SIZE[::-1], interpolation=cv2.INTER_LINEAR)


def benchmark(backend: str, threads: int, batch: int, iters: int, device: str) -> dict:
    """Median ms per frame for preprocessing and for network + post-processing."""
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    detector = RetinaFaceDetector(backend=backend, device=device, threads=threads)
    frame = _test_frame()
    frames = np.stack([frame] * batch)
    pre, det = [], []
    for _ in range(iters + 1):  # the first round warms up
        start = time.perf_counter()
        inputs = np.stack([preprocess_frame(f, FRAME_SIZE) for f in frames])
        mid = time.perf_counter()
        boxes = detector.detect_preprocessed(inputs, FRAME_SIZE)
        end = time.perf_counter()
        pre.append((mid - start) * 1000 / batch)
        det.append((end - mid) * 1000 / batch)
    return {
        "backend": detector.backend,
        "device": detector.device,
        "threads": threads,
        "batch": batch,
        "input_size": network_input_size(FRAME_SIZE),
        "iters": iters,
        "ms_per_frame_detect": round(float(np.median(det[1:])), 2),
        "ms_per_frame_preprocess": round(float(np.median(pre[1:])), 2),
        "faces_ge_0.8": int((boxes[0][:, 4] >= 0.8).sum()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["torch", "onnx", "auto"], default="auto")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iters", type=int, default=5)
    args = parser.parse_args(argv)
    result = benchmark(args.backend, args.threads, args.batch, args.iters, args.device)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
