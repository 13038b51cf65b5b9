"""Face photographs that ship inside installed packages, with hard-coded boxes and landmarks.

Boxes and the five landmarks (image-left eye, image-right eye, nose tip, image-left and
image-right mouth corner; x, y in original pixels) were found once by running the seed's
RetinaFace MobileNet-0.25 (``retinaface_mobilenet0.25_Final.pth``) on each photo with the
seed's pre-processing (shorter side resized to 400, mean 104/117/123 subtracted, score > 0.02,
NMS 0.4), rounded to 0.1 px. Every face listed scored >= 0.98; no other box in these photos
scored >= 0.5. The faces were checked by eye with the landmarks drawn on them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceSource:
    """One identity: a face in a photo shipped by ``package`` at ``relpath``."""

    identity: str
    package: str
    relpath: str
    image_shape: tuple[int, int]  # (height, width) of the photo, checked on load
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    landmarks: tuple[tuple[float, float], ...]  # 5 points (x, y)
    score: float  # RetinaFace score when the landmarks were taken
    greyscale: bool


_T1 = ("insightface", "data/images/t1.jpg", (886, 1280))

FACE_SOURCES: tuple[FaceSource, ...] = (
    FaceSource(
        "t1_face0", *_T1,
        box=(463.1, 263.3, 578.2, 413.2),
        landmarks=((498.4, 318.3), (548.5, 330.9), (516.3, 359.4), (490.1, 370.9), (530.4, 381.2)),
        score=0.9992, greyscale=False,
    ),
    FaceSource(
        "t1_face1", *_T1,
        box=(902.3, 59.6, 1015.6, 205.2),
        landmarks=((917.2, 122.6), (946.0, 116.4), (921.7, 153.7), (936.4, 173.6), (958.7, 167.7)),
        score=0.9984, greyscale=False,
    ),
    FaceSource(
        "t1_face2", *_T1,
        box=(743.5, 348.2, 846.6, 474.7),
        landmarks=((758.6, 399.1), (799.4, 396.7), (772.8, 425.6), (766.5, 443.4), (800.4, 440.9)),
        score=0.9974, greyscale=False,
    ),
    FaceSource(
        "t1_face3", *_T1,
        box=(271.6, 144.9, 373.8, 274.7),
        landmarks=((289.7, 202.6), (328.3, 195.1), (307.0, 224.5), (305.2, 245.0), (335.9, 238.5)),
        score=0.9938, greyscale=False,
    ),
    FaceSource(
        "t1_face4", *_T1,
        box=(53.7, 267.2, 170.4, 394.7),
        landmarks=((78.9, 330.4), (127.8, 308.8), (116.0, 335.0), (111.1, 365.8), (148.6, 348.0)),
        score=0.9894, greyscale=False,
    ),
    FaceSource(
        "t1_face5", *_T1,
        box=(1131.6, 274.9, 1226.2, 398.5),
        landmarks=(
            (1152.0, 321.9), (1195.1, 321.5), (1169.2, 343.2), (1154.5, 362.9), (1192.2, 362.4)
        ),
        score=0.9886, greyscale=False,
    ),
    FaceSource(
        "tom_hanks", "insightface", "data/images/Tom_Hanks_54745.png", (112, 112),
        box=(4.7, 2.3, 83.0, 118.1),
        landmarks=((37.4, 48.5), (71.2, 48.6), (62.6, 74.6), (39.7, 88.9), (67.7, 89.0)),
        score=0.9970, greyscale=True,
    ),
    FaceSource(
        "astronaut", "skimage", "data/astronaut.png", (512, 512),
        box=(181.6, 59.5, 272.0, 173.0),
        landmarks=((204.7, 101.9), (247.3, 106.5), (223.6, 129.3), (203.6, 139.2), (242.2, 142.8)),
        score=0.9987, greyscale=False,
    ),
    FaceSource(
        "cameraman", "skimage", "data/camera.png", (512, 512),
        box=(198.4, 114.8, 258.0, 199.5),
        landmarks=((233.9, 147.3), (250.0, 148.3), (249.4, 166.8), (230.9, 180.2), (242.1, 181.5)),
        score=0.9960, greyscale=True,
    ),
    FaceSource(
        "grace_hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg", (600, 512),
        box=(176.7, 119.1, 348.5, 327.6),
        landmarks=((224.5, 189.9), (308.3, 189.1), (268.0, 234.8), (229.6, 269.6), (303.2, 269.0)),
        score=0.9998, greyscale=False,
    ),
)  # fmt: skip

# Greyscale textures (no faces) that backgrounds are tiled from.
TEXTURE_SOURCES: tuple[tuple[str, str], ...] = (
    ("skimage", "data/brick.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/gravel.png"),
)


def package_file(package: str, relpath: str) -> Path:
    """Path of ``relpath`` inside the installed ``package`` (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the demo dataset needs the package {package!r} (for {relpath}), "
            "which is not installed"
        )
    path = Path(spec.origin).parent / relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"expected {relpath} inside the installed package {package!r}, not found at {path}"
        )
    return path


def load_photo(source: FaceSource) -> np.ndarray:
    """The photo holding ``source`` as an RGB uint8 array, checked against its recorded size."""
    path = package_file(source.package, source.relpath)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: could not be read as an image")
    if bgr.shape[:2] != source.image_shape:
        raise ValueError(
            f"{path}: expected a {source.image_shape[0]}x{source.image_shape[1]} (HxW) photo "
            f"for identity {source.identity!r}, found {bgr.shape[0]}x{bgr.shape[1]}; "
            "the package's copy changed and the hard-coded landmarks no longer apply"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_texture(package: str, relpath: str) -> np.ndarray:
    """A greyscale texture as a float32 array in [0, 1]."""
    path = package_file(package, relpath)
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise ValueError(f"{path}: could not be read as an image")
    return grey.astype(np.float32) / 255.0
