"""The per-video resume loop that every per-part stage and predict run through.

A job plans each video (its work-area key and any result kept under it), then, inside one
atomic output folder and one progress report, computes the videos that have no kept result,
each in a slot that becomes its work-area entry once complete, and finally hands every entry's
files to the output (hard links, or a move when the entries need not keep them) and prunes
the entries of videos that no longer end with one. This is the package's kill-safety rule
(rf_models/work_area.py): whatever the job is doing when it is killed, the next attempt finds
complete entries or none.

Without a work area (``work=None``: a :class:`NullWorkArea`), or for a video without a key
(its upstream result is unknown), the slot is the output folder itself and nothing is kept.

Stages keep their own cases as parameters of the loop: extraction hands its frames over by a
move (``hand_over="move"``) and marks videos whose frames detection no longer needs as
settled; predict commits each video after a batch of them has been scored (it opens a slot
per video when the batch is done, not when the video starts).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from rf_models.io_utils import atomic_output_dir
from rf_models.progress import Progress
from rf_models.work_area import Entry, NullWorkArea, Slot, open_work_area

P = TypeVar("P")
HAND_OVERS = ("link", "move")


@dataclass
class Planned(Generic[P]):
    """One video of a job: its work-area name, the stage's own data about it (``payload``),
    its key (None: computed, never kept) and the entry kept under that key, if any.
    ``link`` False: the kept entry is the video's result, but it has no files to hand over
    (extraction's settled videos)."""

    video_id: str
    payload: P
    key: str | None = None
    kept: Entry | None = None
    link: bool = True

    @property
    def reused(self) -> bool:
        return self.kept is not None


@dataclass
class DirectSlot:
    """Where a video without a key writes: straight into the output (``data``); its record is
    not kept."""

    data: Path
    record: dict[str, Any] = field(default_factory=dict)
    store: bool = False


class VideoLoop:
    """One job's work area and its resume loop.

    ``work`` is the part's work-area folder (None: no work area); ``stage``, ``params``,
    ``modules`` and ``libraries`` make its base key (:class:`rf_models.work_area.WorkArea`).
    """

    def __init__(
        self,
        work: str | os.PathLike | None,
        stage: str,
        params: Mapping[str, Any],
        modules: Iterable[str] = (),
        libraries: Iterable[str] = (),
    ) -> None:
        self.stage = stage
        self.area = open_work_area(work, stage, params, [*modules, __name__], libraries)

    @property
    def keeps(self) -> bool:
        """Whether results are kept (a work area is open): stages skip computing the upstream
        identities that only keys need otherwise."""
        return not isinstance(self.area, NullWorkArea)

    def plan(
        self,
        video_id: str,
        payload: P,
        deps: Mapping[str, Any] | None,
        *,
        accept: Callable[[Entry], bool] | None = None,
    ) -> Planned[P]:
        """A video's plan: its key from ``deps`` (None: no key, nothing reused or kept) and
        the entry kept under it, if complete and ``accept`` takes it."""
        key = None if deps is None else self.area.key(video_id, **deps)
        kept = self.area.reusable(video_id, key)
        if kept is not None and accept is not None and not accept(kept):
            kept = None
        return Planned(video_id, payload, key, kept)

    def kept_without_data(self, item: Planned[P]) -> Entry | None:
        """The entry kept under ``item``'s key even if its files were handed over by a move
        (its record still names the result)."""
        return self.area.reusable(item.video_id, item.key, need_data=False)

    @contextlib.contextmanager
    def run(
        self,
        items: Sequence[Planned[P]],
        out_dir: str | os.PathLike | None,
        label: str,
        *,
        hand_over: str = "link",
    ) -> Iterator[LoopRun[P]]:
        """Compute the ``todo`` videos of the yielded run inside ``out_dir`` (written
        atomically; None: the job's outputs are files it writes itself) and one progress
        report; on a normal exit every entry's files go to the output and the work area keeps
        only the videos that end with an entry."""
        if hand_over not in HAND_OVERS:
            raise ValueError(f"hand_over: expected one of {HAND_OVERS}, found {hand_over!r}")
        with contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(atomic_output_dir(out_dir))) if out_dir else None
            if tmp is None:
                # keyless videos still need somewhere to write; nothing there is an output
                scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            reused = sum(item.reused for item in items)
            progress = stack.enter_context(Progress(label, len(items), reused))
            run = LoopRun(self, items, tmp if tmp is not None else scratch, tmp, progress)
            yield run
            run.hand_over(hand_over)
        self.area.prune(run.finished_ids())


class LoopRun(Generic[P]):
    """The running part of :meth:`VideoLoop.run`: ``todo`` (the videos to compute, in plan
    order), :meth:`slot` to compute one, :meth:`skip` for one that gives no result."""

    def __init__(
        self,
        loop: VideoLoop,
        items: Sequence[Planned[P]],
        direct: Path,
        out: Path | None,
        progress: Progress,
    ) -> None:
        self._loop, self._items, self._direct, self._out = loop, items, direct, out
        self._progress = progress
        self._entries: dict[str, Entry] = {i.video_id: i.kept for i in items if i.kept}
        self._lock = threading.Lock()
        self.todo = [item for item in items if not item.reused]

    @property
    def out(self) -> Path | None:
        """The output folder being written (None when the job has none)."""
        return self._out

    @contextlib.contextmanager
    def slot(self, item: Planned[P]) -> Iterator[Slot | DirectSlot]:
        """Where ``item``'s files go (``slot.data``, laid out as in the output) and its record
        (``slot.record``). A keyed video's slot becomes its entry when the block ends
        normally, unless ``slot.store`` is set False (a failure that may pass): its files
        then go to the output at once. Counts the video as done."""
        area = self._loop.area
        if item.key is None or not self._loop.keeps:
            yield DirectSlot(self._direct)
        else:
            with area.commit(item.video_id, item.key) as slot:
                yield slot
                if not slot.store and self._out is not None:
                    for path in slot.data.iterdir():
                        os.replace(path, self._out / path.name)
            if slot.store:
                entry = area.entry(item.video_id)
                if entry is None:
                    raise RuntimeError(
                        f"{self._loop.stage}: the work area lost {item.video_id} while in use"
                    )
                with self._lock:
                    self._entries[item.video_id] = entry
        self._progress.advance()

    def skip(self, item: Planned[P]) -> None:
        """``item`` was looked at and gives no result (the stage recorded why)."""
        self._progress.advance()

    def entry(self, item: Planned[P]) -> Entry | None:
        """``item``'s entry: kept at planning or committed by its slot."""
        with self._lock:
            return self._entries.get(item.video_id)

    def hand_over(self, mode: str) -> None:
        # every video's files are in the work area: hand them to the output in one short step
        if self._out is None:
            return
        for item in self._items:
            entry = self.entry(item)
            if entry is None or not item.link:
                continue
            if mode == "link":
                entry.link_into(self._out)
            else:
                entry.move_into(self._out)

    def finished_ids(self) -> list[str]:
        with self._lock:
            return list(self._entries)
