"""The 5 RetinaFace landmarks of each tube crop: the points of the tube entry a crop uses, found
among its frame's boxes in txt order (a pure function of the tracks, boxes and landmarks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rf_models.track.boxes import SCORE_THRESHOLD, Box, boxes_from_txt_rows
from rf_models.track.tracks import FaceTrack, VideoTracks

NUM_POINTS = 5


class LandmarksMatchError(ValueError):
    """Tracks, boxes and landmarks of a video that do not fit together."""


def _txt_lines_of_kept(
    frame: int,
    kept: Sequence[Box],
    landmarks: np.ndarray,
    rows: np.ndarray | None,
    score_threshold: float,
) -> list[int]:
    """For each kept box of ``frame`` (in kept order), its line among the txt's boxes (from 0)."""
    if rows is None:
        # The txt lists boxes by score, highest first, so a score threshold keeps a prefix.
        if len(landmarks) < len(kept):
            raise LandmarksMatchError(
                f"frame {frame}: expected landmarks for at least the {len(kept)} kept boxes, "
                f"found {len(landmarks)}"
            )
        return list(range(len(kept)))
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    if len(landmarks) != len(rows):
        raise LandmarksMatchError(
            f"frame {frame}: expected one landmark set per txt box ({len(rows)}), "
            f"found {len(landmarks)}"
        )
    lines = [i for i, row in enumerate(rows) if row[4] >= score_threshold]
    from_rows = boxes_from_txt_rows(rows, score_threshold)
    if list(from_rows) != [tuple(box) for box in kept]:
        raise LandmarksMatchError(
            f"frame {frame}: the kept boxes {list(kept)[:4]} are not the txt's boxes with "
            f"score >= {score_threshold} {from_rows[:4]}"
        )
    return lines


def _entry_boxes(face: FaceTrack) -> dict[int, Box]:
    """The tube's own box per frame where it has one (the entries its crops can use)."""
    return {crop.frame: crop.box for crop in face.frames if crop.box is not None}


def crop_landmarks(
    tracks: VideoTracks,
    kept_boxes: Mapping[int, Sequence[Box]],
    landmarks: Mapping[int, np.ndarray],
    *,
    txt_rows: Mapping[int, np.ndarray] | None = None,
    score_threshold: float = SCORE_THRESHOLD,
) -> dict[int, np.ndarray]:
    """``{face: (len(face.frames), 5, 2) float64}``: row i holds the landmarks of crop i.

    A crop's landmarks are those of the tube entry it uses: the face's box in
    ``crop.entry_frame`` (its own box, or for a borrowed crop the box of the face's crop at
    that frame), looked up among ``kept_boxes[entry_frame]`` (the boxes tracking kept, txt
    order after the score threshold, as ``read_video_detections`` gives them) and mapped to
    its line of the txt, whose landmarks ``landmarks[entry_frame]`` (every box of the txt, as
    ``read_landmarks_json`` gives them) hold. So they are in the entry frame's pixels: for a
    borrowed crop that is the lender's image, as the crop itself (with ``crop_source``
    "current" the points, like the box, are borrowed onto the current image).

    Without ``txt_rows`` the kept boxes are taken as the txt's first lines (the txt is
    highest score first, so the threshold keeps a prefix). With ``txt_rows``
    (``{frame: (n, 5) [x, y, w, h, score]}``, the txt's rows) each kept box is mapped to the
    line it came from through ``score_threshold``, and the kept boxes are checked against
    the rows. Raises LandmarksMatchError when an entry cannot be matched to one box.
    """
    if tracks.status == "no_face":
        return {}
    lines_cache: dict[int, list[int]] = {}
    out: dict[int, np.ndarray] = {}
    for face in tracks.faces:
        own = _entry_boxes(face)
        points = np.empty((len(face.frames), NUM_POINTS, 2), dtype=np.float64)
        for i, crop in enumerate(face.frames):
            where = f"face {face.face}, frame {crop.frame}"
            frame = crop.entry_frame
            box = own.get(frame)
            if box is None:
                raise LandmarksMatchError(
                    f"{where}: its entry frame {frame} has no box of face {face.face} in the tracks"
                )
            if crop.box is not None and (crop.entry_frame != crop.frame or crop.box != box):
                raise LandmarksMatchError(
                    f"{where}: expected a crop with its own box to use its own frame's entry, "
                    f"found entry frame {crop.entry_frame} and box {crop.box}"
                )
            kept = kept_boxes.get(frame)
            if kept is None:
                raise LandmarksMatchError(f"{where}: no kept boxes for entry frame {frame}")
            frame_points = landmarks.get(frame)
            if frame_points is None:
                raise LandmarksMatchError(f"{where}: no landmarks for entry frame {frame}")
            frame_points = np.asarray(frame_points, dtype=np.float64)
            if frame_points.size == 0:
                frame_points = frame_points.reshape(0, NUM_POINTS, 2)
            if frame_points.ndim != 3 or frame_points.shape[1:] != (NUM_POINTS, 2):
                raise LandmarksMatchError(
                    f"frame {frame}: expected landmarks of shape (n, {NUM_POINTS}, 2), "
                    f"found {frame_points.shape}"
                )
            if frame not in lines_cache:
                rows = None if txt_rows is None else txt_rows.get(frame)
                if txt_rows is not None and rows is None:
                    raise LandmarksMatchError(f"{where}: no txt rows for entry frame {frame}")
                lines_cache[frame] = _txt_lines_of_kept(
                    frame, kept, frame_points, rows, score_threshold
                )
            lines = lines_cache[frame]
            matches = [lines[j] for j, other in enumerate(kept) if tuple(other) == box]
            if not matches:
                raise LandmarksMatchError(
                    f"{where}: the entry box {box} is not among frame {frame}'s kept boxes "
                    f"{list(kept)[:6]}"
                )
            first = frame_points[matches[0]]
            if any(not np.array_equal(frame_points[m], first) for m in matches[1:]):
                # identical integer boxes with different points: tracking's choice is unknown
                raise LandmarksMatchError(
                    f"{where}: the entry box {box} appears {len(matches)} times among frame "
                    f"{frame}'s kept boxes (txt lines {[m + 2 for m in matches]}) with "
                    f"different landmarks"
                )
            points[i] = first
        out[face.face] = points
    return out
