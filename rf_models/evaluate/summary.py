"""Print the evaluation's tables: every model and ensemble on every test set, and the
robustness grid of the primary ensemble.

Usage: python -m rf_models.evaluate.summary RESULTS_DIR
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from rf_models.evaluate.tables import read_rows


def _fmt(text: str | None, digits: int = 3) -> str:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def cross_dataset_lines(table: Path) -> list[str]:
    """Per model and ensemble, per test set: video AUC [95% interval] and frame AUC."""
    rows = read_rows(table)
    if not rows:
        return [f"{table}: no rows"]
    test_sets = [c[: -len("_video_auc")] for c in rows[0] if c.endswith("_video_auc")]
    width = max(len(r["name"]) for r in rows) + 2
    head = "".join(f"{ts:>28}" for ts in test_sets)
    lines = ["model".ljust(width) + head]
    lines.append(" " * width + "".join(f"{'video AUC [95% CI] / frame':>28}" for _ in test_sets))
    for r in rows:
        cells = []
        for ts in test_sets:
            low, high = _fmt(r[f"{ts}_video_auc_ci_low"], 2), _fmt(r[f"{ts}_video_auc_ci_high"], 2)
            cells.append(
                f"{_fmt(r[f'{ts}_video_auc'])} [{low}, {high}] / {_fmt(r[f'{ts}_frame_auc'])}"
            )
        lines.append(r["name"].ljust(width) + "".join(f"{c:>28}" for c in cells))
    return lines


def robustness_lines(table: Path, name: str = "seed_policy") -> list[str]:
    """The video AUC of ``name`` per perturbation type (rows) and level (columns)."""
    rows = [r for r in read_rows(table) if r["name"] == name]
    if not rows:
        return [f"{table}: no rows of {name}"]
    levels = sorted({int(r["level"]) for r in rows})
    types = list(dict.fromkeys(r["perturbation"] for r in rows if r["perturbation"] != "none"))
    clean = next((r["video_auc"] for r in rows if r["perturbation"] == "none"), None)
    lines = ["type".ljust(6) + "".join(f"{f'level {lv}':>10}" for lv in levels)]
    for kind in types:
        cells = []
        for level in levels:
            if level == 0:
                cells.append(_fmt(clean))
                continue
            found = [
                r["video_auc"]
                for r in rows
                if r["perturbation"] == kind and int(r["level"]) == level
            ]
            cells.append(_fmt(found[0]) if found else "")
        lines.append(kind.ljust(6) + "".join(f"{c:>10}" for c in cells))
    return lines


def summarize(results: Path) -> str:
    out = []
    table = results / "evaluate" / "table.csv"
    if table.is_file():
        out += [f"Cross-dataset evaluation ({table}):", *cross_dataset_lines(table), ""]
    robust = results / "robustness" / "table.csv"
    if robust.is_file():
        out += [
            f"Robustness, the seed's ensemble, video AUC ({robust}):",
            *robustness_lines(robust),
            "",
        ]
    return "\n".join(out) if out else f"{results}: no evaluation outputs yet"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    print(summarize(Path(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
