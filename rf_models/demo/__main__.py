"""CLI: python -m rf_models.demo --root DIR [--parts 4] [--videos-per-part 16] [--seed 0]."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rf_models.demo.summary_file import add_video_options, video_options
from rf_models.demo.synth import build_demo_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rf_models.demo",
        description="Build the synthetic DFDC-like demo dataset (no network needed).",
    )
    parser.add_argument("--root", type=Path, required=True, help="output directory")
    parser.add_argument("--parts", type=int, default=4, help="number of dfdc_train_part_<k>")
    parser.add_argument("--videos-per-part", type=int, default=16)
    add_video_options(parser, max_seconds=4.0)
    parser.add_argument(
        "--no-awkward", action="store_true", help="leave out the awkward cases (1080p, corrupt...)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        summary = build_demo_dataset(
            args.root,
            n_parts=args.parts,
            videos_per_part=args.videos_per_part,
            awkward=not args.no_awkward,
            **video_options(args),
        )
    except (ValueError, TypeError, FileExistsError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    for part in summary.parts:
        videos = [v for v in summary.part_videos(part) if v.in_metadata]
        fakes = sum(v.label == "FAKE" for v in videos)
        print(f"{part}: {len(videos)} entries, {fakes} FAKE, {len(videos) - fakes} REAL")
    for case, video in sorted(summary.cases.items()):
        print(f"  {case:16s} {video.relpath}")
    print(f"built {args.root} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
