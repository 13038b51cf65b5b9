"""Training step benchmark: seconds per SGD step and peak memory of each architecture.

    python benchmarks/train_speed.py [--archs a b ...] [--image-size 64] [--image-batch 8]
        [--video-size 64] [--video-frames 32] [--video-batch 2] [--steps 3] [--threads 2]
        [--device cpu] [--memory-format contiguous|channels_last|both] [--json out.json]

Each architecture runs in its own process so its peak resident memory is its own. A step is
forward, class-weighted loss, backward and a Nesterov SGD update on random input (the model
in training mode, as in the loop); the first step is reported apart as warm-up. Also times
the data transforms (Aug A on one image crop, Aug V on one clip) at the seed's sizes. With
``--memory-format both`` each architecture also runs in channels-last (as training does when a
block's ``channels_last`` is true) and the table gives the ratio of the two step times.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

IMAGE_ARCHS = ("tf_efficientnet_b0", "tf_efficientnet_b1", "tf_efficientnet_b3", "resnet34",
               "legacy_xception")  # fmt: skip
VIDEO_ARCHS = ("slowfast_r50",)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_arch(
    arch: str, shape: tuple[int, ...], steps: int, device: str, memory_format: str
) -> dict[str, Any]:
    from rf_models.models.factory import create_model

    dev = torch.device(device)
    rss_before = _peak_rss_mb()
    fmt = torch.contiguous_format
    if memory_format == "channels_last":
        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
    model = create_model(arch, num_classes=2).to(dev, memory_format=fmt).train()
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True
    )
    weight = torch.tensor([1.8, 0.2], device=dev)
    x = torch.randn(shape, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (shape[0],), device=dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y, weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - t0)
    out = {
        "arch": arch,
        "memory_format": memory_format,
        "input": list(shape),
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "first_step_s": times[0],
        "step_s": statistics.median(times[1:]),
        "rss_before_model_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }
    if dev.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


def bench_transforms(repeats: int = 5) -> dict[str, float]:
    """Seconds per training sample for Aug A (320 px crop -> 299) and Aug V (32 frames of
    256 px -> 224), the seed's sizes."""
    from rf_models.config import load_repo_config
    from rf_models.train.config import ModelConfig, resolve_model_block
    from rf_models.train.transforms import ClipTrainTransform, ImageTrainTransform

    config = load_repo_config([])  # the repository's config.yaml: b0's and sf's seed blocks
    image_cfg = ModelConfig.from_dict("b0", resolve_model_block(config, "b0"))
    video_cfg = ModelConfig.from_dict("sf", resolve_model_block(config, "sf"))
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.integers(0, 256, (3, 320, 320), dtype=np.uint8))
    clip = torch.from_numpy(rng.integers(0, 256, (32, 3, 256, 256), dtype=np.uint8))
    result = {}
    for name, tf, x in (
        ("aug_a_image_s", ImageTrainTransform(image_cfg), img),
        ("aug_v_clip_s", ClipTrainTransform(video_cfg), clip),
    ):
        t0 = time.perf_counter()
        for i in range(repeats):
            tf(x, np.random.default_rng(i))
        result[name] = (time.perf_counter() - t0) / repeats
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/train_speed.py", description=__doc__)
    p.add_argument("--archs", nargs="*", default=[*IMAGE_ARCHS, *VIDEO_ARCHS])
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--image-batch", type=int, default=8)
    p.add_argument("--video-size", type=int, default=64)
    p.add_argument("--video-frames", type=int, default=32)
    p.add_argument("--video-batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--memory-format", choices=["contiguous", "channels_last", "both"], default="contiguous"
    )
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.one:
        if args.one in VIDEO_ARCHS:
            shape = (args.video_batch, 3, args.video_frames, args.video_size, args.video_size)
        else:
            shape = (args.image_batch, 3, args.image_size, args.image_size)
        result = bench_arch(args.one, shape, args.steps, args.device, args.memory_format)
        print(json.dumps(result))
        return 0
    formats = (
        ["contiguous", "channels_last"] if args.memory_format == "both" else [args.memory_format]
    )
    rows = []
    for arch in args.archs:
        for fmt in formats:
            cmd = [sys.executable, str(Path(__file__)), "--one", arch, "--memory-format", fmt]
            for key in ("image_size", "image_batch", "video_size", "video_frames", "video_batch",
                        "steps", "threads", "device"):  # fmt: skip
                cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"benchmark of {arch} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    transforms = bench_transforms()
    print(
        "| arch | memory format | input | params (M) | first step (s) | step (s) | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        shape = "x".join(str(v) for v in r["input"])
        print(
            f"| {r['arch']} | {r['memory_format']} | {shape} | {r['params_m']:.1f} | "
            f"{r['first_step_s']:.2f} | {r['step_s']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    if len(formats) == 2:
        step = {(r["arch"], r["memory_format"]): r["step_s"] for r in rows}
        ratios = [f"{a} {step[a, 'channels_last'] / step[a, 'contiguous']:.2f}" for a in args.archs]
        print("step time, channels-last / contiguous: " + ", ".join(ratios))
    print(
        f"Aug A (320 px -> 299): {transforms['aug_a_image_s'] * 1000:.1f} ms/image; "
        f"Aug V (32 x 256 px -> 224): {transforms['aug_v_clip_s'] * 1000:.1f} ms/clip"
    )
    if args.json:
        from rf_models.io_utils import atomic_write_text

        payload = {"threads": args.threads, "device": args.device, "archs": rows, **transforms}
        atomic_write_text(args.json, json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
