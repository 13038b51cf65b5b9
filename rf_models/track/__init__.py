"""Face tubes and crop squares from per-frame detections (docs/reproduction.md §4), and the
landmarks of each crop."""

from rf_models.track.boxes import (
    Box,
    boxes_from_txt_rows,
    crop_box_of,
    crop_size_of,
    iou_inclusive,
    square_crop_origin,
    tube_crop_size,
)
from rf_models.track.landmarks import LandmarksMatchError, crop_landmarks
from rf_models.track.tracks import (
    FaceTrack,
    FrameCrop,
    TracksFormatError,
    VideoTracks,
    track_video,
)
from rf_models.track.tracks_io import read_tracks_json, write_tracks_json
from rf_models.track.tubes import (
    Tube,
    TubeEntry,
    build_tubes,
    count_faces,
    longest_tubes,
    nearest_entries,
)

__all__ = [
    "Box",
    "FaceTrack",
    "FrameCrop",
    "LandmarksMatchError",
    "TracksFormatError",
    "Tube",
    "TubeEntry",
    "VideoTracks",
    "boxes_from_txt_rows",
    "build_tubes",
    "count_faces",
    "crop_box_of",
    "crop_landmarks",
    "crop_size_of",
    "iou_inclusive",
    "longest_tubes",
    "nearest_entries",
    "read_tracks_json",
    "square_crop_origin",
    "track_video",
    "tube_crop_size",
    "write_tracks_json",
]
