"""The report's figures and tables: one function per figure, each reading its inputs and
writing one PNG atomically.

Figures are built on :class:`matplotlib.figure.Figure` (rendered by Agg), never through
pyplot, so no global figure state or GUI backend is involved. A figure whose data cannot
define what it shows (one class, no scores, no rows) says so on the figure instead of
failing: the report still builds and the reader sees why a panel is empty.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from rf_models.data.manifest import STATUSES, USABLE
from rf_models.infer.policy import SEED_POLICY_CONFIG
from rf_models.io_utils import atomic_output_file
from rf_models.metrics.binary import METRIC_KEYS, log_loss_clipped
from rf_models.metrics.bootstrap import CI_METRICS, ci_columns
from rf_models.report.inputs import (
    Scores,
    is_combiner,
    metrics_kind_column,
    metrics_name_column,
    read_manifest_counts,
    read_metrics,
    read_scores,
    read_training_metrics,
)

DPI = 100
FAKE_COLOR, REAL_COLOR, UNLABELLED_COLOR = "#c0392b", "#2471a3", "#7f8c8d"
# Combiners keep one colour in every figure; calibrated variants are dashed.
COMBINER_COLORS = {"seed_policy": "black", "mean": "#8e44ad", "stacking": "#d35400"}
STATUS_COLORS = {
    "ok": "#27ae60",
    "partial": "#a9dfbf",
    "no_face": "#f39c12",
    "unreadable": "#c0392b",
    "empty_file": "#8e44ad",
    "missing": "#7f8c8d",
    "not_in_metadata": "#6e2c00",
    "bad_metadata": "#e74c3c",
}
# Metric columns of the tables: header, formatter, which way is better.
METRIC_DISPLAY = {
    "n": ("n", "{:.0f}", None),
    "n_fake": ("FAKE", "{:.0f}", None),
    "n_real": ("REAL", "{:.0f}", None),
    "log_loss": ("log loss ↓", "{:.4f}", "min"),
    "roc_auc": ("ROC AUC ↑", "{:.4f}", "max"),
    "average_precision": ("AP ↑", "{:.4f}", "max"),
    "eer": ("EER ↓", "{:.4f}", "min"),
    "accuracy": ("accuracy ↑", "{:.4f}", "max"),
}
CHANCE_LOG_LOSS = math.log(2.0)  # every video scored 0.5
SEED_MODELS = tuple(m for g in SEED_POLICY_CONFIG["groups"].values() for m in g["models"])


def _save(fig: Figure, out_png: str | os.PathLike) -> None:
    with atomic_output_file(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def _message(ax: Axes, text: str, fontsize: int = 12) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=fontsize,
        wrap=True,
        bbox={"boxstyle": "round", "facecolor": "#fdf2e9", "edgecolor": "#e59866"},
    )


def _styles(names: Sequence[str], combiners: Collection[str] = ()) -> dict[str, dict]:
    """Line style per column: combiners bold in their base combiner's colour (variants such
    as calibrated ones dashed), models thin from a palette."""
    # tab10/tab20b without the purples, oranges and greys the combiners use
    palette = [
        "#1f77b4", "#2ca02c", "#d62728", "#8c564b", "#e377c2", "#17becf",
        "#bcbd22", "#393b79", "#637939", "#843c39", "#7b4173", "#6baed6",
        "#74c476",
    ]  # fmt: skip
    extra = ["#5d6d7e", "#b7950b", "#1abc9c", "#922b21"]  # combiners of no known base
    # The seed's models keep their colour in every figure; other names take the next ones.
    fixed = {m: i for i, m in enumerate(SEED_MODELS)}
    k = len(fixed)
    out, e = {}, 0
    for name in names:
        if name in combiners:
            base = max((c for c in COMBINER_COLORS if name.startswith(c)), key=len, default=None)
            if base is None:
                color, e = extra[e % len(extra)], e + 1
            else:
                color = COMBINER_COLORS[base]
            out[name] = {"color": color, "lw": 2.6, "ls": "-" if name == base else "--"}
        elif name in fixed:
            out[name] = {"color": palette[fixed[name]], "lw": 1.3, "ls": "-"}
        else:
            out[name] = {"color": palette[k % len(palette)], "lw": 1.3, "ls": "-"}
            k += 1
    return out


def _pick_columns(scores: Scores, columns: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(present, absent) of the requested columns; all columns, combiners first, by default."""
    if columns is None:
        return [*scores.combiners, *scores.models], []
    if isinstance(columns, str):
        columns = [columns]
    present = [c for c in columns if c in scores.columns]
    return present, [c for c in columns if c not in scores.columns]


