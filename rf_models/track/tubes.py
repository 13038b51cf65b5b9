"""Face-count vote, IoU tubes and nearest-entry filling (docs/reproduction.md §4, steps 3-6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

from rf_models.track.boxes import Box, iou_inclusive

IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class TubeEntry:
    """One box of a tube: its frame, its position among that frame's kept boxes, its corners."""

    frame: int
    index: int
    box: Box


@dataclass
class Tube:
    """Boxes linked across frames by IoU, in frame order (at most one per frame)."""

    entries: list[TubeEntry] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def last_box(self) -> Box:
        return self.entries[-1].box

    @property
    def frames(self) -> list[int]:
        return [entry.frame for entry in self.entries]


def check_increasing(name: str, values: Sequence[int]) -> list[int]:
    """Check `values` are integers in strictly increasing order."""
    for value in values:
        if not isinstance(value, Integral) or isinstance(value, bool):
            raise ValueError(f"{name}: expected integers, found {value!r}")
    ints = [int(v) for v in values]
    for earlier, later in zip(ints, ints[1:], strict=False):
        if later <= earlier:
            raise ValueError(
                f"{name}: expected strictly increasing values, found {later} after {earlier}"
            )
    return ints


def count_faces(per_frame_counts: Sequence[int]) -> int:
    """The per-frame face count that most frames agree on; ties go to the count seen first.

    `per_frame_counts` is in frame-index order, with 0 for frames without boxes or txt.
    An empty sequence gives 0.
    """
    votes: dict[int, int] = {}
    for count in per_frame_counts:
        if not isinstance(count, Integral) or isinstance(count, bool) or count < 0:
            raise ValueError(f"face counts: expected integers >= 0, found {count!r}")
        votes[int(count)] = votes.get(int(count), 0) + 1
    winner, best = 0, 0
    # dicts keep first-seen order, and only a strictly larger tally replaces the winner
    for count, tally in votes.items():
        if tally > best:
            winner, best = count, tally
    return winner


def build_tubes(
    frames: Mapping[int, Sequence[Box]], iou_threshold: float = IOU_THRESHOLD
) -> list[Tube]:
    """Link each frame's boxes into tubes, walking frames in index order.

    Per frame, every box's IoUs are taken once against each tube's last box as it stood
    before the frame. A box whose best IoU is < `iou_threshold` (or that meets no tube)
    starts a tube; otherwise it joins the tube of highest IoU (the first on ties), or is
    dropped when that tube already took a box in this frame.
    """
    tubes: list[Tube] = []
    for frame in sorted(frames):
        boxes = frames[frame]
        if not boxes:
            continue
        last_boxes = [tube.last_box for tube in tubes]
        best: list[tuple[float, int]] = []
        for box in boxes:
            top_iou, top_tube = -1.0, -1
            for tube_pos, last in enumerate(last_boxes):
                iou = iou_inclusive(box, last)
                if iou > top_iou:
                    top_iou, top_tube = iou, tube_pos
            best.append((top_iou, top_tube))
        taken = [False] * len(last_boxes)
        for index, (box, (top_iou, top_tube)) in enumerate(zip(boxes, best, strict=True)):
            entry = TubeEntry(frame=frame, index=index, box=box)
            if not last_boxes or top_iou < iou_threshold:
                tubes.append(Tube([entry]))
            elif not taken[top_tube]:
                taken[top_tube] = True
                tubes[top_tube].entries.append(entry)
    return tubes


def longest_tubes(tubes: Sequence[Tube], count: int) -> list[Tube]:
    """The `count` longest tubes, longest first; equal lengths keep their creation order."""
    return sorted(tubes, key=len, reverse=True)[:count]


def nearest_entries(entry_frames: Sequence[int], frame_indices: Sequence[int]) -> list[int]:
    """For each frame, the position of the tube entry nearest in frame index.

    Walks both in increasing order and moves to the next entry only when it is strictly
    closer, so at equal distance the earlier entry wins. Entry frames must be among
    `frame_indices`, which is what makes one step per frame enough.
    """
    if not entry_frames:
        raise ValueError("nearest_entries: expected a tube with at least one entry, found none")
    check_increasing("frame indices", frame_indices)
    check_increasing("tube entry frames", entry_frames)
    missing = sorted(set(entry_frames) - set(frame_indices))
    if missing:
        raise ValueError(
            f"nearest_entries: expected tube entry frames among the frame indices, "
            f"found {missing[:5]} outside them"
        )
    positions: list[int] = []
    current = 0
    for frame in frame_indices:
        following = current + 1
        if following < len(entry_frames) and abs(entry_frames[current] - frame) > abs(
            entry_frames[following] - frame
        ):
            current = following
        positions.append(current)
    return positions
