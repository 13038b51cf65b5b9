"""One scored video as a picture: which faces and which frames drove its P(FAKE).

Per kept face, a contact sheet of its crops (one per sampled frame, in order): the frames the
image models scored and the policy's frame groups used (every ceil(n/35)-th sampled frame, cut
to whole groups of 5, docs/reproduction.md §7) are framed in the colour of their mean per-frame
P(FAKE) over the image models; the other frames, seen by the video models only, are dimmed.
Below each sheet, a strip of each model's per-frame P(FAKE) (image models) or clip P(FAKE)
(video models, dashed) with the frame rule's thresholds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from rf_models.infer.policy import EnsemblePolicy, image_face_score, video_face_score
from rf_models.io_utils import atomic_output_file

COLUMNS = 20  # thumbnails per row of a contact sheet
BORDER = 4  # pixels of the coloured frame around a used thumbnail
CMAP = colormaps["RdYlGn_r"]  # P(FAKE): green (REAL) to red (FAKE)


def p_fake(logits: np.ndarray) -> np.ndarray:
    """softmax(logits)[..., 1] (FAKE), without overflow."""
    logits = np.asarray(logits, np.float64)
    return 1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1]))


def used_frames(face: Any, policy: EnsemblePolicy) -> tuple[int, ...]:
    """The frames whose image-model logits enter the policy's frame groups: the image models'
    frames cut to a whole number of groups."""
    group = policy.frame_rule.group_size
    frames = face.image_frames
    return tuple(frames[: len(frames) // group * group])


def frame_p_fake(face: Any, image_models: Sequence[str]) -> dict[int, float]:
    """Mean P(FAKE) over the image models, per frame they scored."""
    if not image_models:
        return {}
    probs = np.mean([p_fake(face.logits[m]) for m in image_models], axis=0)
    return dict(zip(face.image_frames, probs.tolist(), strict=True))


def contact_sheet(face: Any, marked: Mapping[int, float], columns: int = COLUMNS) -> np.ndarray:
    """RGB mosaic of the face's thumbnails; ``marked`` frames framed in the colour of their
    P(FAKE), the others dimmed."""
    thumbs = face.thumbnails
    n, side = len(thumbs), thumbs.shape[1]
    cell = side + 2 * BORDER
    rows = math.ceil(n / columns)
    sheet = np.full((rows * cell, min(n, columns) * cell, 3), 255, np.uint8)
    for i, (frame, thumb) in enumerate(zip(face.frames, thumbs, strict=True)):
        top, left = (i // columns) * cell, (i % columns) * cell
        rgb = thumb[..., ::-1]
        if frame in marked:
            colour = np.array(CMAP(marked[frame])[:3]) * 255
            sheet[top : top + cell, left : left + cell] = colour.astype(np.uint8)
        else:
            rgb = (0.35 * rgb + 0.65 * 255).astype(np.uint8)
        sheet[top + BORDER : top + BORDER + side, left + BORDER : left + BORDER + side] = rgb
    return sheet


def plot_video_sheet(
    result: Any,
    policy: EnsemblePolicy,
    kinds: Mapping[str, str],
    out_png: str | os.PathLike,
) -> None:
    """Draw ``result`` (a :class:`rf_models.infer.video_scoring.VideoResult` whose faces carry
    thumbnails) into ``out_png``; ``kinds`` maps each model to ``image`` or ``video``."""
    faces = [f for f in result.faces if f.thumbnails is not None and len(f.thumbnails)]
    if not faces:
        raise ValueError(f"{result.video}: no face with thumbnails to draw")
    image_models = [m for m in faces[0].logits if kinds.get(m) == "image"]
    video_models = [m for m in faces[0].logits if kinds.get(m) == "video"]
    sheet_rows = [math.ceil(len(f.frames) / COLUMNS) for f in faces]
    heights = []
    for rows in sheet_rows:
        heights += [0.75 * rows + 0.3, 2.3]
    fig = Figure(figsize=(14, sum(heights) + 1.0), layout="constrained")
    scores = ", ".join(f"{m} {s:.3f}" for m, s in result.model_scores.items() if s is not None)
    fig.suptitle(
        f"{result.video}: P(FAKE) = {result.score:.3f} ({result.status}, "
        f"{result.num_faces} face{'s' if result.num_faces != 1 else ''})\n{scores}",
        fontsize=11,
    )
    axes = fig.subplots(len(heights), 1, height_ratios=heights)
    rule = policy.frame_rule
    for k, face in enumerate(faces):
        ax_sheet, ax_strip = axes[2 * k], axes[2 * k + 1]
        per_frame = frame_p_fake(face, image_models)
        used = used_frames(face, policy)
        marked = {f: per_frame[f] for f in used} if image_models else {}
        face_scores = [_face_score_text(m, face, kinds[m], policy) for m in faces[0].logits]
        ax_sheet.imshow(contact_sheet(face, marked), interpolation="nearest")
        ax_sheet.set_axis_off()
        ax_sheet.set_title(
            f"face {face.face}: {len(face.frames)} sampled frames (framed: the {len(used)} "
            f"frames of the image models' groups, colour = their mean P(FAKE)); face scores: "
            + ", ".join(face_scores),
            fontsize=9,
            loc="left",
        )
        frames = np.asarray(face.frames)
        ax_strip.axhspan(rule.high, 1.0, color="#f5b7b1", alpha=0.4, lw=0)
        ax_strip.axhspan(0.0, rule.low, color="#abebc6", alpha=0.4, lw=0)
        for m in image_models:
            ax_strip.plot(face.image_frames, p_fake(face.logits[m]), marker=".", lw=1, label=m)
        for m in video_models:
            ax_strip.hlines(
                float(p_fake(face.logits[m])), frames.min(), frames.max(), linestyles="--", label=m
            )
        for f in used[:: rule.group_size]:
            ax_strip.axvline(f, color="0.8", lw=0.5, zorder=0)
        ax_strip.set_ylim(-0.02, 1.02)
        ax_strip.set_xlim(frames.min() - 0.5, frames.max() + 0.5)
        ax_strip.set_ylabel("P(FAKE)")
        ax_strip.set_xlabel(
            f"frame (shaded: above {rule.high} / below {rule.low}, the frame rule's bands; "
            f"grey lines: starts of groups of {rule.group_size})",
            fontsize=8,
        )
        ax_strip.grid(alpha=0.3, axis="y")
        ax_strip.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncols=1)
    fig.colorbar(
        ScalarMappable(norm=Normalize(0.0, 1.0), cmap=CMAP),
        ax=list(axes[::2]),
        shrink=0.6,
        label="mean P(FAKE), image models",
    )
    with atomic_output_file(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80)


def _face_score_text(model: str, face: Any, kind: str, policy: EnsemblePolicy) -> str:
    if kind == "video":
        return f"{model} {video_face_score(face.logits[model]):.2f}"
    score = image_face_score(face.logits[model], policy)
    return f"{model} {score:.2f}" if score is not None else f"{model} -"