def _class_text(y: np.ndarray) -> str:
    n_fake = int(np.sum(y == 1))
    return f"{len(y)} labelled videos: {n_fake} FAKE, {len(y) - n_fake} REAL"


def _absent_note(absent: Sequence[str], path: Path) -> str:
    return f"\nnot in {path.name}: {', '.join(absent)}" if absent else ""


# ---------------------------------------------------------------------------------------- ROC


def plot_roc(
    scores_csv: str | os.PathLike, out_png: str | os.PathLike, columns: Sequence[str] | None = None
) -> None:
    """ROC curves of every model and combiner (or of ``columns``) on one axes, AUC in the
    legend, with the chance diagonal. Each curve uses the labelled videos its column scored."""
    scores = read_scores(scores_csv)
    names, absent = _pick_columns(scores, columns)
    combiners = set(scores.combiners)
    styles = _styles(names, combiners)
    labelled = scores.labelled
    y_all = scores.labels[labelled]

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="chance (AUC 0.5)")
    ax.set(
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
        aspect="equal",
        xlabel="false positive rate (REAL videos scored as FAKE)",
        ylabel="true positive rate (FAKE videos detected)",
    )
    ax.grid(alpha=0.3)
    ax.set_title(
        f"ROC curves, video level ({_class_text(y_all)})" + _absent_note(absent, scores.path)
    )

    n_fake = int(np.sum(y_all == 1))
    if y_all.size == 0 or n_fake in (0, y_all.size):
        what = (
            "no labelled videos"
            if y_all.size == 0
            else (f"only {'FAKE' if n_fake else 'REAL'} videos among the {y_all.size} labelled")
        )
        _message(ax, f"ROC not defined: {what}.\nA ROC curve needs both FAKE and REAL videos.")
    else:
        curves = []
        for name in names:
            p = scores.columns[name]
            keep = labelled & ~np.isnan(p)
            y, s = scores.labels[keep], p[keep]
            n_note = "" if keep.sum() == y_all.size else f", n={int(keep.sum())}"
            if y.size == 0:
                curves.append((math.nan, name, None, f"{name}: no scores"))
            elif np.unique(y).size < 2:
                curves.append((math.nan, name, None, f"{name}: undefined, one class{n_note}"))
            else:
                fpr, tpr, _ = roc_curve(y, s)
                auc = float(roc_auc_score(y, s))
                curves.append((auc, name, (fpr, tpr), f"{name}: AUC {auc:.3f}{n_note}"))
        # Legend order: combiners then models, each by AUC (undefined last).
        curves.sort(key=lambda c: (c[1] not in combiners, math.isnan(c[0]), -np.nan_to_num(c[0])))
        for _, name, xy, label in curves:
            if xy is None:
                ax.plot([], [], color=styles[name]["color"], ls="none", marker="x", label=label)
            else:
                st = styles[name]
                z = 3 if name in combiners else 2  # combiners drawn over the models
                ax.plot(*xy, color=st["color"], lw=st["lw"], ls=st["ls"], label=label, zorder=z)
        if not names:
            _message(ax, "no score columns to plot")
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=9,
        title="thick: combiners, thin: models",
    )
    _save(fig, out_png)


# -------------------------------------------------------------------------------- reliability


def _reliability_bins(p: np.ndarray, y: np.ndarray, bins: int):
    idx = np.clip((p * bins).astype(int), 0, bins - 1)  # p == 1.0 goes to the last bin
    count = np.bincount(idx, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p, minlength=bins) / count
        frac = np.bincount(idx, weights=y, minlength=bins) / count
    ece = float(np.nansum(count * np.abs(frac - mean_p)) / max(count.sum(), 1))
    return count, mean_p, frac, ece


