"""Tiny H.264 test videos written with PyAV (shared by the unit tests that decode videos)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np


def write_test_video(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: int = 30,
    faststart: bool = False,
    rotation: int = 0,
) -> Path:
    """Encode BGR frames with libx264 into an mp4; ``faststart`` puts the moov atom first;
    ``rotation`` (degrees counter-clockwise) is stored as a display matrix, as phones do: the
    pixels stay as given and players turn them."""
    height, width = frames[0].shape[:2]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        if rotation:
            stream.set_display_rotation(rotation)
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path
