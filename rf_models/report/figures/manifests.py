"""Videos per part and status: the manifests' summary figure and table."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rf_models.data.manifest import STATUSES, USABLE
from rf_models.report.figures.common import (
    STATUS_COLORS,
    message,
    plural,
    save,
)
from rf_models.report.inputs import (
    read_manifest_counts,
)

# -------------------------------------------------------------------------------- manifests


def _short_parts(parts: list[str]) -> tuple[list[str], str]:
    """Tick labels without the prefix every part shares (e.g. dfdc_train_part_)."""
    if len(parts) < 2:
        return parts, ""
    prefix = os.path.commonprefix(parts)
    prefix = prefix.rstrip("0123456789")
    if not prefix or any(p == prefix for p in parts):
        return parts, ""
    return [p[len(prefix) :] for p in parts], prefix


def _stacked_status_bars(
    ax: Axes, counts: list[tuple[str, dict[str, int]]], statuses: Sequence[str]
) -> np.ndarray:
    x = np.arange(len(counts))
    bottom = np.zeros(len(counts))
    for status in statuses:
        values = np.array([c[status] for _, c in counts], dtype=float)
        total = int(values.sum())
        ax.bar(
            x,
            values,
            bottom=bottom,
            color=STATUS_COLORS[status],
            width=0.8,
            label=f"{status} ({total})",
            edgecolor="white",
            linewidth=0.5,
        )
        bottom += values
    if len(counts) <= 40:
        for xi, total in zip(x, bottom, strict=True):
            ax.text(xi, total, f"{int(total)}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, max(bottom.max(initial=0) * 1.15, 1))
    ax.grid(alpha=0.3, axis="y")
    return bottom


def plot_manifest_summary(
    manifests: Sequence[str | os.PathLike], out_png: str | os.PathLike
) -> None:
    """Stacked bars per part of the videos in each manifest status, and below them the
    videos that are not ``ok`` on their own scale (rare problems stay visible)."""
    counts = read_manifest_counts(list(manifests))
    parts = [p for p, _ in counts]
    labels, prefix = _short_parts(parts)
    totals = {s: sum(c[s] for _, c in counts) for s in STATUSES}
    n_videos = sum(totals.values())
    n_usable = sum(totals[s] for s in USABLE)

    width = min(20.0, max(9.0, 2.8 + 0.3 * len(parts)))
    fig = Figure(figsize=(width, 8.5), layout="constrained")
    ax, ax_bad = fig.subplots(2, 1, sharex=True, height_ratios=[1.6, 1])
    usable = f"{n_usable} usable ({100 * n_usable / n_videos:.1f}%)" if n_videos else "0 usable"
    fig.suptitle(
        f"Videos per part by manifest status\n{plural(n_videos, 'video')} in "
        f"{plural(len(parts), 'part')}, {usable}; usable = {' + '.join(USABLE)}"
    )
    ax.set_ylabel("videos")
    _stacked_status_bars(ax, counts, STATUSES)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="status (total)", fontsize=9)
    not_ok = [s for s in STATUSES if s != "ok"]
    ax_bad.set_title("Videos not 'ok' per part (own scale)", fontsize=11)
    ax_bad.set_ylabel("videos")
    _stacked_status_bars(ax_bad, counts, not_ok)
    x = np.arange(len(parts))
    ax_bad.set_xticks(x, labels, rotation=90 if len(parts) > 12 else 0)
    ax_bad.set_xlabel(f"part ({prefix}<k>)" if prefix else "part")
    if n_videos == 0:
        message(ax, "the manifests list no videos")
    empty = [p for p, c in counts if sum(c.values()) == 0]
    if empty and n_videos:
        ax.text(
            0.01,
            0.97,
            f"empty manifests: {', '.join(empty)}",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
            color="#c0392b",
        )
    if not sum(totals[s] for s in not_ok):
        message(ax_bad, "every video is ok", fontsize=10)
    save(fig, out_png)


def manifest_summary_table(manifests: Sequence[str | os.PathLike], fmt: str = "html") -> str:
    """Videos per part and status, with totals, as TSV (``fmt="tsv"``) or an HTML table
    (class ``rf-manifests``)."""
    if fmt not in ("html", "tsv"):
        raise ValueError(f"manifest summary: expected fmt 'html' or 'tsv', found {fmt!r}")
    counts = read_manifest_counts(list(manifests))
    header = ["part", "videos", "usable", *STATUSES]
    rows = []
    for part, c in counts:
        rows.append([part, sum(c.values()), sum(c[s] for s in USABLE), *(c[s] for s in STATUSES)])
    rows.append(["total", *(sum(r[i] for r in rows) for i in range(1, len(header)))])
    if fmt == "tsv":
        return "\n".join("\t".join(str(v) for v in r) for r in [header, *rows]) + "\n"
    lines = ['<table class="rf-manifests">', "<thead><tr>"]
    lines += [f"<th>{html.escape(h)}</th>" for h in header]
    lines += ["</tr></thead>", "<tbody>"]
    for r in rows:
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in r[1:])
        attr = ' class="total"' if r is rows[-1] else ""
        lines.append(f'<tr{attr}><th scope="row">{html.escape(r[0])}</th>{cells}</tr>')
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines) + "\n"
