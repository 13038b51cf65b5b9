"""Files shipped inside the package, located without importing torch (the DAG needs them)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DETECTOR_WEIGHTS = PACKAGE_DIR / "detect" / "weights" / "retinaface_mobilenet0.25_Final.pth"
