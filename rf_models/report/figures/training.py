"""Every model's training curves."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rf_models.report.figures.common import (
    line_styles,
    message,
    save,
)
from rf_models.report.inputs import (
    read_training_metrics,
)

# --------------------------------------------------------------------------- training curves


def plot_training_curves(
    metrics_csvs: Mapping[str, str | os.PathLike], out_png: str | os.PathLike
) -> None:
    """One panel per quantity (train loss, val loss, val log loss, val AUC, learning rate),
    one line per model, and a panel listing each model's best validation checkpoint."""
    if not metrics_csvs:
        raise ValueError("training curves: expected at least one model's metrics.csv, found none")
    tables = {model: read_training_metrics(path) for model, path in metrics_csvs.items()}
    styles = line_styles(list(tables))
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
            message(ax, "no values logged", fontsize=10)
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
    save(fig, out_png)
