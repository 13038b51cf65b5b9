"""How align_faces cuts its crops (:class:`AlignOptions`, from the config's align and track
keys) and how robustness changes the frames they are cut from (:class:`FrameEdit`): plain
data the rules build while the workflow parses, so nothing here loads OpenCV."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rf_models.data.manifest import ManifestRow
from rf_models.infer.sampling import sample_frames


@dataclass(frozen=True)
class AlignOptions:
    """How crops are cut and stored: ``method`` box (the seed's squares) or landmarks
    (similarity-aligned to the ArcFace template at ``size`` with ``margin``, from the
    landmarks of the boxes tracking kept at ``score_threshold``), JPEG/PNG at ``quality``."""

    ext: str = "jpg"
    quality: int = 95
    method: str = "box"
    size: int = 256
    margin: float = 1.3
    score_threshold: float = 0.8

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AlignOptions:
        align = config["align"]
        return cls(
            ext=align["format"],
            quality=align["quality"],
            method=align["method"],
            size=align["size"],
            margin=align["margin"],
            score_threshold=config["track"]["score_threshold"],
        )

    def record(self) -> dict[str, Any]:
        """What the crops depend on (a box crop does not depend on size, margin, threshold):
        the rule's parameter, and this class's arguments."""
        if self.method == "box":
            return {"ext": self.ext, "quality": self.quality}
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FrameEdit:
    """A change of the frames crops are cut from, for robustness: the video under
    ``perturbation`` (its ``seed`` draws the random ones, per video and frame), and only the
    crops of the frames a scorer samples (``max_frames``, ``spacing``, ``frame_stride``:
    :func:`rf_models.infer.sampling.sample_frames`) when ``max_frames`` is set."""

    perturbation: str | None = None
    seed: int = 0
    max_frames: int | None = None
    spacing: str = "stride"
    frame_stride: int = 1

    def frames(self, row: ManifestRow) -> set[int] | None:
        if self.max_frames is None:
            return None
        return set(sample_frames(row.n_frames, self.max_frames, self.frame_stride, self.spacing))