def plot_reliability(
    scores_csv: str | os.PathLike,
    out_png: str | os.PathLike,
    columns: Sequence[str] | None = ("seed_policy", "mean", "stacking"),
    bins: int = 10,
) -> None:
    """Reliability diagram: per score bin, the fraction of FAKE videos against the mean
    score, for each of ``columns`` present in the scores (None: every combiner column); the
    videos per bin below."""
    if not isinstance(bins, int | np.integer) or isinstance(bins, bool) or bins < 2:
        raise ValueError(f"reliability diagram: expected bins >= 2, found {bins!r}")
    scores = read_scores(scores_csv)
    names, absent = _pick_columns(scores, scores.combiners if columns is None else columns)
    styles = _styles(names, scores.combiners)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2

    fig = Figure(figsize=(10, 9.5), layout="constrained")
    ax, axc = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(-0.02, 1.02), ylabel="observed fraction of FAKE videos in the bin")
    ax.grid(alpha=0.3)
    ax.set_title(
        f"Reliability diagram, video level ({_class_text(scores.labels[scores.labelled])}, "
        f"{bins} equal-width bins)" + _absent_note(absent, scores.path)
    )
    axc.set(xlabel="predicted P(FAKE) (bin of the score)", ylabel="videos per bin")
    axc.grid(alpha=0.3, axis="y")
    width = (1.0 / bins) / (len(names) + 1)
    drawn = 0
    for k, name in enumerate(names):
        keep = scores.labelled & ~np.isnan(scores.columns[name])
        if not keep.any():
            ax.plot(
                [],
                [],
                ls="none",
                marker="x",
                color=styles[name]["color"],
                label=f"{name}: no labelled scores",
            )
            continue
        p, y = scores.columns[name][keep], scores.labels[keep]
        count, mean_p, frac, ece = _reliability_bins(p, y, bins)
        st = styles[name]
        nz = count > 0
        label = f"{name}: ECE {ece:.3f}, log loss {log_loss_clipped(y, p):.3f}, n={int(keep.sum())}"
        ax.plot(
            mean_p[nz],
            frac[nz],
            marker="o",
            color=st["color"],
            lw=st["lw"] * 0.8,
            ls=st["ls"],
            label=label,
        )
        offset = (k - (len(names) - 1) / 2) * width
        axc.bar(
            centres + offset,
            count,
            width=width,
            color=st["color"],
            alpha=0.8,
            hatch="//" if st["ls"] == "--" else None,  # variants share their base's colour
            edgecolor="white",
            label=name,
        )
        drawn += 1
    if drawn == 0:
        _message(ax, "no labelled scores in the requested columns:\nnothing to calibrate")
    else:
        axc.set_yscale("log")
        axc.set_ylim(bottom=0.7)
        axc.legend(fontsize=8, ncols=min(len(names), 4))
    axc.set_xticks(edges)
    axc.tick_params(axis="x", labelrotation=0, labelsize=8)
    ax.legend(loc="upper left", fontsize=9)
    _save(fig, out_png)


# ------------------------------------------------------------------------------- histograms


