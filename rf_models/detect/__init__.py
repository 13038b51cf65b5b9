"""Face detection: RetinaFace (MobileNet-0.25) with its priors, decoding, NMS, backends, txt I/O.

Names are imported on first use (PEP 562): a job that needs only the txt format or the resize
factor (extract_frames, track_faces) starts without loading PyTorch, about 2 s per job.
"""

from rf_models.lazy import lazy_exports

_SOURCES = {
    "RetinaFaceDetector": "backends",
    "network_input_size": "backends",
    "preprocess_frame": "backends",
    "export_onnx": "onnx_export",
    "PostprocessConfig": "postprocess",
    "decode_boxes": "postprocess",
    "nms": "postprocess",
    "resize_factor": "postprocess",
    "prior_boxes": "priors",
    "RetinaFace": "retinaface",
    "default_weights_path": "retinaface",
    "load_retinaface": "retinaface",
    "detect_frames": "run",
    "DetectionsFormatError": "txt_io",
    "format_detections_txt": "txt_io",
    "read_detections_txt": "txt_io",
    "write_detections_txt": "txt_io",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
