"""DeeperForensics-1.0's seven test-time perturbations (CS, CC, BW, GNC, GB, JPEG, VC at
levels 1-5): the protocol (:mod:`.protocol`), the per-frame distortions (:mod:`.distortions`)
and the clip-level video compression with frame streaming (:mod:`.video`)."""

import lazy_loader

# imported on first use: the workflow reads the protocol's names while it builds the DAG,
# without loading OpenCV or PyAV
_EXPORTS = {
    "distortions": ["apply_frame", "check_frame"],
    "protocol": [
        "FRAME_TYPES",
        "LEVELS",
        "PARAMETERS",
        "TYPES",
        "Perturbation",
        "all_perturbations",
        "format_meta_line",
        "parameter",
        "parse_meta_line",
        "parse_perturbation",
        "perturbation_rng",
    ],
    "video": ["compress_video", "h264_round_trip", "perturb_frames"],
}

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)