def _class_hist(ax: Axes, p: np.ndarray, labels: np.ndarray, edges: np.ndarray) -> int:
    """Per-class histograms as fractions of each class. Unlabelled videos are drawn only
    when no labelled one has a score; returns how many scored unlabelled videos were left
    out."""
    scored = ~np.isnan(p)
    unlabelled = np.isnan(labels) & scored
    show_unlabelled = not np.any(~np.isnan(labels) & scored)
    for name, mask, color in (
        ("REAL", labels == 0, REAL_COLOR),
        ("FAKE", labels == 1, FAKE_COLOR),
        ("unlabelled", unlabelled if show_unlabelled else np.zeros_like(scored), UNLABELLED_COLOR),
    ):
        vals = p[mask & scored]
        if vals.size == 0:
            continue
        label = f"{name} (n={vals.size})"
        weights = np.full(vals.size, 1.0 / vals.size)
        ax.hist(vals, bins=edges, weights=weights, color=color, alpha=0.3, histtype="stepfilled")
        ax.hist(
            vals, bins=edges, weights=weights, color=color, lw=1.6, histtype="step", label=label
        )
    ax.axvline(0.5, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.grid(alpha=0.3)
    return 0 if show_unlabelled else int(unlabelled.sum())


def plot_score_histograms(
    scores_csv: str | os.PathLike,
    out_png: str | os.PathLike,
    column: str = "seed_policy",
    bins: int = 20,
) -> None:
    """Score histograms of REAL and FAKE videos (each as a fraction of its class) for
    ``column``, with one small panel per model below it."""
    if not isinstance(bins, int | np.integer) or isinstance(bins, bool) or bins < 2:
        raise ValueError(f"score histograms: expected bins >= 2, found {bins!r}")
    scores = read_scores(scores_csv)
    models = [m for m in scores.models if m != column]
    ncols = 4
    nrows = math.ceil(len(models) / ncols)
    edges = np.linspace(0.0, 1.0, bins + 1)

    fig = Figure(figsize=(13, 4.8 + 2.3 * nrows), layout="constrained")
    grid = fig.add_gridspec(1 + nrows, ncols, height_ratios=[2.6] + [1.0] * nrows)
    ax = fig.add_subplot(grid[0, :])
    title = f"Scores of {column!r} by true class"
    if models:
        title += " (below: each model's own scores)"
    if scores.status is not None:
        statuses = pd.Series(scores.status).value_counts()
        title += "\nvideo status: " + ", ".join(f"{k} {v}" for k, v in statuses.items())
    ax.set_title(title)
    ax.set(
        xlabel=f"P(FAKE) by {column} (dashed: 0.5 threshold)",
        ylabel="fraction of the class's videos",
    )
    if column not in scores.columns:
        _message(
            ax,
            f"no column {column!r} in {scores.path.name}\n"
            f"score columns: {', '.join(scores.columns) or 'none'}",
        )
    elif np.all(np.isnan(scores.columns[column])):
        _message(ax, f"{column!r} scored no video")
    else:
        left_out = _class_hist(ax, scores.columns[column], scores.labels, edges)
        if left_out:
            ax.set_title(f"{title}; {_plural(left_out, 'unlabelled video')} not shown")
        ax.legend(loc="upper center", fontsize=10)
    legend_done = False  # the small panels get a legend when the main one has none
    for k, model in enumerate(models):
        sub = fig.add_subplot(grid[1 + k // ncols, k % ncols])
        p = scores.columns[model]
        n = int(np.sum(~np.isnan(p)))
        sub.set_title(f"{model} (n={n})", fontsize=10)
        sub.tick_params(labelsize=8)
        if n == 0:
            sub.set_xlim(0, 1)
            _message(sub, "no scores", fontsize=10)
        else:
            _class_hist(sub, p, scores.labels, edges)
            if not ax.get_legend_handles_labels()[0] and not legend_done:
                sub.legend(fontsize=7, loc="upper center")
                legend_done = True
        if k % ncols == 0:
            sub.set_ylabel("fraction of class", fontsize=9)
        if k + ncols >= len(models):  # the lowest panel of its column
            sub.set_xlabel("P(FAKE)", fontsize=9)
    _save(fig, out_png)


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
        _message(ax, "the metrics file has no rows (no labelled videos?)")
        _save(fig, out_png)
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
    _save(fig, out_png)


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
    styles = _styles(names, names)
    split_colors = ["#2471a3", "#d35400", "#27ae60", "#8e44ad", "#7f8c8d"]

    n_bars = max(len(names), 2) * len(splits)
    fig = Figure(figsize=(13, 2.4 + 0.5 * n_bars), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle(f"Combiners compared, video level ({path.name})")
    if not names:
        for ax in axes:
            ax.axis("off")
        _message(axes[0], f"no combiner rows at video level in {path.name}")
        _save(fig, out_png)
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
    _save(fig, out_png)


# --------------------------------------------------------------------------- training curves


def plot_training_curves(
    metrics_csvs: Mapping[str, str | os.PathLike], out_png: str | os.PathLike
) -> None:
    """One panel per quantity (train loss, val loss, val log loss, val AUC, learning rate),
    one line per model, and a panel listing each model's best validation checkpoint."""
    if not metrics_csvs:
        raise ValueError("training curves: expected at least one model's metrics.csv, found none")
    tables = {model: read_training_metrics(path) for model, path in metrics_csvs.items()}
    styles = _styles(list(tables))
    fig = Figure(figsize=(16, 9.5), layout="constrained")
    axes = fig.subplots(2, 3)
    fig.suptitle(f"Training curves of {len(tables)} models (x: training iteration)")
    panels = {
        "train_loss": (axes[0, 0], "train loss (weighted CE), rolling mean over 5% of the run"),
        "val_loss": (axes[0, 1], "validation loss (weighted CE); ★ = best, kept checkpoint"),
        "val_logloss": (axes[0, 2], "validation log loss (unweighted)"),
        "val_auc": (axes[1, 0], "validation ROC AUC"),
        "lr": (axes[1, 1], "learning rate (log scale)"),
    }
    lines = []
    for model, df in tables.items():
        color = styles[model]["color"]
        if df.empty:
            lines.append(f"{model}: no rows yet")
            continue
        for key, (ax, _) in panels.items():
            sub = df[["iteration", key]].dropna()
            if sub.empty:
                continue
            x, y = sub["iteration"].to_numpy(), sub[key].to_numpy(dtype=np.float64)
            if key == "train_loss":
                window = max(1, round(len(y) / 20))
                y = pd.Series(y).rolling(window, min_periods=1, center=True).mean().to_numpy()
                ax.plot(x, y, color=color, lw=1.3, label=model)
            elif key == "lr":
                ax.plot(x, y, color=color, lw=1.3, drawstyle="steps-post")
            else:
                ax.plot(x, y, color=color, lw=1.3, marker="o", ms=3)
        val = df[["iteration", "val_loss", "val_auc"]].dropna(subset=["val_loss"])
        last = int(df["iteration"].iloc[-1])
        if val.empty:
            lines.append(f"{model}: no validation yet (last it. {last})")
            continue
        best = val.loc[val["val_loss"].idxmin()]
        panels["val_loss"][0].plot(
            best["iteration"],
            best["val_loss"],
            marker="*",
            ms=14,
            color=color,
            markeredgecolor="black",
        )
        auc = "" if math.isnan(best["val_auc"]) else f", AUC {best['val_auc']:.3f}"
        lines.append(
            f"{model}: best val loss {best['val_loss']:.4f}{auc} at it. "
            f"{int(best['iteration'])} (last it. {last})"
        )
    for _key, (ax, title) in panels.items():
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        if not ax.lines:
            _message(ax, "no values logged", fontsize=10)
    panels["train_loss"][0].set_ylabel("loss")
    panels["val_loss"][0].set_ylabel("loss")
    panels["val_logloss"][0].set_ylabel("log loss")
    panels["val_auc"][0].set_ylabel("ROC AUC")
    panels["val_auc"][0].set_ylim(-0.02, 1.02)
    lr_ax = panels["lr"][0]
    lr_ax.set_ylabel("learning rate")
    if lr_ax.lines and all(np.all(ln.get_ydata() > 0) for ln in lr_ax.lines):
        lr_ax.set_yscale("log")
    key_ax = axes[1, 2]
    key_ax.axis("off")
    handles = [key_ax.plot([], [], color=styles[m]["color"], lw=2.5)[0] for m in tables]
    key_ax.legend(
        handles,
        lines,
        loc="upper left",
        fontsize=8.5,
        title="model: best checkpoint",
        frameon=False,
    )
    _save(fig, out_png)


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
        f"Videos per part by manifest status\n{_plural(n_videos, 'video')} in "
        f"{_plural(len(parts), 'part')}, {usable}; usable = {' + '.join(USABLE)}"
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
        _message(ax, "the manifests list no videos")
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
        _message(ax_bad, "every video is ok", fontsize=10)
    _save(fig, out_png)


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
