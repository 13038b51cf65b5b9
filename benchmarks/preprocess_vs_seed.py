"""Preprocessing speed and disk: the seed's method against ours, on one generated 1080p video.

Seed method (docs/reproduction.md §2-4): ffmpeg writes every frame as a full-resolution PNG,
RetinaFace (PyTorch) reads each PNG back (batch 8), txt per frame, IoU tracking, crops cut
from the PNGs and saved as .png and .jpg.
Ours: the workflow's stage functions (extract_frames -> detect_faces -> track_faces ->
align_faces) with the default config (frames shrunk to the detector size as JPEG, ONNX
Runtime on CPU, decoding overlapped with detection, crops cut from the re-decoded video).

Prints each method's per-stage time and disk, the ratios, and how well the detections agree.
Usage: python benchmarks/preprocess_vs_seed.py [--frames 300] [--threads 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from rf_models.data.manifest import read_manifest
from rf_models.detect.backends import RetinaFaceDetector
from rf_models.detect.txt_io import read_detections_txt, write_detections_txt
from rf_models.stages.align import align_part
from rf_models.stages.detect import detect_part
from rf_models.stages.extract import FrameOptions, extract_part
from rf_models.stages.track import track_part
from rf_models.track.boxes import boxes_from_txt_rows, iou_inclusive
from rf_models.track.tracks import track_video

TRACK = {"score_threshold": 0.8, "iou_threshold": 0.5, "crop_scale": 1.3, "crop_source": "borrowed"}


def make_video(path: Path, n_frames: int, width: int = 1920, height: int = 1080) -> None:
    """A 1080p H.264 video of insightface's sample photo (6 faces) panning and zooming."""
    import insightface

    photo = cv2.imread(os.path.join(os.path.dirname(insightface.__file__), "data/images/t1.jpg"))
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(n_frames):
            zoom = 1.0 + 0.1 * np.sin(i / 40)
            m = np.array(
                [
                    [zoom * width / photo.shape[1], 0, 20 * np.sin(i / 25)],
                    [0, zoom * height / photo.shape[0], 10 * np.cos(i / 30)],
                ]
            )
            frame = cv2.warpAffine(photo, m, (width, height), borderMode=cv2.BORDER_REFLECT)
            noise = rng.normal(0, 2, frame.shape)
            frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def seed_method(video: Path, work: Path, threads: int) -> dict:
    times = {}
    frames = work / "image"
    frames.mkdir(parents=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            str(video),
            "-start_number",
            "1",
            str(frames / "frame%d.png"),
        ],
        check=True,
    )
    times["extract"] = time.perf_counter() - t0
    disk_frames = du(frames)

    torch.set_num_threads(threads)
    detector = RetinaFaceDetector(backend="torch", device="cpu", threads=threads)
    txt_dir = work / "retinaface"
    txt_dir.mkdir()
    names = sorted(frames.iterdir(), key=lambda p: int(p.stem[5:]))
    t0 = time.perf_counter()
    for start in range(0, len(names), 8):
        batch = [cv2.imread(str(p)) for p in names[start : start + 8]]
        size = batch[0].shape[:2]
        found = detector.detect(np.stack(batch), size)
        for path, boxes in zip(names[start : start + 8], found, strict=True):
            write_detections_txt(txt_dir / f"{path.stem}.txt", boxes)
    times["read+detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    h, w = cv2.imread(str(names[0])).shape[:2]
    dets = {
        i: boxes_from_txt_rows(read_detections_txt(txt_dir / f"frame{i}.txt"))
        for i in range(1, len(names) + 1)
    }
    tracks = track_video(dets, list(range(1, len(names) + 1)), w, h)
    times["track"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = work / "aligned"
    out.mkdir()
    for face in tracks.faces:
        for crop in face.frames:
            image = cv2.imread(str(frames / f"frame{crop.source_frame}.png"))
            cut = image[crop.top : crop.top + crop.size, crop.left : crop.left + crop.size]
            cv2.imwrite(str(out / f"frame{crop.frame}_face{face.face}.png"), cut)
            cv2.imwrite(str(out / f"frame{crop.frame}_face{face.face}.jpg"), cut)
    times["align"] = time.perf_counter() - t0
    return {
        "times": times,
        "disk": {"frames": disk_frames, "txt": du(txt_dir), "crops": du(out)},
        "txt_dir": txt_dir,
        "tracks": tracks,
    }


def our_method(part_dir: Path, work: Path, threads: int) -> dict:
    times = {}
    res = work / "results"
    t0 = time.perf_counter()
    extract_part(part_dir, res / "frames", res / "extract.tsv", FrameOptions(), threads=threads)
    times["extract"] = time.perf_counter() - t0
    disk_frames = du(res / "frames")
    detector = RetinaFaceDetector(
        backend="auto", device="cpu", threads=threads, onnx_path=work / "retinaface.onnx"
    )
    t0 = time.perf_counter()
    detect_part(res / "frames", res / "extract.tsv", res / "detections", detector)
    times["read+detect"] = time.perf_counter() - t0
    shutil.rmtree(res / "frames")  # temp() in the workflow
    t0 = time.perf_counter()
    track_part(res / "detections", res / "extract.tsv", res / "tracks", res / "tracks.tsv", TRACK)
    times["track"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    align_part(
        part_dir,
        res / "tracks",
        res / "tracks.tsv",
        res / "faces",
        res / "manifest.tsv",
        threads=threads,
    )
    times["align"] = time.perf_counter() - t0
    row = read_manifest(res / "manifest.tsv")[0]
    return {
        "times": times,
        "backend": detector.backend,
        "disk": {"frames": disk_frames, "txt": du(res / "detections"), "crops": du(res / "faces")},
        "txt_dir": res / "detections" / "bench",
        "num_faces": row.num_faces,
    }


def agreement(seed_txt: Path, our_txt: Path, n_frames: int) -> dict:
    """Kept boxes (score >= 0.8): same count per frame, and IoU of the best match."""
    same_count, ious = 0, []
    for i in range(1, n_frames + 1):
        a = boxes_from_txt_rows(read_detections_txt(seed_txt / f"frame{i}.txt"))
        b = boxes_from_txt_rows(read_detections_txt(our_txt / f"frame{i}.txt"))
        same_count += len(a) == len(b)
        ious += [max((iou_inclusive(x, y) for y in b), default=0.0) for x in a]
    return {
        "frames_same_face_count": same_count / n_frames,
        "mean_iou_of_seed_boxes": float(np.mean(ious)) if ious else float("nan"),
        "min_iou_of_seed_boxes": float(np.min(ious)) if ious else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg (Debian package) is needed for the seed's method: make system-deps")
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rf-bench-"))
    part = work / "data" / "dfdc_train_part_0"
    part.mkdir(parents=True, exist_ok=True)
    video = part / "bench.mp4"
    make_video(video, args.frames)
    (part / "metadata.json").write_text(
        json.dumps({"bench.mp4": {"label": "REAL", "split": "train"}})
    )
    print(
        f"video: 1920x1080, {args.frames} frames, {du(video) / 1e6:.1f} MB; {args.threads} threads"
    )

    seed = seed_method(video, work / "seed", args.threads)
    ours = our_method(part, work / "ours", args.threads)
    seed_total, our_total = sum(seed["times"].values()), sum(ours["times"].values())
    print(f"\n{'stage':<14}{'seed s':>10}{'ours s':>10}")
    for stage in seed["times"]:
        print(f"{stage:<14}{seed['times'][stage]:>10.2f}{ours['times'][stage]:>10.2f}")
    print(f"{'total':<14}{seed_total:>10.2f}{our_total:>10.2f}")
    print(f"\n{'disk':<14}{'seed MB':>10}{'ours MB':>10}")
    for key in seed["disk"]:
        print(f"{key:<14}{seed['disk'][key] / 1e6:>10.2f}{ours['disk'][key] / 1e6:>10.2f}")
    seed_disk, our_disk = sum(seed["disk"].values()), sum(ours["disk"].values())
    print(f"{'total':<14}{seed_disk / 1e6:>10.2f}{our_disk / 1e6:>10.2f}")
    agree = agreement(seed["txt_dir"], ours["txt_dir"], args.frames)
    print(
        f"\nour detector backend: {ours['backend']}; faces kept: seed "
        f"{seed['tracks'].num_faces}, ours {ours['num_faces']}"
    )
    print(
        "detections (score >= 0.8) vs the seed's: "
        + ", ".join(f"{k} {v:.4f}" for k, v in agree.items())
    )
    print(f"\nspeed-up (seed time / our time): {seed_total / our_total:.2f}x  (target >= 5x)")
    print(
        "frame storage ratio (ours / seed): "
        f"1/{seed['disk']['frames'] / ours['disk']['frames']:.0f}  (target <= 1/50)"
    )
    print(f"all preprocessing disk ratio (ours / seed): 1/{seed_disk / our_disk:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
