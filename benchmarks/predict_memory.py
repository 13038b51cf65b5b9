"""Peak memory of predict on a large video: a generated 4K (3840x2160) 60 s video, scored with
the demo models by the command users run, ``python -m rf_models.predict`` (pictures included).

Predict keeps no full frame: detection streams the sampled frames and the crops are cut, already
shrunk to the models' sides, in a second decode. On a CPU it loads the models one at a time
(predict.models_in_memory: auto -> one). Its peak RSS should therefore not grow with
resolution or length; the benchmark scores a small short video the same way for comparison,
then the large one again with every model kept loaded (models_in_memory: all), and prints the
peaks, the times, and the ratio to the 1.5 GB target. The code before kept every sampled frame
at full size: 150 x 3840 x 2160 x 3 bytes = 3.7 GB for this video.

Usage: python benchmarks/predict_memory.py [--models demo_work/results/models]
           [--config profiles/demo/demo-config.yaml] [--seconds 60] [--workdir DIR] [--keep]
           [--no-pictures]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from face_video import write_face_video

from rf_models.infer.sampling import sample_frames

REPO = Path(__file__).resolve().parents[1]
TARGET_GB = 1.5


def peak_rss_of(cmd: list[str], log: Path) -> tuple[float, float, int]:
    """(peak RSS in GB, wall seconds, exit code) of a child process."""
    start = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024**2, time.perf_counter() - start, child.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", type=Path, default=REPO / "demo_work/results/models")
    p.add_argument("--config", type=Path, default=REPO / "profiles/demo/demo-config.yaml")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--width", type=int, default=3840)
    p.add_argument("--height", type=int, default=2160)
    p.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    p.add_argument("--keep", action="store_true", help="keep the videos and outputs")
    p.add_argument("--no-pictures", action="store_true", help="score without drawing pictures")
    args = p.parse_args()
    if not (args.models.is_dir() and any(args.models.glob("*/best.pt"))):
        print(f"error: no trained models in {args.models} (run `make demo` first)", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="predict_memory_"))
    work.mkdir(parents=True, exist_ok=True)
    videos = {
        "small": (work / "small_480p_2s.mp4", 640, 480, 2.0),
        "large": (work / "large.mp4", args.width, args.height, args.seconds),
    }
    for path, width, height, seconds in videos.values():
        if not path.is_file():
            start = time.perf_counter()
            write_face_video(path, width, height, seconds)
            print(
                f"generated {path.name}: {width}x{height}, {seconds:g} s at 30 fps "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    all_loaded = work / "all_loaded.yaml"
    all_loaded.write_text("predict: {models_in_memory: all}\n")
    runs = {  # name: (video, extra config)
        "small, one at a time": ("small", []),
        "large, one at a time": ("large", []),
        "large, all loaded": ("large", ["--config", str(all_loaded)]),
    }
    rows = {}
    for run, (name, extra) in runs.items():
        path, width, height, seconds = videos[name]
        cmd = [sys.executable, "-m", "rf_models.predict", str(path), "--models", str(args.models)]
        cmd += ["--config", str(args.config), *extra, "--out", str(work / f"out_{len(rows)}")]
        cmd += ["--no-pictures"] if args.no_pictures else []
        log = work / f"run_{len(rows)}.log"
        gb, wall, code = peak_rss_of(cmd, log)
        if code != 0:
            print(f"error: predict failed on {path} (exit {code}); see {log}")
            return 1
        rows[run] = (width, height, seconds, gb, wall)
    print(f"\npredict with the models in {args.models}, peak RSS of the whole process")
    print(f"{'run':22s} {'video':20s} {'frames':>7s} {'sampled':>8s} {'seconds':>8s}   peak RSS")
    for run, (width, height, seconds, gb, wall) in rows.items():
        n = int(round(seconds * 30))
        label = f"{width}x{height} {seconds:g} s"
        print(f"{run:22s} {label:20s} {n:7d} {len(sample_frames(n)):8d} {wall:8.1f} {gb:8.2f} GB")
    large, small = rows["large, one at a time"], rows["small, one at a time"]
    n = int(round(large[2] * 30))
    old = len(sample_frames(n)) * large[0] * large[1] * 3 / 1024**3
    print(
        f"\nlarge video, models one at a time (a CPU's default): peak {large[3]:.2f} GB = "
        f"{large[3] / TARGET_GB:.2f} x the {TARGET_GB} GB target; {large[3] - small[3]:+.2f} GB "
        f"against the small one; all models loaded: {rows['large, all loaded'][3]:.2f} GB"
    )
    print(f"(the code before kept the sampled frames at full size: {old:.1f} GB of frames alone)")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
