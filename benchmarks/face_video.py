"""A generated test video for the predict benchmarks: insightface's sample photo (six faces)
panning and zooming, at any size and length, cheap to make at 4K.

A few distinct frames are rendered and played back and forth, so an hour of 4K costs the
encoder's time only; the faces still move between frames, as tracking expects.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np


def write_face_video(
    path: Path,
    width: int = 1920,
    height: int = 1080,
    seconds: float = 10.0,
    fps: int = 30,
    distinct: int = 30,
) -> Path:
    """Write an H.264 mp4 of ``seconds`` at ``fps``; returns ``path``."""
    import insightface

    photo = cv2.imread(os.path.join(os.path.dirname(insightface.__file__), "data/images/t1.jpg"))
    frames = []
    for i in range(distinct):
        zoom = 1.0 + 0.05 * np.sin(i / 8)
        m = np.array(
            [
                [zoom * width / photo.shape[1], 0, 0.01 * width * np.sin(i / 6)],
                [0, zoom * height / photo.shape[0], 0.01 * height * np.cos(i / 7)],
            ]
        )
        frames.append(cv2.warpAffine(photo, m, (width, height), borderMode=cv2.BORDER_REFLECT))
    cycle = frames + frames[-2:0:-1]
    n = int(round(seconds * fps))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(n):
            image = av.VideoFrame.from_ndarray(cycle[i % len(cycle)], format="bgr24")
            container.mux(stream.encode(image))
        container.mux(stream.encode())
    return path
