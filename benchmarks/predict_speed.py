"""What predict costs per video at the models' real sizes, step by step, against Kaggle's budget.

One generated 1080p 10 s video (30 fps, six faces of which two are kept) goes through predict's
steps: the first decode with RetinaFace on the sampled frames, tracking, the second decode that
cuts the crops, each of the eleven models of config.yaml (their real architectures with randomly
initialised weights, at their inference sizes: 299 px, 256 px for r34 and SlowFast; flip TTA
where the block says so) and the seed's ensemble. Each model runs twice on the same crops: the
former way (one face at a time, in the block's eval batches, the mirrored crops in a pass of
their own) and the current one (every face and its mirrors in one forward pass); the speed-up is
printed. Kaggle's budget was 9 hours for 4,000 videos: 8.1 s per video.

On CPU (2 threads by default) the full size takes long (SlowFast-50 over 150 frames of two
faces, four times), so the default CPU run samples fewer frames (--frames, printed) and also
prints an estimate at full size, each model's time scaled by the crops it would see. On CUDA
the default is the full 160.

Usage: python benchmarks/predict_speed.py [--device cpu|cuda|all] [--frames N] [--threads 2]
           [--video PATH] [--only b0,sf]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from face_video import write_face_video

from rf_models.config import read_config_files
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.infer.policy import EnsemblePolicy, ensemble_details
from rf_models.infer.sampled import cut_faces, detect_sampled
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import (
    LoadedModel,
    clip_logits_by_face,
    image_logits_by_face,
    infer_size,
    prepare_crops,
)
from rf_models.infer.video_scoring import crop_side, image_frame_step
from rf_models.models.factory import create_model
from rf_models.track.tracks import track_video
from rf_models.train.config import ModelConfig, resolve_model_block
from rf_models.train.transforms import normalise
from rf_models.video.decode import FrameReader, probe_video

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 9 * 3600 / 4000  # Kaggle: 9 hours of GPU time for 4,000 test videos


class TimedDetector:
    """The detector, timing its own calls (decoding runs beside it in another thread)."""

    def __init__(self, detector: RetinaFaceDetector) -> None:
        self.detector, self.seconds = detector, 0.0

    def detect_preprocessed(self, batch, orig_size):
        start = time.perf_counter()
        try:
            return self.detector.detect_preprocessed(batch, orig_size)
        finally:
            self.seconds += time.perf_counter() - start


def legacy_logits(lm: LoadedModel, faces: list[np.ndarray]) -> list[np.ndarray]:
    """The former scoring: one face at a time; image models in chunks of the block's eval batch
    with the mirrored chunk in a second pass; video models one clip per pass."""
    cfg, out = lm.cfg, []
    for crops in faces:
        x = prepare_crops(crops, infer_size(cfg))
        x = x[..., ::-1] if cfg.colour == "RGB" else x
        img = normalise(
            torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2), cfg.mean, cfg.std
        )
        chunks = (
            [img.permute(1, 0, 2, 3)[None]]
            if cfg.kind == "video"
            else img.split(cfg.eval_batch_size)
        )
        logits = []
        for chunk in chunks:
            chunk = chunk.to(lm.device)
            if lm.device.type == "cuda" and cfg.channels_last:
                chunk = chunk.contiguous(
                    memory_format=torch.channels_last
                    if cfg.kind == "image"
                    else torch.channels_last_3d
                )
            autocast = torch.autocast(
                "cuda", dtype=torch.float16, enabled=lm.device.type == "cuda" and cfg.amp
            )
            with torch.inference_mode(), autocast:
                y = lm.model(chunk).float()
                if cfg.flip_tta:
                    y = (y + lm.model(torch.flip(chunk, dims=[-1])).float()) / 2
            logits.append(y.cpu().numpy())
        out.append(np.concatenate(logits))
    return out


def current_logits(lm: LoadedModel, faces: list[np.ndarray]) -> list[np.ndarray]:
    if lm.cfg.kind == "image":
        return image_logits_by_face(lm, faces)
    return list(clip_logits_by_face(lm, faces))


def load_models(config: dict, names: list[str], device: torch.device) -> list[LoadedModel]:
    models = []
    for name in names:
        cfg = ModelConfig.from_dict(name, resolve_model_block(config, name))
        torch.manual_seed(0)
        model = create_model(cfg.arch, num_classes=2, init=None).to(device).eval()
        if device.type == "cuda" and cfg.channels_last:
            model = model.to(
                memory_format=torch.channels_last if cfg.kind == "image" else torch.channels_last_3d
            )
        models.append(LoadedModel(name, cfg, model, device))
    return models


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(
    video: Path, device: torch.device, frames: int, repeat: int, config: dict, names: list[str]
) -> None:
    policy = EnsemblePolicy.from_config(config["ensemble"]["policy"])
    models = load_models(config, names, device)
    detector = TimedDetector(
        RetinaFaceDetector(backend="auto", device=device.type, threads=torch.get_num_threads())
    )
    n = probe_video(video).declared_frames
    sampled, full = sample_frames(n, frames), sample_frames(n)
    steps: dict[str, float] = {}

    start = time.perf_counter()
    for _ in FrameReader(video, wanted=sampled):
        pass
    steps["decode"] = time.perf_counter() - start
    start = time.perf_counter()
    found = detect_sampled(video, sampled, detector)
    steps["first pass"] = time.perf_counter() - start
    steps["detect"] = detector.seconds
    start = time.perf_counter()
    width, height = found.size
    tracks = track_video(found.boxes, sorted(found.boxes), width, height, max_faces=2)
    steps["track"] = time.perf_counter() - start
    start = time.perf_counter()
    cut = cut_faces(video, tracks, [crop_side(lm) for lm in models])
    steps["crops"] = time.perf_counter() - start
    n_faces = len(cut.frames)
    if not n_faces:
        raise SystemExit(f"{video}: no face kept; the benchmark needs faces")

    timed: list[tuple[str, float, float, float]] = []  # label, now, before, x to full size
    per_model = {}
    for lm in models:
        faces = [crops[crop_side(lm)] for crops in cut.crops]
        if lm.cfg.kind == "image":
            faces = [f[:: image_frame_step(len(f), policy)] for f in faces]
        seen = len(faces[0])
        at_full = (
            min(policy.frame_rule.max_frames, len(full)) if lm.cfg.kind == "image" else len(full)
        )
        # warm-up with the timed batches themselves: cuDNN's algorithm choice, and oneDNN's
        # kernels, which are built per input shape on the first call (a smaller warm-up batch
        # left that cost in the first timed call of the larger one)
        legacy_logits(lm, faces), current_logits(lm, faces)
        times = {"before": math.inf, "now": math.inf}
        for _ in range(repeat):  # alternated, the best of each: the machine may be shared
            for name, fn in (("before", legacy_logits), ("now", current_logits)):
                sync(device)
                start = time.perf_counter()
                logits = fn(lm, faces)
                sync(device)
                times[name] = min(times[name], time.perf_counter() - start)
        per_model[lm.name] = logits
        flip = " +flip" if lm.cfg.flip_tta else ""
        label = f"{lm.name} ({lm.cfg.arch}, {infer_size(lm.cfg)} px, {n_faces}x{seen}{flip})"
        timed.append((label, times["now"], times["before"], at_full / seen))
    start = time.perf_counter()
    ensemble_details({m: {video.name: v} for m, v in per_model.items()}, policy, [video.name])
    steps["ensemble"] = time.perf_counter() - start

    print(
        f"\n== {device} ({torch.get_num_threads()} threads): {video.name}, {n} frames, "
        f"{len(sampled)} sampled (full size: {len(full)}), {n_faces} faces"
    )
    print(f"{'step':60s} {'now s':>7s} {'before s':>9s} {'speed-up':>9s}")
    for label, key in (
        ("decode the sampled frames (alone)", "decode"),
        ("detect (RetinaFace calls)", "detect"),
        ("first pass: decode + detect, overlapped", "first pass"),
        ("track", "track"),
        ("crops: second decode, cut, resize (before: none)", "crops"),
    ):
        print(f"{label:60s} {steps[key]:7.2f}")
    for label, now, before, _ in timed:
        print(f"{label:60s} {now:7.2f} {before:9.2f} {before / now:8.2f}x")
    print(f"{'ensemble':60s} {steps['ensemble']:7.2f}")
    models_now = sum(t[1] for t in timed)
    models_before = sum(t[2] for t in timed)
    print(
        f"{'models together':60s} {models_now:7.2f} {models_before:9.2f} "
        f"{models_before / models_now:8.2f}x"
    )
    common = steps["first pass"] + steps["track"] + steps["ensemble"]
    now = common + steps["crops"] + models_now
    before = common + models_before
    print(f"{'per video':60s} {now:7.2f} {before:9.2f} {before / now:8.2f}x")
    print(
        f"ratio to Kaggle's {BUDGET_S:.1f} s per video: now {now / BUDGET_S:.2f}, "
        f"before {before / BUDGET_S:.2f}"
    )
    if len(sampled) < len(full):
        est = common + steps["crops"] + sum(t[1] * t[3] for t in timed)
        print(
            f"scaled run: {len(sampled)} of {len(full)} sampled frames per video. Estimate at "
            f"full size, each model's time x the crops it would see (decode, detect and crops "
            f"not scaled): {est:.0f} s per video = {est / BUDGET_S:.1f} x the budget"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "all"],
        default="all",
        help="all: the CPU, and CUDA when present",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="sampled frames per video (default: 160 on CUDA, 10 on CPU)",
    )
    p.add_argument(
        "--repeat", type=int, default=None, help="timed runs per model (default: 3 CUDA, 1 CPU)"
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads (torch, ONNX Runtime)")
    p.add_argument("--video", type=Path, default=None, help="default: a generated 1080p video")
    p.add_argument("--only", default=None, help="comma-separated models (default: all eleven)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    config = read_config_files([REPO / "config.yaml"])
    names = args.only.split(",") if args.only else list(config["train"]["models"])
    video = args.video
    if video is None:
        video = Path(tempfile.mkdtemp(prefix="predict_speed_")) / "face_1080p_10s.mp4"
        write_face_video(video, 1920, 1080, 10.0)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device == "cuda" or (args.device == "all" and torch.cuda.is_available()):
        devices.append(torch.device("cuda"))
    if args.device == "all" and not torch.cuda.is_available():
        print("no CUDA device here: CPU only")
    for device in devices:
        frames = args.frames or (160 if device.type == "cuda" else 10)
        repeat = args.repeat or (3 if device.type == "cuda" else 1)
        run(video, device, frames, repeat, config, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
