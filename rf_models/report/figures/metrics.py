"""The metrics table (PNG and HTML) and the combiners compared."""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rf_models.metrics.binary import METRIC_KEYS
from rf_models.metrics.bootstrap import CI_METRICS, ci_columns
from rf_models.report.figures.common import (
    CHANCE_LOG_LOSS,
    METRIC_DISPLAY,
    line_styles,
    message,
    save,
)
from rf_models.report.inputs import (
    is_combiner,
    metrics_kind_column,
    metrics_name_column,
    read_metrics,
)

# ------------------------------------------------------------------------------ metric tables


def _metric_layout(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    intervals = {c for m in CI_METRICS for c in ci_columns(m)}
    lead = [c for c in df.columns if c not in METRIC_KEYS and c not in intervals]
    metrics = [c for c in METRIC_DISPLAY if c in df.columns]
    return lead, metrics


def _best_cells(df: pd.DataFrame, lead: list[str], metrics: list[str]) -> set[tuple[int, str]]:
    """(row position, metric) of the best value per metric among rows sharing the context
    (level, and split where there is one): combiners and models compete."""
    keys = [c for c in ("level", "split") if c in lead]
    best: set[tuple[int, str]] = set()
    groups = df.groupby(keys, sort=False, dropna=False).indices if keys else {None: range(len(df))}
    for idx in groups.values():
        idx = list(idx)
        if len(idx) < 2:
            continue
        for metric in metrics:
            direction = METRIC_DISPLAY[metric][2]
            values = df[metric].to_numpy(dtype=np.float64)[idx]
            if direction is None or np.all(np.isnan(values)):
                continue
            target = np.nanmin(values) if direction == "min" else np.nanmax(values)
            best.update((i, metric) for i, v in zip(idx, values, strict=True) if v == target)
    return best


def _fmt(metric: str, value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return METRIC_DISPLAY[metric][1].format(value)


def _fmt_ci(metric: str, rec: dict) -> str:
    """The value, and its 95% bootstrap interval where the row has one."""
    text = _fmt(metric, rec[metric])
    low, high = (rec.get(c, math.nan) for c in ci_columns(metric))
    if text == "n/a" or pd.isna(low) or pd.isna(high):
        return text
    return f"{text} [{_fmt(metric, low)}, {_fmt(metric, high)}]"


def plot_metrics_table(metrics_csv: str | os.PathLike, out_png: str | os.PathLike) -> None:
    """The metrics CSV as a table image, each value with its 95% bootstrap interval where the
    CSV has one; the best value per metric within each level (and split) in bold on green;
    why a metric is undefined in numbered footnotes."""
    df = read_metrics(metrics_csv)
    lead, metrics = _metric_layout(df)
    reasons = [r for r in dict.fromkeys(df["reason"]) if r]
    best = _best_cells(df, lead, metrics)
    headers = [c for c in lead if c != "reason"] + [METRIC_DISPLAY[m][0] for m in metrics]
    cells = []
    for row in df.itertuples(index=False):
        rec = dict(zip(df.columns, row, strict=True))
        lead_cells = ["" if pd.isna(rec[c]) else str(rec[c]) for c in lead if c != "reason"]
        if rec["reason"]:
            lead_cells[0] += f" [{reasons.index(rec['reason']) + 1}]"
        cells.append(lead_cells + [_fmt_ci(m, rec) for m in metrics])
    # column widths in inches from the longest text (about 0.1 in per character at 10 pt)
    widths = [
        0.35 + 0.1 * max(len(h), *(len(r[k]) for r in cells)) if cells else 0.35 + 0.1 * len(h)
        for k, h in enumerate(headers)
    ]
    foot_h = 0.3 + 0.22 * len(reasons)
    height = 0.9 + 0.32 * (max(len(df), 1) + 1) + foot_h
    fig = Figure(figsize=(max(6.0, sum(widths) + 0.2), height))
    fig.suptitle(
        f"Metrics ({Path(metrics_csv).name}); bold = best in its group", y=1 - 0.3 / height
    )
    ax = fig.add_axes((0.01, foot_h / height, 0.98, (height - 0.75 - foot_h) / height))
    ax.axis("off")
    if df.empty:
        message(ax, "the metrics file has no rows (no labelled videos?)")
        save(fig, out_png)
        return
    table = ax.table(cellText=cells, colLabels=headers, loc="upper center", bbox=(0, 0, 1, 1))
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    n_lead = len(headers) - len(metrics)
    for (r, c), cell in table.get_celld().items():
        cell.set_width(widths[c])  # the bbox rescales widths to fit, keeping their ratios
        if r == 0:
            cell.set_facecolor("#d5dbdb")
            cell.set_text_props(weight="bold")
        elif c >= n_lead and (r - 1, metrics[c - n_lead]) in best:
            cell.set_facecolor("#d5f5e3")
            cell.set_text_props(weight="bold")
        elif r % 2 == 0:
            cell.set_facecolor("#f8f9f9")
    for k, reason in enumerate(reasons):
        fig.text(
            0.01,
            (foot_h - 0.3 - 0.22 * k) / height + 0.02 / height,
            f"[{k + 1}] {reason}",
            fontsize=9,
            va="bottom",
        )
    save(fig, out_png)


def metrics_html_table(metrics_csv: str | os.PathLike) -> str:
    """The metrics CSV as an HTML table (class ``rf-metrics``): the best value per metric
    within each level (and split) in <strong>; an undefined metric reads "n/a" with its
    reason as a tooltip, and the reasons are listed in a last column."""
    df = read_metrics(metrics_csv)
    lead, metrics = _metric_layout(df)
    lead = [c for c in lead if c != "reason"]
    best = _best_cells(df, lead, metrics)
    has_reason = bool(df["reason"].astype(bool).any())
    head = [*lead, *(METRIC_DISPLAY[m][0] for m in metrics)] + (["reason"] if has_reason else [])
    lines = ['<table class="rf-metrics">', "<thead><tr>"]
    lines += [f"<th>{html.escape(h)}</th>" for h in head]
    lines += ["</tr></thead>", "<tbody>"]
    for i, row in enumerate(df.itertuples(index=False)):
        rec = dict(zip(df.columns, row, strict=True))
        cells = [html.escape("" if pd.isna(rec[c]) else str(rec[c])) for c in lead]
        for m in metrics:
            text = html.escape(_fmt_ci(m, rec))
            if text == "n/a" and rec["reason"]:
                cells.append(f'<span title="{html.escape(rec["reason"])}">{text}</span>')
            elif (i, m) in best:
                cells.append(f"<strong>{text}</strong>")
            else:
                cells.append(text)
        if has_reason:
            cells.append(html.escape(rec["reason"]))
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if df.empty:
        lines.append(f'<tr><td colspan="{len(head)}">no rows (no labelled videos?)</td></tr>')
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- combiners


def plot_combiners(metrics_csv: str | os.PathLike, out_png: str | os.PathLike) -> None:
    """Video-level log loss and ROC AUC of each combiner row in the metrics CSV, against the
    best single model and chance (every video scored 0.5); grouped by split where the CSV
    has several. Combiner rows are those whose ``type`` (or ``kind``) is "combiner"; without
    such a column, those named like a combiner (seed_policy, mean, stacking and variants)."""
    path = Path(metrics_csv)
    df = read_metrics(path)
    name_col = metrics_name_column(df, path)
    df = df[df["level"] == "video"]
    names_all = df[name_col].astype(str)
    kind_col = metrics_kind_column(df)
    if kind_col is None:
        comb_mask = names_all.map(is_combiner).astype(bool)
    else:
        comb_mask = df[kind_col].astype(str) == "combiner"
    comb, single = df[comb_mask], df[~comb_mask]
    has_split = "split" in df.columns and df["split"].nunique(dropna=False) > 1
    splits = list(dict.fromkeys(df["split"])) if has_split else [None]
    names = list(dict.fromkeys(comb[name_col].astype(str)))
    styles = line_styles(names, names)
    split_colors = ["#2471a3", "#d35400", "#27ae60", "#8e44ad", "#7f8c8d"]

    n_bars = max(len(names), 2) * len(splits)
    fig = Figure(figsize=(13, 2.4 + 0.5 * n_bars), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle(f"Combiners compared, video level ({path.name})")
    if not names:
        for ax in axes:
            ax.axis("off")
        message(axes[0], f"no combiner rows at video level in {path.name}")
        save(fig, out_png)
        return
    # Bars start at the chance level, so their length is the gain over scoring every video 0.5.
    panels = (
        ("log_loss", "log loss (lower is better; bars start at 0)", "min", 0.0, CHANCE_LOG_LOSS),
        ("roc_auc", "ROC AUC (higher is better; bars start at chance, 0.5)", "max", 0.5, 0.5),
    )
    height = 0.8 / len(splits)
    y_base = np.arange(len(names))
    for ax, (metric, label, direction, origin, chance) in zip(axes, panels, strict=True):
        ax.set_xlabel(label)
        ax.grid(alpha=0.3, axis="x")
        ax.axvline(
            chance, color="grey", ls=":", lw=1.5, label=f"chance (every video 0.5): {chance:.3f}"
        )
        shown = [chance]
        for s, split in enumerate(splits):
            rows = comb if split is None else comb[comb["split"] == split]
            split_color = split_colors[s % len(split_colors)]
            for j, name in enumerate(names):
                hit = rows[rows[name_col].astype(str) == name]
                y = y_base[j] + (s - (len(splits) - 1) / 2) * height
                value = float(hit[metric].iloc[0]) if len(hit) else math.nan
                if math.isnan(value):
                    ax.text(
                        origin,
                        y,
                        "  undefined" if len(hit) else "  no row",
                        va="center",
                        fontsize=9,
                        color="grey",
                    )
                    continue
                ax.barh(
                    y,
                    value - origin,
                    left=origin,
                    height=height * 0.9,
                    color=split_color if has_split else styles[name]["color"],
                    alpha=0.85,
                    hatch="//" if styles[name]["ls"] == "--" else None,
                    edgecolor="white",
                    label=f"split {split}" if has_split and j == 0 else None,
                )
                ax.text(
                    value + 0.01 * abs(value - origin),
                    y,
                    f"{value:.4f}",
                    va="center",
                    fontsize=9,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
                )
                shown.append(value)
            models = single if split is None else single[single["split"] == split]
            values = models[metric].to_numpy(dtype=np.float64)
            if values.size and not np.all(np.isnan(values)):
                i = int(np.nanargmin(values) if direction == "min" else np.nanargmax(values))
                who = models[name_col].astype(str).iloc[i]
                where = f" ({split})" if has_split else ""
                ax.axvline(
                    values[i],
                    color=split_color if has_split else "#555555",
                    ls="--",
                    lw=1.5,
                    label=f"best single model{where}: {who} {values[i]:.4f}",
                )
                shown.append(values[i])
        if metric == "roc_auc":
            shown.append(1.0)  # the whole range from chance to perfect
        lo, hi = min(shown + [origin]), max(shown)
        span = max(hi - lo, 0.1)  # one value only (e.g. AUC undefined): still a readable axis
        ax.set_xlim(lo - 0.02 * span, hi + 0.16 * span)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.01), fontsize=9, ncols=2)
    axes[0].set_yticks(y_base, names)
    axes[0].invert_yaxis()
    save(fig, out_png)
