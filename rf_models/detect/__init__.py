"""Face detection: RetinaFace (MobileNet-0.25) with its priors, decoding, NMS, backends, txt I/O
and the per-video landmarks file.

Names are imported on first use (PEP 562): a job that needs only the txt format or the resize
factor (extract_frames, track_faces) starts without loading PyTorch, about 2 s per job.
"""

import lazy_loader

_EXPORTS = {
    "backends": ["RetinaFaceDetector", "network_input_size", "preprocess_frame"],
    "onnx_export": ["export_onnx"],
    "landmarks_io": [
        "LANDMARKS_FILENAME",
        "LandmarksFormatError",
        "check_video_landmarks",
        "format_landmarks_json",
        "read_landmarks_json",
        "write_landmarks_json",
    ],
    "postprocess": [
        "PostprocessConfig",
        "decode_boxes",
        "decode_landmarks",
        "nms",
        "postprocess_with_landmarks",
        "resize_factor",
    ],
    "priors": ["prior_boxes"],
    "retinaface": ["RetinaFace", "default_weights_path", "load_retinaface"],
    "run": ["detect_frames", "detect_frames_with_landmarks"],
    "txt_io": [
        "DetectionsFormatError",
        "format_detections_txt",
        "read_detections_txt",
        "txt_order",
        "write_detections_txt",
    ],
}

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)
