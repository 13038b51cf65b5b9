"""The DeeperForensics-1.0 perturbation protocol: the seven distortion types, their level to
parameter tables, the :class:`Perturbation` value naming one (type, level), its parser, the
protocol's meta lines, and the per-video random generator a perturbation draws from.

The tables are those of ``get_distortion_parameter`` in DeeperForensics-1.0's
``perturbation/add_distortion_to_video.py``; level 1 is the mildest, level 5 the strongest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

# Protocol codes in the order the source lists them.
TYPES: tuple[str, ...] = ("CS", "CC", "BW", "GNC", "GB", "JPEG", "VC")

TYPE_NAMES: dict[str, str] = {
    "CS": "colour saturation change",
    "CC": "colour contrast change",
    "BW": "local block-wise",
    "GNC": "white Gaussian noise in colour components",
    "GB": "Gaussian blur",
    "JPEG": "JPEG compression (down- then up-scaling)",
    "VC": "video compression (H.264 CRF)",
}

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)

# Parameter of each type at levels 1..5.
PARAMETERS: dict[str, tuple[float, ...] | tuple[int, ...]] = {
    "CS": (0.4, 0.3, 0.2, 0.1, 0.0),  # chroma scale factor: smaller is worse
    "CC": (0.85, 0.725, 0.6, 0.475, 0.35),  # pixel value factor: smaller is worse
    "BW": (16, 32, 48, 64, 80),  # blocks per 256 px of the shorter side
    "GNC": (0.001, 0.002, 0.005, 0.01, 0.05),  # noise variance in normalised YCbCr
    "GB": (7, 9, 13, 17, 21),  # kernel size; sigma is a sixth of it
    "JPEG": (2, 3, 4, 5, 6),  # down-scaling factor
    "VC": (30, 32, 35, 38, 40),  # x264 constant rate factor
}

# The types applied frame by frame; VC needs the whole clip.
FRAME_TYPES: tuple[str, ...] = tuple(t for t in TYPES if t != "VC")

_NAME = re.compile(r"([A-Z]+):?([0-9]+)")


def _check_type(code: object) -> str:
    if not isinstance(code, str) or code not in PARAMETERS:
        raise ValueError(f"expected a perturbation type in {', '.join(TYPES)}, got {code!r}")
    return code


def _check_level(level: object) -> int:
    # bool is an int subclass: True would otherwise pass as level 1
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or level not in LEVELS:
        raise ValueError(f"expected a perturbation level 1-5 (an int), got {level!r}")
    return int(level)


def parameter(code: str, level: int) -> float | int:
    """The protocol's parameter of type ``code`` at ``level`` (1-5)."""
    return PARAMETERS[_check_type(code)][_check_level(level) - 1]


@dataclass(frozen=True)
class Perturbation:
    """One DeeperForensics-1.0 distortion: a type code (``"GB"``) and a level 1-5."""

    type: str
    level: int

    def __post_init__(self) -> None:
        _check_type(self.type)
        # normalise numpy integers so equal perturbations hash and compare equal
        object.__setattr__(self, "level", _check_level(self.level))

    @property
    def param(self) -> float | int:
        """The parameter the protocol uses for this type at this level."""
        return PARAMETERS[self.type][self.level - 1]

    @property
    def name(self) -> str:
        """Compact name, type then level: ``GB3``."""
        return f"{self.type}{self.level}"

    @property
    def meta(self) -> str:
        """The protocol's meta-file token, ``TYPE:level``: ``GB:3``."""
        return f"{self.type}:{self.level}"

    @property
    def per_frame(self) -> bool:
        """Whether the distortion applies to each frame on its own (all but VC)."""
        return self.type != "VC"

    def __str__(self) -> str:
        return self.name


def parse_perturbation(text: str) -> Perturbation:
    """A :class:`Perturbation` from its name (``"GB3"``) or meta token (``"GB:3"``)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a perturbation name such as 'GB3', got {type(text).__name__}")
    match = _NAME.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"expected a perturbation name TYPE+level such as 'GB3' or 'GB:3' "
            f"(TYPE one of {', '.join(TYPES)}, level 1-5), got {text!r}"
        )
    code, level = match.groups()
    return Perturbation(_check_type(code), _check_level(int(level)))


def all_perturbations() -> list[Perturbation]:
    """The 35 single perturbations of the protocol, type by type, levels 1 to 5."""
    return [Perturbation(code, level) for code in TYPES for level in LEVELS]


def format_meta_line(
    path: str, perturbations: list[Perturbation] | tuple[Perturbation, ...]
) -> str:
    """A line of the protocol's meta file: the video path then one ``TYPE:level`` token per
    distortion applied, in order (mixed distortions list several), separated by spaces."""
    if not path or any(c.isspace() for c in path):
        # the source splits meta lines on whitespace, so a path cannot hold any
        raise ValueError(f"expected a non-empty video path without whitespace, got {path!r}")
    return " ".join([path, *(p.meta for p in perturbations)])


def parse_meta_line(line: str) -> tuple[str, list[Perturbation]]:
    """The video path and the distortions (in the order applied) of one meta-file line."""
    fields = line.split()
    if not fields:
        raise ValueError(f"expected a meta line 'path TYPE:level ...', got {line!r}")
    tokens = fields[1:]
    for token in tokens:
        if ":" not in token:
            raise ValueError(f"expected meta tokens 'TYPE:level', got {token!r} in {line!r}")
    return fields[0], [parse_perturbation(token) for token in tokens]


def perturbation_rng(seed: int, video_id: str, perturbation: Perturbation) -> np.random.Generator:
    """A generator for one video under one perturbation, derived only from the base ``seed``,
    the ``video_id`` and the perturbation's name: the same in every process and run (SHA-256
    of the three, not Python's salted ``hash``), different for any other of the three."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"expected a non-negative integer seed, got {seed!r}")
    if not isinstance(video_id, str):
        raise TypeError(f"expected the video id as a str, got {type(video_id).__name__}")
    if not isinstance(perturbation, Perturbation):
        raise TypeError(f"expected a Perturbation, got {type(perturbation).__name__}")
    key = f"{int(seed)}\x00{video_id}\x00{perturbation.name}".encode()
    digest = hashlib.sha256(key).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))
