"""The GPU paths in one command: detection speed, training steps with AMP and channels-last,
a DDP step under torchrun with NCCL, predict's time per video, and the data loader's speed.

    python benchmarks/gpu_check.py                 # on the GPU, the seed's sizes (minutes)
    python benchmarks/gpu_check.py --device cpu    # a smoke run on tiny sizes (CI runs it)

Prints one table: each row a check, its figure and unit, and what it was run on.

- RetinaFace frames/s on 1080p frames, PyTorch in fp32 and in fp16 (the fp16 row says
  whether its boxes agree with fp32's: same count per frame, corners within 1 px);
- one training step per architecture at the seed's input size and per-GPU batch, with AMP
  and channels-last as training runs on CUDA: samples/s and peak memory;
- a DDP step of one architecture under ``torchrun --nproc-per-node 1`` (NCCL on CUDA, gloo on
  the CPU), through the training's own process-group set-up;
- predict's seconds per video with the eleven models at their inference sizes (random
  weights: speed does not depend on them), against the 8.1 s per video Kaggle allowed on a
  P100;
- the data loader's samples/s per worker for Aug A (image) and Aug V (clip) at the seed's
  sizes.
The smoke run keeps every path (the same functions) at sizes a CPU does in about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

KAGGLE_SECONDS_PER_VIDEO = 8.1  # the DFDC kernel's budget: 4,000 videos in 9 hours on a P100
MODELS = ("xcep", "b3", "r34", "b1", "b1long", "b1short", "b0",
          "sf", "sf_noaug", "sf_16x8", "sf_alldata")  # fmt: skip
TRAIN_BLOCKS = {"b0": "tf_efficientnet_b0", "b1": "tf_efficientnet_b1",
                "b3": "tf_efficientnet_b3", "r34": "resnet34", "xcep": "legacy_xception",
                "sf": "slowfast_r50"}  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """What one run measures at: the seed's sizes, or the smoke run's."""

    frame: tuple[int, int]  # detection frame (height, width)
    frames: int  # frames per detection measurement
    image_side: int | None  # None: each block's input size
    image_batch: int | None  # None: each block's per-GPU batch
    clip: tuple[int, int] | None  # (frames, side) of a training clip; None: the block's
    video: tuple[int, int, float]  # predict video: width, height, seconds
    sampled: int  # frames predict samples per video
    infer_side: int | None  # None: each block's inference size
    steps: int


FULL = Sizes((1080, 1920), 64, None, None, None, (1920, 1080, 10.0), 160, None, 5)
SMOKE = Sizes((180, 320), 4, 64, 2, (4, 64), (320, 180, 1.0), 8, 64, 1)


def _seed_blocks() -> dict[str, dict]:
    from rf_models.config import load_repo_config
    from rf_models.train.config import resolve_model_block

    config = load_repo_config([])
    return {name: resolve_model_block(config, name) for name in MODELS}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_detection(device: torch.device, sizes: Sizes) -> list[tuple]:
    """Frames/s of RetinaFace in fp32 and fp16, and whether fp16's boxes agree."""
    import cv2
    import insightface

    from rf_models.detect.backends import network_input_size, preprocess_frame
    from rf_models.detect.postprocess import postprocess, resize_factor
    from rf_models.detect.priors import prior_boxes
    from rf_models.detect.retinaface import default_weights_path, load_retinaface

    photo = cv2.imread(os.path.join(os.path.dirname(insightface.__file__), "data/images/t1.jpg"))
    frame = cv2.resize(photo, sizes.frame[::-1])
    batch = np.stack([preprocess_frame(frame, sizes.frame) for _ in range(sizes.frames)])
    input_size = network_input_size(sizes.frame)
    priors = prior_boxes(*input_size)
    factor = resize_factor(*sizes.frame)
    model = load_retinaface(default_weights_path(), device="cpu").to(device).eval()
    rows, found = [], {}
    for dtype in (torch.float32, torch.float16):
        if dtype == torch.float16 and device.type != "cuda":
            rows.append(("detect", "RetinaFace fp16", "-", "frames/s", "CUDA only"))
            continue
        net = model.to(dtype)
        x = torch.from_numpy(batch).to(device, dtype)
        with torch.inference_mode():
            net(x[:1])  # warm-up
            _sync(device)
            start = time.perf_counter()
            loc, conf, _ = net(x)
            _sync(device)
        seconds = time.perf_counter() - start
        loc, conf = loc.float().cpu().numpy(), conf.float().cpu().numpy()
        found[dtype] = [
            postprocess(loc[i], conf[i], priors, input_size, factor) for i in range(len(x))
        ]
        name = "fp32" if dtype == torch.float32 else "fp16"
        note = f"{sizes.frame[1]}x{sizes.frame[0]}, batch {len(x)}"
        if dtype == torch.float16:
            agree = all(
                len(a) == len(b) and (len(a) == 0 or np.abs(a[:, :4] - b[:, :4]).max() <= 1.0)
                for a, b in zip(found[torch.float32], found[dtype], strict=True)
            )
            note += ", boxes agree with fp32" if agree else ", boxes DIFFER from fp32"
        rows.append(("detect", f"RetinaFace {name}", f"{len(x) / seconds:.1f}", "frames/s", note))
    return rows


