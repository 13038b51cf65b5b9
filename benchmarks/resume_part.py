"""Per-video resume and reuse on a 16-video demo part, through the real workflow.

(a) SIGKILL each of extract_frames, detect_faces and align_faces when 80% of its videos are
    done (its work area emptied first, so that attempt computes every video), then re-run:
    target re-run time / clean time <= 0.3; the outputs must be byte-identical to the clean run.
(b) Replace one video (new content, same name), then re-run the part's preprocessing:
    target re-run time / clean time <= 0.2 (the four jobs together).

Times are each job's wall time from Snakemake's benchmark file (Python start-up, imports and
the detector's load included), and, in brackets, the stage's own time from its log's last
progress line (what grows with a part's 2,400 videos; the start-up does not).
Usage: python benchmarks/resume_part.py [--workdir DIR] [--videos 16] [--seconds 10] [--fps 30]
       [--size 640x480] [--keep-frames] [--scenarios a,b]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PART = "dfdc_train_part_0"
RULES = ("extract_frames", "detect_faces", "track_faces", "align_faces")
KILLED = ("extract_frames", "detect_faces", "align_faces")
STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*"
FINISHED = re.compile(STAMP + r"video (\d+)/(\d+) \((\d+) reused .*\(finished\)$", re.M)
PROGRESS = re.compile(r"video (\d+)/(\d+) \(")
START = re.compile(STAMP + r"(\d+) videos, \d+ reused .* to compute \(pid (\d+)\)$", re.M)


def stamp(text: str) -> float:
    return time.mktime(time.strptime(text[:19], "%Y-%m-%d %H:%M:%S")) + int(text[20:]) / 1e3


class Bench:
    def __init__(
        self, workdir: Path, videos: int, seconds: float, fps: int, size: str, keep_frames: bool
    ) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.results = workdir / "results"
        self.target = str(self.results / "manifests" / f"{PART}.tsv")
        sys.path.insert(0, str(REPO))  # the checkout's rf_models, whatever is installed
        from rf_models.demo.synth import build_demo_dataset

        t0 = time.perf_counter()
        self.summary = build_demo_dataset(
            self.data,
            n_parts=1,
            videos_per_part=videos,
            min_seconds=seconds,
            max_seconds=seconds,
            fps=fps,
            width=int(size.split("x")[0]),
            height=int(size.split("x")[1]),
        )
        print(
            f"built a {videos}-video part of {seconds:g} s {size} videos at {fps} fps in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        config = {
            "data_root": str(self.data),
            "results_dir": str(self.results),
            "parts": [0],
            "frames": {"temp": not keep_frames},
            "lists": {"build": ["s"], "splits": {"s": {"val": [0], "train": []}}},
            "train": {"models": []},
            "ensemble": {"split": "s"},
        }
        self.config = workdir / "config.yaml"
        self.config.write_text(yaml.safe_dump(config))
        # the checkout's rf_models, whatever is installed; progress lines 20x a second
        self.env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            RF_PROGRESS_SECONDS="0.05",
        )

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(self.workdir),
            "--cores",
            "2",
            "--rerun-incomplete",
            *extra,
            self.target,
            "--configfile",
            str(self.config),
        ]

    def run(self, *extra: str) -> float:
        t0 = time.perf_counter()
        out = subprocess.run(self.command(*extra), capture_output=True, text=True, env=self.env)
        if out.returncode:
            raise SystemExit(f"snakemake failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return time.perf_counter() - t0

    def log(self, rule: str) -> Path:
        return self.results / "logs" / rule / f"{PART}.log"

    def times(self, rule: str) -> tuple[float, float, int, int]:
        """(job wall s, stage s, videos, reused) of the rule's last successful job."""
        bench = (self.results / "benchmarks" / rule / f"{PART}.tsv").read_text().splitlines()
        job = float(bench[-1].split("\t")[0])
        text = self.log(rule).read_text()
        start, end = START.search(text), FINISHED.search(text)
        if start is None or end is None:
            raise SystemExit(f"{self.log(rule)}: no start or finished progress line")
        stage = stamp(end.group(1)) - stamp(start.group(1))
        return job, stage, int(end.group(3)), int(end.group(4))

    def outputs_digest(self) -> str:
        digest = hashlib.sha256()
        for folder in ("detections", "tracks", "faces", "manifests", "extract"):
            root = self.results / folder
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.name.startswith(".snakemake"):
                    digest.update(str(path.relative_to(root)).encode() + b"\0")
                    digest.update(path.read_bytes())
        return digest.hexdigest()

    def kill_at(self, rule: str, fraction: float) -> int:
        """Start the part's jobs with ``rule`` forced; SIGKILL its job once its progress lines
        say ``fraction`` of its videos are done. Returns the videos it had kept."""
        shutil.rmtree(self.results / "work" / rule / PART, ignore_errors=True)
        self.log(rule).unlink(missing_ok=True)
        proc = subprocess.Popen(
            self.command("--forcerun", rule),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        killed = False
        while proc.poll() is None and not killed:
            text = self.log(rule).read_text() if self.log(rule).exists() else ""
            start, lines = START.search(text), PROGRESS.findall(text)
            if start and lines and int(lines[-1][0]) >= fraction * int(lines[-1][1]):
                os.kill(int(start.group(3)), signal.SIGKILL)
                killed = True
            time.sleep(0.01)
        proc.wait()
        if not killed or proc.returncode == 0:
            raise SystemExit(f"{rule}: the job ended before it could be killed")
        return len(list((self.results / "work" / rule / PART / "videos").glob("*/entry.json")))

    def replace_one_video(self) -> str:
        normal = [
            v
            for v in json.loads((self.data / "demo_summary.json").read_text())["videos"]
            if v["case"] == "normal" and v["part"] == PART
        ]
        target, source = (
            self.data / PART / normal[0]["filename"],
            self.data / PART / normal[1]["filename"],
        )
        shutil.copyfile(source, target)  # new content (and size, mtime) under the same name
        return target.name


def ratio_row(label: str, clean: tuple[float, float], again: tuple[float, float], target: float):
    job, stage = again[0] / clean[0], again[1] / max(clean[1], 1e-9)
    verdict = "ok" if job <= target else "ABOVE"
    print(
        f"{label:34s} {clean[0]:7.1f} {again[0]:7.1f} {job:6.2f}   "
        f"({clean[1]:5.1f} {again[1]:5.1f} {stage:5.2f})   <= {target} {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--videos", type=int, default=16)
    # DFDC's videos: 300 frames (10 s at 30 fps) of 1920x1080; at fewer frames or pixels per
    # video the jobs' fixed start-up (Python, imports, the detector's load) weighs more than it
    # does on DFDC: at 320x240 align's whole job lasts 3 s, 0.4 s of it start-up
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each video")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="640x480", help="WxH; DFDC's are 1920x1080")
    parser.add_argument("--keep-frames", action="store_true", help="frames.temp: false")
    parser.add_argument("--scenarios", default="a,b")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rf-resume-"))
    bench = Bench(workdir, args.videos, args.seconds, args.fps, args.size, args.keep_frames)

    wall = bench.run()
    clean = {rule: bench.times(rule) for rule in RULES}
    reference = bench.outputs_digest()
    frames = sum(
        int(line.split("\t")[5])
        for line in (bench.results / "manifests" / f"{PART}.tsv").read_text().splitlines()[1:]
    )
    print(
        f"clean run: {wall:.0f} s wall, {frames} frames; per job (job s / stage s): "
        + ", ".join(f"{r} {clean[r][0]:.1f}/{clean[r][1]:.0f}" for r in RULES)
    )
    print(f"frames.temp: {not args.keep_frames}")
    print(
        f"{'scenario':34s} {'clean':>7s} {'re-run':>7s} {'ratio':>6s}   "
        "(stage: clean re-run ratio)   target"
    )

    if "a" in args.scenarios:
        for rule in KILLED:
            kept = bench.kill_at(rule, 0.8)
            bench.run("--forcerun", rule)  # the same command again, as after a failed job
            job, stage, videos, reused = bench.times(rule)
            if reused != kept:
                raise SystemExit(f"{rule}: {kept} videos kept but {reused} reused")
            identical = bench.outputs_digest() == reference
            ratio_row(f"(a) {rule} killed at 80%", clean[rule][:2], (job, stage), 0.3)
            print(
                f"    {reused}/{videos} videos reused; outputs identical to the clean run: "
                f"{'yes' if identical else 'NO'}"
            )
            if not identical:
                return 1

    if "b" in args.scenarios:
        name = bench.replace_one_video()
        wall_b = bench.run()
        again = {rule: bench.times(rule) for rule in RULES}
        total_clean = tuple(sum(clean[r][i] for r in RULES) for i in (0, 1))
        total_again = tuple(sum(again[r][i] for r in RULES) for i in (0, 1))
        ratio_row("(b) one video replaced, 4 jobs", total_clean, total_again, 0.2)
        for rule in RULES:
            print(
                f"    {rule:15s} {again[rule][3]}/{again[rule][2]} reused "
                f"({clean[rule][0]:.1f} -> {again[rule][0]:.1f} s)"
            )
        print(
            f"    replaced {name}; Snakemake wall {wall:.0f} -> {wall_b:.0f} s "
            f"({wall_b / wall:.2f}, its own start-up and DAG included)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
