"""DeeperForensics-1.0's seven test-time perturbations (CS, CC, BW, GNC, GB, JPEG, VC at
levels 1-5): the protocol (:mod:`.protocol`), the per-frame distortions (:mod:`.distortions`)
and the clip-level video compression with frame streaming (:mod:`.video`)."""

from rf_models.perturb.distortions import apply_frame, check_frame
from rf_models.perturb.protocol import (
    FRAME_TYPES,
    LEVELS,
    PARAMETERS,
    TYPES,
    Perturbation,
    all_perturbations,
    format_meta_line,
    parameter,
    parse_meta_line,
    parse_perturbation,
    perturbation_rng,
)
from rf_models.perturb.video import compress_video, h264_round_trip, perturb_frames

__all__ = [
    "FRAME_TYPES",
    "LEVELS",
    "PARAMETERS",
    "TYPES",
    "Perturbation",
    "all_perturbations",
    "apply_frame",
    "check_frame",
    "compress_video",
    "format_meta_line",
    "h264_round_trip",
    "parameter",
    "parse_meta_line",
    "parse_perturbation",
    "perturb_frames",
    "perturbation_rng",
]