def check_training(device: torch.device, sizes: Sizes) -> list[tuple]:
    """One AMP + channels-last step per architecture at the seed's input and per-GPU batch."""
    from rf_models.models.factory import create_model

    blocks = _seed_blocks()
    rows = []
    for name, arch in TRAIN_BLOCKS.items():
        block = blocks[name]
        batch = sizes.image_batch or block["batch_size"]
        if block["kind"] == "video":
            frames, side = sizes.clip or (block["clip_frames"], block["input_size"])
            shape, fmt = (batch, 3, frames, side, side), torch.channels_last_3d
        else:
            side = sizes.image_side or block["input_size"]
            shape, fmt = (batch, 3, side, side), torch.channels_last
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        model = create_model(arch).to(device, memory_format=fmt).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
        scaler = torch.amp.GradScaler(enabled=device.type == "cuda")
        x = torch.randn(shape, device=device).contiguous(memory_format=fmt)
        y = torch.randint(0, 2, (batch,), device=device)
        times = []
        for _ in range(sizes.steps + 1):  # the first is warm-up
            _sync(device)
            start = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            _sync(device)
            times.append(time.perf_counter() - start)
        step = float(np.median(times[1:]))
        amp = "AMP, " if device.type == "cuda" else ""
        note = f"{'x'.join(map(str, shape))}, {amp}channels-last, peak {_peak_mb(device):.0f} MB"
        rows.append(("train", f"{name} ({arch})", f"{batch / step:.1f}", "samples/s", note))
        del model, opt, x
    return rows


