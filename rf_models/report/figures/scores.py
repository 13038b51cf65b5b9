"""Figures of the ensemble's scores: ROC curves, reliability diagram, score histograms."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from rf_models.metrics.binary import log_loss_clipped
from rf_models.report.figures.common import (
    FAKE_COLOR,
    REAL_COLOR,
    UNLABELLED_COLOR,
    absent_note,
    class_text,
    line_styles,
    message,
    pick_columns,
    plural,
    save,
)
from rf_models.report.inputs import (
    read_scores,
)

# ---------------------------------------------------------------------------------------- ROC


def plot_roc(
    scores_csv: str | os.PathLike, out_png: str | os.PathLike, columns: Sequence[str] | None = None
) -> None:
    """ROC curves of every model and combiner (or of ``columns``) on one axes, AUC in the
    legend, with the chance diagonal. Each curve uses the labelled videos its column scored."""
    scores = read_scores(scores_csv)
    names, absent = pick_columns(scores, columns)
    combiners = set(scores.combiners)
    styles = line_styles(names, combiners, scores.models)
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
        f"ROC curves, video level ({class_text(y_all)})" + absent_note(absent, scores.path)
    )

    n_fake = int(np.sum(y_all == 1))
    if y_all.size == 0 or n_fake in (0, y_all.size):
        what = (
            "no labelled videos"
            if y_all.size == 0
            else (f"only {'FAKE' if n_fake else 'REAL'} videos among the {y_all.size} labelled")
        )
        message(ax, f"ROC not defined: {what}.\nA ROC curve needs both FAKE and REAL videos.")
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
            message(ax, "no score columns to plot")
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=9,
        title="thick: combiners, thin: models",
    )
    save(fig, out_png)


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
    names, absent = pick_columns(scores, scores.combiners if columns is None else columns)
    styles = line_styles(names, scores.combiners, scores.models)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2

    fig = Figure(figsize=(10, 9.5), layout="constrained")
    ax, axc = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(-0.02, 1.02), ylabel="observed fraction of FAKE videos in the bin")
    ax.grid(alpha=0.3)
    ax.set_title(
        f"Reliability diagram, video level ({class_text(scores.labels[scores.labelled])}, "
        f"{bins} equal-width bins)" + absent_note(absent, scores.path)
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
        message(ax, "no labelled scores in the requested columns:\nnothing to calibrate")
    else:
        axc.set_yscale("log")
        axc.set_ylim(bottom=0.7)
        axc.legend(fontsize=8, ncols=min(len(names), 4))
    axc.set_xticks(edges)
    axc.tick_params(axis="x", labelrotation=0, labelsize=8)
    ax.legend(loc="upper left", fontsize=9)
    save(fig, out_png)


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
        message(
            ax,
            f"no column {column!r} in {scores.path.name}\n"
            f"score columns: {', '.join(scores.columns) or 'none'}",
        )
    elif np.all(np.isnan(scores.columns[column])):
        message(ax, f"{column!r} scored no video")
    else:
        left_out = _class_hist(ax, scores.columns[column], scores.labels, edges)
        if left_out:
            ax.set_title(f"{title}; {plural(left_out, 'unlabelled video')} not shown")
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
            message(sub, "no scores", fontsize=10)
        else:
            _class_hist(sub, p, scores.labels, edges)
            if not ax.get_legend_handles_labels()[0] and not legend_done:
                sub.legend(fontsize=7, loc="upper center")
                legend_done = True
        if k % ncols == 0:
            sub.set_ylabel("fraction of class", fontsize=9)
        if k + ncols >= len(models):  # the lowest panel of its column
            sub.set_xlabel("P(FAKE)", fontsize=9)
    save(fig, out_png)
