"""Time `snakemake -n` on the full 50-part config with 2,400 placeholder videos per part.

The DAG covers every stage of `all`, training of the eleven models included.

Placeholders are empty files: building the DAG must not open any video, only list them.
Prints the wall time of the dry run and the number of jobs.
Usage: python benchmarks/dry_run_full.py [--videos-per-part 2400] [--workdir DIR]
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

REPO = Path(__file__).resolve().parents[1]


def make_placeholders(root: Path, parts: int, per_part: int) -> None:
    for k in range(parts):
        folder = root / f"dfdc_train_part_{k}"
        folder.mkdir(parents=True, exist_ok=True)
        meta = {}
        for i in range(per_part):
            name = f"v{k:02d}_{i:05d}.mp4"
            (folder / name).touch()
            meta[name] = {"label": "FAKE" if i % 6 else "REAL", "split": "train"}
        (folder / "metadata.json").write_text(json.dumps(meta))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos-per-part", type=int, default=2400)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rf-dryrun-"))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    data = workdir / "DFDC-Kaggle"
    t0 = time.perf_counter()
    make_placeholders(data, len(config["parts"]), args.videos_per_part)
    print(
        f"placeholders: {len(config['parts'])} parts x {args.videos_per_part} files "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    # the models' init files (pretrain/*.pth, relative to the working directory) as placeholders
    blocks = [*config["models"]["defaults"].values(), *config["models"].values()]
    for block in blocks:
        if block.get("init"):
            (workdir / block["init"]).parent.mkdir(parents=True, exist_ok=True)
            (workdir / block["init"]).touch()
    config.update(data_root=str(data), results_dir=str(workdir / "results"))
    cfg_path = workdir / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--quiet",
        "rules",
        "--configfile",
        str(cfg_path),
        "-d",
        str(workdir),
        "-s",
        str(REPO / "Snakefile"),
    ]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode:
        print(out.stdout, out.stderr, sep="\n")
        return out.returncode
    total = re.search(r"^total\s+(\d+)", out.stdout, re.M)
    print(out.stdout.strip())
    print(
        f"dry run: {elapsed:.2f} s for {total.group(1) if total else '?'} jobs "
        f"({len(config['parts']) * args.videos_per_part} videos, none opened)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
