"""Image files inside a video's directory, written by one stage and read by the next: their
names and their encoding."""

from __future__ import annotations

import cv2


def frame_name(index: int, ext: str) -> str:
    """An extracted frame (1-based index), also the stem of its detections ``.txt``."""
    return f"frame{index}.{ext}"


def crop_name(frame: int | str, face: int, ext: str) -> str:
    """An aligned face crop; ``frame="%d"`` gives the training lists' per-frame pattern."""
    return f"frame{frame}_face{face}.{ext}"


def encode_params(ext: str, quality: int) -> list[int]:
    """cv2.imencode flags: JPEG at ``quality``; PNG at compression 1 (lossless either way,
    and fast)."""
    if ext == "jpg":
        return [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    return [cv2.IMWRITE_PNG_COMPRESSION, 1]
