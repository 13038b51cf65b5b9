"""Face detection: RetinaFace (MobileNet-0.25) with its priors, decoding, NMS, backends, txt I/O."""

from rf_models.detect.backends import RetinaFaceDetector, network_input_size, preprocess_frame
from rf_models.detect.onnx_export import export_onnx
from rf_models.detect.postprocess import PostprocessConfig, decode_boxes, nms, resize_factor
from rf_models.detect.priors import prior_boxes
from rf_models.detect.retinaface import RetinaFace, default_weights_path, load_retinaface
from rf_models.detect.run import detect_frames
from rf_models.detect.txt_io import (
    DetectionsFormatError,
    format_detections_txt,
    read_detections_txt,
    write_detections_txt,
)

__all__ = [
    "DetectionsFormatError",
    "PostprocessConfig",
    "RetinaFace",
    "RetinaFaceDetector",
    "decode_boxes",
    "default_weights_path",
    "detect_frames",
    "export_onnx",
    "format_detections_txt",
    "load_retinaface",
    "network_input_size",
    "nms",
    "preprocess_frame",
    "prior_boxes",
    "read_detections_txt",
    "resize_factor",
    "write_detections_txt",
]
