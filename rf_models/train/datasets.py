"""Datasets over training lists in the seed's format (docs/reproduction.md §5).

A list has one line per face tube::

    <part>/<video_id>/frame%d_face<k>.<ext> start stride count label

with frames ``start, start + stride, ...`` (``count`` of them), relative to a crops root, and
label 1 = FAKE, 0 = REAL. A line with ``count <= 0`` is dropped (and counted).

Training items are addressed by ``(dataset_index, position)`` pairs from
:class:`rf_models.train.sampler.IterationBatchSampler`; the position seeds the sample's own
random generator, so what an item returns depends only on (seed, position). Validation items
are addressed by plain indices and are deterministic.

Every item is ``(tensor, label, skipped)``. With ``skip_bad=False`` an unreadable or missing
image raises :class:`BadSampleError` naming the file. With ``skip_bad=True`` a bad training
sample is replaced by the next readable one (index + 1, + 2, ... wrapping round) and
``skipped`` counts the replaced samples; a bad validation sample comes back with label -1
(left out of the metrics) and ``skipped`` 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from rf_models.data.lists import ListLine, parse_list_line
from rf_models.train.config import ModelConfig
from rf_models.train.transforms import Transform, video_eval_side


class ListFormatError(ValueError):
    """A training list that cannot be used: unreadable, malformed or empty."""


class BadSampleError(RuntimeError):
    """An image of a sample is missing or cannot be decoded."""


def frame_path(line: ListLine, frame: int) -> str:
    """The crop path of ``frame`` relative to the crops root."""
    return line.path(frame)


@dataclass(frozen=True)
class TubeList:
    path: Path
    entries: tuple[ListLine, ...]
    dropped: int


def read_list(path: str | os.PathLike) -> TubeList:
    """Parse a list file; errors name the file and line. Lines with ``count <= 0`` are
    dropped; a list with no usable line is an error."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ListFormatError(f"{path}: cannot read the list: {exc}") from exc
    entries: list[ListLine] = []
    dropped = 0
    for number, text_line in enumerate(text.splitlines(), start=1):
        if not text_line.strip():
            continue
        where = f"{path}:{number}"
        try:
            line = parse_list_line(text_line, where)
        except ValueError as exc:
            raise ListFormatError(str(exc)) from None
        if line.count <= 0:
            dropped += 1
            continue
        entries.append(line)
    if not entries:
        raise ListFormatError(
            f"{path}: the list has no usable line ({dropped} dropped with count <= 0); "
            "expected at least one face tube"
        )
    return TubeList(path, tuple(entries), dropped)


def load_image(path: Path, colour: str) -> torch.Tensor:
    """uint8 ``(3, H, W)`` in ``colour`` order; :class:`BadSampleError` naming the file."""
    if not path.is_file():
        raise BadSampleError(f"missing image: {path} does not exist")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise BadSampleError(f"unreadable image: {path} could not be decoded")
    if colour == "RGB":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()


def temporal_indices(n: int, span: int, step: int, begin: int) -> list[int]:
    """Positions (into a tube of ``n`` frames) of a clip: ``span`` frames from ``begin``,
    looped when the tube is shorter, then every ``step``-th."""
    window = list(range(begin, min(begin + span, n)))
    looped = [window[j % len(window)] for j in range(span)]
    return looped[::step]


def random_clip_begin(n: int, span: int, rng: np.random.Generator) -> int:
    # The seed's range stops one short of the last full window; kept for fidelity.
    return int(rng.integers(0, max(0, n - span - 1) + 1))