def ddp_worker(device: str) -> int:
    """One DDP step inside torchrun, through rf_models.train.distributed's set-up (which forms
    a process group only for several ranks: for one, the group is formed here the same way,
    so that the backend really runs)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from rf_models.models.factory import create_model
    from rf_models.train.distributed import (
        DistContext,
        init_distributed,
        resolve_init_method,
        shutdown,
    )

    ctx = init_distributed(device)
    if ctx.backend is None:
        backend = "nccl" if ctx.device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, init_method=resolve_init_method(None, ctx.launch), rank=0, world_size=1
        )
        ctx = DistContext(ctx.launch, ctx.device, backend, owns_group=True)
    model = create_model("resnet34").to(ctx.device)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    ddp = DistributedDataParallel(model, device_ids=ids)
    x = torch.randn(4, 3, 64, 64, device=ctx.device)
    start = time.perf_counter()
    loss = ddp(x).sum()
    loss.backward()
    _sync(ctx.device)
    result = {
        "backend": ctx.backend,
        "world": ctx.launch.world_size,
        "seconds": time.perf_counter() - start,
        "device": str(ctx.device),
    }
    print(json.dumps(result))
    shutdown(ctx)
    return 0


def check_ddp(device: torch.device) -> list[tuple]:
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1"]
    cmd = [*torchrun, str(Path(__file__)), "--ddp-worker", "--device", device.type]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return [("ddp", "torchrun --nproc-per-node 1", "failed", "", tail[0][:120])]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    note = f"backend {result['backend']}, world {result['world']}, {result['device']}"
    return [("ddp", "torchrun --nproc-per-node 1", f"{result['seconds']:.2f}", "s/step", note)]


def check_predict(device: torch.device, sizes: Sizes, workdir: Path) -> list[tuple]:
    """Seconds per video, the eleven models at their inference sizes, the seed's ensemble."""
    from face_video import write_face_video

    from rf_models.detect.backends import RetinaFaceDetector
    from rf_models.infer.policy import EnsemblePolicy
    from rf_models.infer.scoring import LoadedModel
    from rf_models.infer.video_scoring import score_video
    from rf_models.models.factory import create_model
    from rf_models.train.config import ModelConfig

    width, height, seconds = sizes.video
    video = write_face_video(workdir / "face.mp4", width, height, seconds, fps=30, distinct=8)
    config_blocks = _seed_blocks()
    models = []
    for name in MODELS:
        block = dict(config_blocks[name])
        if sizes.infer_side:
            block["infer_size"] = sizes.infer_side
        cfg = ModelConfig.from_dict(name, block)
        model = create_model(cfg.arch).to(device).eval()
        if device.type == "cuda":
            fmt = torch.channels_last if cfg.kind == "image" else torch.channels_last_3d
            model = model.to(memory_format=fmt)
        models.append(LoadedModel(name, cfg, model, device))
    from rf_models.config import load_repo_config

    policy = EnsemblePolicy.from_config(load_repo_config([])["ensemble"]["policy"])
    detector = RetinaFaceDetector(backend="auto", device=device.type)
    score_video(video, detector, models, policy, max_frames=sizes.sampled)  # warm-up
    _sync(device)
    start = time.perf_counter()
    result = score_video(video, detector, models, policy, max_frames=sizes.sampled)
    _sync(device)
    spent = time.perf_counter() - start
    note = (
        f"{width}x{height}, {seconds:g} s, {sizes.sampled} frames sampled, "
        f"{result.num_faces} faces, {result.status}; Kaggle's budget {KAGGLE_SECONDS_PER_VIDEO} s"
    )
    return [("predict", "eleven models + ensemble", f"{spent:.2f}", "s/video", note)]


def check_loader() -> list[tuple]:
    from train_speed import bench_transforms

    per_sample = bench_transforms(repeats=3)
    return [
        ("loader", "Aug A (320 px -> 299)", f"{1 / per_sample['aug_a_image_s']:.1f}",
         "samples/s/worker", "one image"),
        ("loader", "Aug V (32 x 256 px -> 224)", f"{1 / per_sample['aug_v_clip_s']:.1f}",
         "samples/s/worker", "one clip"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/gpu_check.py", description=__doc__)
    p.add_argument("--device", default="cuda", help="cuda (the check), cpu (the smoke run)")
    p.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.ddp_worker:
        return ddp_worker(args.device)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "error: no CUDA device here; run with --device cpu for the smoke run", file=sys.stderr
        )
        return 2
    sizes = SMOKE if device.type == "cpu" else FULL
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    rows: list[tuple] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for step in (
            lambda: check_detection(device, sizes),
            lambda: check_training(device, sizes),
            lambda: check_ddp(device),
            lambda: check_predict(device, sizes, Path(tmp)),
            check_loader,
        ):
            rows.extend(step())
    mode = "smoke run (tiny sizes)" if sizes is SMOKE else "the seed's sizes"
    spent = time.perf_counter() - started
    print(f"GPU check on {name}, {mode}, torch {torch.__version__}, {spent:.0f} s")
    print("| check | what | figure | unit | on |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
