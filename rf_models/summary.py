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
        ("trained models", "models"),
        ("predictions and ensemble", "predictions"),
        ("logs (one per job)", "logs"),
        ("benchmarks (time and memory per job)", "benchmarks"),
    ]
    for what, sub in places:
        if (results / sub).exists():
            lines.append(f"  {what}: {results / sub}/")
    return "\n".join(lines)


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