def centre_clip_begin(n: int, span: int) -> int:
    return max(0, n // 2 - span // 2)


class _ListDataset(Dataset):
    def __init__(
        self,
        list_path: str | os.PathLike,
        crops_root: str | os.PathLike,
        transform: Transform,
        *,
        colour: str,
        train: bool,
        seed: int = 0,
        skip_bad: bool = False,
    ) -> None:
        self.tubes = read_list(list_path)
        self.root = Path(crops_root)
        self.transform = transform
        self.colour = colour
        self.train = train
        self.seed = seed
        self.skip_bad = skip_bad

    @property
    def dropped_lines(self) -> int:
        return self.tubes.dropped

    def label(self, index: int) -> int:
        raise NotImplementedError

    def _load(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int, int]:
        if isinstance(key, tuple | list):
            index, position = int(key[0]), int(key[1])
            rng = np.random.default_rng([self.seed, position])
        else:
            index, rng = int(key), None
        if self.train and rng is None:
            raise TypeError("a training dataset is indexed by (index, position) pairs")
        n = len(self)
        for skipped in range(n):
            current = (index + skipped) % n
            try:
                return self._load(current, rng), self.label(current), skipped
            except BadSampleError:
                if not self.skip_bad:
                    raise
                if not self.train:
                    return self._placeholder(), -1, 1
        raise BadSampleError(f"{self.tubes.path}: no readable sample in the whole list")

    def _placeholder(self) -> torch.Tensor:
        raise NotImplementedError


class ImageListDataset(_ListDataset):
    """One item per (tube, frame) of an image list, in list order."""

    def __init__(
        self,
        list_path: str | os.PathLike,
        crops_root: str | os.PathLike,
        transform: Transform,
        *,
        colour: str = "RGB",
        train: bool,
        seed: int = 0,
        skip_bad: bool = False,
        input_size: int = 0,
    ) -> None:
        super().__init__(
            list_path,
            crops_root,
            transform,
            colour=colour,
            train=train,
            seed=seed,
            skip_bad=skip_bad,
        )
        self.input_size = input_size
        counts = np.array([t.count for t in self.tubes.entries], dtype=np.int64)
        self._tube = np.repeat(np.arange(len(counts)), counts)
        self._offset = np.arange(len(self._tube)) - np.repeat(np.cumsum(counts) - counts, counts)

    def __len__(self) -> int:
        return len(self._tube)

    def sample(self, index: int) -> tuple[ListLine, int]:
        tube = self.tubes.entries[int(self._tube[index])]
        return tube, tube.start + int(self._offset[index]) * tube.stride

    def label(self, index: int) -> int:
        return self.sample(index)[0].label

    def _load(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        tube, frame = self.sample(index)
        img = load_image(self.root / frame_path(tube, frame), self.colour)
        return self.transform(img, rng)

    def _placeholder(self) -> torch.Tensor:
        return torch.zeros(3, self.input_size, self.input_size)


class VideoListDataset(_ListDataset):
    """One item per tube: ``clip_frames`` frames taken every ``sample_step`` from a window of
    ``clip_frames * sample_step`` consecutive list frames at a random position (training) or
    the centre (validation); short tubes loop."""

    def __init__(
        self,
        list_path: str | os.PathLike,
        crops_root: str | os.PathLike,
        transform: Transform,
        *,
        colour: str = "RGB",
        train: bool,
        clip_frames: int,
        sample_step: int,
        seed: int = 0,
        skip_bad: bool = False,
        eval_size: int = 0,
    ) -> None:
        super().__init__(
            list_path,
            crops_root,
            transform,
            colour=colour,
            train=train,
            seed=seed,
            skip_bad=skip_bad,
        )
        self.clip_frames = clip_frames
        self.sample_step = sample_step
        self.eval_size = eval_size

    def __len__(self) -> int:
        return len(self.tubes.entries)

    def label(self, index: int) -> int:
        return self.tubes.entries[index].label

    def clip_frames_of(self, index: int, rng: np.random.Generator | None) -> list[int]:
        tube = self.tubes.entries[index]
        frames = tube.frames()
        span = self.clip_frames * self.sample_step
        if rng is None:
            begin = centre_clip_begin(len(frames), span)
        else:
            begin = random_clip_begin(len(frames), span, rng)
        return [frames[i] for i in temporal_indices(len(frames), span, self.sample_step, begin)]

    def _load(self, index: int, rng: np.random.Generator | None) -> torch.Tensor:
        tube = self.tubes.entries[index]
        images = [
            load_image(self.root / frame_path(tube, f), self.colour)
            for f in self.clip_frames_of(index, rng)
        ]
        size = images[0].shape[-2:]
        # Crops of one tube share a size; resize strays so the clip stacks.
        images = [
            img
            if img.shape[-2:] == size
            else torch.nn.functional.interpolate(
                img[None].float(), size=tuple(size), mode="bilinear", align_corners=False
            )[0]
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
            for img in images
        ]
        return self.transform(torch.stack(images), rng)

    def _placeholder(self) -> torch.Tensor:
        return torch.zeros(3, self.clip_frames, self.eval_size, self.eval_size)


def build_dataset(
    cfg: ModelConfig,
    list_path: str | os.PathLike,
    crops_root: str | os.PathLike,
    transform: Transform,
    *,
    train: bool,
) -> ImageListDataset | VideoListDataset:
    """The dataset class a model's kind calls for."""
    if cfg.kind == "image":
        return ImageListDataset(
            list_path,
            crops_root,
            transform,
            colour=cfg.colour,
            train=train,
            seed=cfg.seed,
            skip_bad=cfg.skip_bad,
            input_size=cfg.input_size,
        )
    return VideoListDataset(
        list_path,
        crops_root,
        transform,
        colour=cfg.colour,
        train=train,
        clip_frames=cfg.clip_frames,
        sample_step=cfg.sample_step,
        seed=cfg.seed,
        skip_bad=cfg.skip_bad,
        eval_size=video_eval_side(cfg),
    )
