"""Time `snakemake -n evaluate` with every dataset layout configured, at their real sizes.

Placeholder trees (empty files, the real folder and file names, the split and label files)
for FaceForensics++ (c23, four methods and DFD), Celeb-DF v2, DFDC-preview, the DFDC public
test set, DeeperForensics-1.0, UADFV, a user's folder and two more DFDC training parts in
another root (layout dfdc_train), beside the 50 DFDC training parts of the full configuration;
each dataset's test set is a test set of `evaluate` (the full configuration trains on every
DFDC part: none is held out), with a robustness grid on UADFV. Building the DAG lists the
folders and reads the split files; it opens no video. Prints the placeholders' count, the
wall time and the jobs.

Usage: python benchmarks/dry_run_datasets.py [--workdir DIR] [--videos-per-part 2400]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from dry_run_full import make_placeholders

REPO = Path(__file__).resolve().parents[1]
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def ffpp(root: Path) -> int:
    """1,000 youtube originals in 500 pairs (360 / 70 / 70), 1,000 fakes per method; DFD's 363
    actors and 3,068 fakes."""
    pairs = [(f"{2 * i:03d}", f"{2 * i + 1:03d}") for i in range(500)]
    splits = {"train": pairs[:360], "val": pairs[360:430], "test": pairs[430:]}
    for name, chosen in splits.items():
        touch(root / "splits" / f"{name}.json")
        (root / "splits" / f"{name}.json").write_text(json.dumps([list(p) for p in chosen]))
    n = 0
    for a, b in pairs:
        for video in (a, b):
            touch(root / "original_sequences/youtube/c23/videos" / f"{video}.mp4")
        for method in FFPP_METHODS:
            for t, s in ((a, b), (b, a)):
                touch(root / "manipulated_sequences" / method / "c23/videos" / f"{t}_{s}.mp4")
        n += 2 + 2 * len(FFPP_METHODS)
    scenes = [f"scene_{k}" for k in range(16)]
    for k in range(363):
        touch(
            root
            / "original_sequences/actors/c23/videos"
            / f"{k % 28:02d}__{scenes[k % 16]}_{k}.mp4"
        )
    for k in range(3068):
        t, s = k % 28, (k + 1) % 28
        name = f"{t:02d}_{s:02d}__{scenes[k % 16]}_{k % 363}__{k:08X}.mp4"
        touch(root / "manipulated_sequences/DeepFakeDetection/c23/videos" / name)
    return n + 363 + 3068


def celebdf(root: Path) -> int:
    """590 Celeb-real, 300 YouTube-real, 5,639 Celeb-synthesis, 518 listed for testing."""
    real = [f"Celeb-real/id{k // 10}_{k % 10:04d}.mp4" for k in range(590)]
    youtube = [f"YouTube-real/{k:05d}.mp4" for k in range(300)]
    fake = [f"Celeb-synthesis/id{k % 59}_id{(k + 1) % 59}_{k // 59:04d}.mp4" for k in range(5639)]
    for rel in real + youtube + fake:
        touch(root / rel)
    listed = [f"1 {r}" for r in real[:178]] + [f"0 {f}" for f in fake[:340]]
    (root / "List_of_testing_videos.txt").write_text("\n".join(listed) + "\n")
    return len(real) + len(youtube) + len(fake)


def dfdcp(root: Path) -> int:
    """DFDC-preview: 1,131 originals, 4,119 fakes of two methods, nested as dataset.json names
    them, its own train/test sets."""
    entries = {}
    for k in range(1131):
        entries[f"original_videos/{k // 10}/{k}_A.mp4"] = {
            "label": "real",
            "set": "train" if k % 5 else "test",
        }
    for k in range(4119):
        method = "method_A" if k % 3 else "method_B"
        rel = f"{method}/{k // 40}/{k // 40}_{method[-1]}/{k}_{k + 1}_{method[-1]}_001.mp4"
        entries[rel] = {"label": "fake", "set": "train" if k % 5 else "test"}
    for rel in entries:
        touch(root / rel)
    (root / "dataset.json").write_text(json.dumps(entries))
    return len(entries)


def dfdc_test(root: Path) -> int:
    rows = ["filename,label"]
    for k in range(4000):
        touch(root / f"t{k:09d}.mp4")
        rows.append(f"t{k:09d}.mp4,{k % 2}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return 4000


def deeperforensics(root: Path) -> int:
    """1,000 end_to_end fakes <target>_<actor>.mp4 (800 / 100 / 100), its reals in FF++."""
    names = [f"{k:03d}_M{k % 100:03d}.mp4" for k in range(1000)]
    for name in names:
        touch(root / "manipulated_videos/end_to_end" / name)
    for split, chosen in (("train", names[:800]), ("val", names[800:900]), ("test", names[900:])):
        touch(root / "lists/splits" / f"{split}.txt")
        (root / "lists/splits" / f"{split}.txt").write_text("\n".join(chosen) + "\n")
    return 1000


def uadfv(root: Path) -> int:
    for k in range(49):
        touch(root / "real" / f"{k:04d}.mp4")
        touch(root / "fake" / f"{k:04d}_fake.mp4")
    return 98


def folder(root: Path) -> int:
    for k in range(200):
        touch(root / ("real" if k % 2 else "fake") / f"cam{k % 7}" / f"clip{k}.mp4")
    return 200


LAYOUTS = {
    "ffpp_c23": ("ffpp", ffpp, {"methods": [*FFPP_METHODS, "DeepFakeDetection"]}),
    "celebdf_v2": ("celebdf", celebdf, {}),
    "dfdcp": ("dfdcp", dfdcp, {}),
    "dfdc_test": ("dfdc_test", dfdc_test, {}),
    "uadfv": ("uadfv", uadfv, {}),
    "mine": ("folder", folder, {}),
    "dfdc_more": ("dfdc_train", None, {"set": "test", "part_size": 2400}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos-per-part", type=int, default=2400)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rf-dryrun-datasets-"))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    t0 = time.perf_counter()
    make_placeholders(workdir / "DFDC-Kaggle", len(config["parts"]), args.videos_per_part)
    datasets, test_sets, count = {}, {}, 0
    for name, (layout, build, keys) in LAYOUTS.items():
        if build is None:  # DFDC training parts held out in another root
            make_placeholders(workdir / name, 2, args.videos_per_part)
            count += 2 * args.videos_per_part
        else:
            count += build(workdir / name)
        datasets[name] = {"layout": layout, "root": str(workdir / name), **keys}
        test_sets[name] = [{"dataset": name, "set": "test"}]
    count += deeperforensics(workdir / "deeperforensics")
    datasets["deeperforensics"] = {
        "layout": "deeperforensics",
        "root": str(workdir / "deeperforensics"),
        "real_root": str(workdir / "ffpp_c23"),
    }
    test_sets["deeperforensics"] = [{"dataset": "deeperforensics", "set": "test"}]
    print(f"placeholders: {count} dataset videos in {time.perf_counter() - t0:.1f} s (and DFDC)")
    for block in [*config["models"]["defaults"].values(), *config["models"].values()]:
        if block.get("init"):
            touch(workdir / block["init"])
    config.update(
        data_root=str(workdir / "DFDC-Kaggle"),
        results_dir=str(workdir / "results"),
        datasets=datasets,
        evaluate={
            "test_sets": test_sets,
            "robustness": {"parts": [{"dataset": "uadfv"}], "levels": [1, 3, 5]},
        },
    )
    cfg_path = workdir / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-n", "evaluate", "--quiet", "rules"]
    cmd += ["--configfile", str(cfg_path), "-d", str(workdir), "-s", str(REPO / "Snakefile")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode:
        print(out.stdout[-3000:], out.stderr[-3000:], sep="\n")
        return out.returncode
    total = re.search(r"^total\s+(\d+)", out.stdout, re.M)
    print(out.stdout.strip())
    print(
        f"dry run of evaluate with every layout: {elapsed:.2f} s for "
        f"{total.group(1) if total else '?'} jobs ({count} dataset videos, none opened)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
