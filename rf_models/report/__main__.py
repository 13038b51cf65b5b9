"""CLI: python -m rf_models.report [--scores S] [--metrics M] [--train-metrics NAME=PATH ...]
[--manifests TSV ...] --out DIR: every figure and table the inputs allow, for runs without
Snakemake."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rf_models.report.build import write_report


def _named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f"expected NAME=PATH (e.g. b1=results/models/b1/metrics.csv), found {text!r}"
        )
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rf_models.report",
        description="Write the report's figures (PNG), tables (HTML, TSV) and index.html.",
    )
    parser.add_argument("--scores", type=Path, help="the ensemble's scores.csv")
    parser.add_argument("--metrics", type=Path, help="the ensemble's metrics.csv")
    parser.add_argument(
        "--train-metrics",
        type=_named_path,
        nargs="+",
        default=[],
        metavar="NAME=PATH",
        help="each model's training metrics.csv",
    )
    parser.add_argument("--manifests", type=Path, nargs="+", default=[], help="per-part TSVs")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    train = dict(args.train_metrics)
    if len(train) != len(args.train_metrics):
        names = [n for n, _ in args.train_metrics]
        parser.error(f"--train-metrics: expected each model once, found {names}")
    if not (args.scores or args.metrics or train or args.manifests):
        parser.error("expected at least one of --scores, --metrics, --train-metrics, --manifests")
    try:
        written = write_report(args.out, args.scores, args.metrics, train, args.manifests)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, path in written.items():
        print(f"{key:18s} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
