"""Print where a run's outputs are, with each part's manifest status counts.

Usage: python -m rf_models.summary RESULTS_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from rf_models.data.manifest import STATUSES, read_manifest, status_counts


def summarize(results: Path) -> str:
    lines = [f"Results in {results}/"]
    manifests = sorted((results / "manifests").glob("*.tsv"))
    if manifests:
        shown = [s for s in STATUSES]
        lines.append("")
        lines.append("part".ljust(22) + "".join(s.rjust(16) for s in shown))
        for path in manifests:
            counts = status_counts(read_manifest(path))
            lines.append(path.stem.ljust(22) + "".join(str(counts[s]).rjust(16) for s in shown))
        lines.append("")
    places = [
        ("manifests (one row per video, with status and reason)", "manifests"),
        ("RetinaFace txt per frame", "detections"),
        ("face tubes (JSON per video)", "tracks"),
        ("aligned face crops", "faces"),
        ("training/validation lists", "lists"),
        ("trained models (best.pt, metrics.csv, curves.png)", "models"),
        ("per-model predictions", "predictions"),
        ("ensemble scores and metrics", "ensemble"),
        ("report figures", "report"),
        ("submission for new videos", "predict/submission.csv"),
        ("logs (one per job)", "logs"),
        ("benchmarks (time and memory per job)", "benchmarks"),
    ]
    for what, sub in places:
        if (results / sub).exists():
            slash = "/" if (results / sub).is_dir() else ""
            lines.append(f"  {what}: {results / sub}{slash}")
    for metrics in sorted((results / "ensemble").glob("*/metrics.csv")):
        lines.append("")
        lines.append(f"Video-level metrics ({metrics}):")
        lines.extend(metrics_lines(metrics))
    return "\n".join(lines)


def metrics_lines(path: Path) -> list[str]:
    """The video-level rows of a metrics CSV, each metric with its 95% bootstrap interval."""
    import csv

    from rf_models.metrics.bootstrap import CI_METRICS, ci_columns

    def number(row: dict, key: str) -> float:
        value = row.get(key)
        return float(value) if value not in (None, "") else float("nan")

    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("level", "video") == "video"]
    width = 22
    out = ["  " + "name".ljust(26) + "".join(k.rjust(width) for k in CI_METRICS)]
    for row in rows:
        cells = []
        for key in CI_METRICS:
            value, low, high = (number(row, k) for k in (key, *ci_columns(key)))
            text = "NaN" if value != value else f"{value:.3f}"
            if value == value and low == low and high == high:
                text += f" [{low:.2f}, {high:.2f}]"
            cells.append(text.rjust(width))
        out.append("  " + str(row.get("name", "?")).ljust(26) + "".join(cells))
    out.append(f"  (95% stratified bootstrap intervals over videos in brackets; n = {_n(rows)})")
    return out


def _n(rows: list[dict]) -> str:
    counts = sorted({r.get("n", "?") for r in rows})
    return ", ".join(counts) if counts else "0"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    results = Path(args[0])
    if not results.is_dir():
        print(f"{results}: no such results directory (did the run finish?)", file=sys.stderr)
        return 1
    print(summarize(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
