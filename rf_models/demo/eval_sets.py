"""Two small cross-dataset evaluation sets in FaceForensics++'s and Celeb-DF (v2)'s layouts.

Rendered with the training demo's synthesiser (rf_models.demo.synth / render): the same ten
identities, new motions, backgrounds and noise. Every random stream here is keyed by
``[seed, EVAL_STREAM, ...]``, whose second word no stream of build_demo_dataset uses, so for
any seed none of these videos repeats a training video's draws.

Recipes (RECIPES, recorded per video):

- ``swap``: FF++ ``Deepfakes``. render.draw_swap, the recipe training saw (inner face of
  another identity, artefacts resolution loss / blur / seam / flicker / colour).
- ``mouth``: FF++ ``NeuralTextures``, never in training. Only an ellipse around the mouth is
  re-rendered (the source's mouth, aligned on nose and mouth corners, colour-matched, at
  reduced detail, opening and closing over the clip); the target keeps its eyes, brows, nose
  and face outline. Training's manipulated region is the whole inner face with its boundary
  at the face's edge, and is static apart from flicker.
- ``clean_swap``: ``Celeb-synthesis``. render.draw_clean_swap: full colour matching, a wide
  feather and none of the training swaps' artefacts (each training swap has at least one),
  as Celeb-DF is known for fewer visible artefacts.

FF++ videos are encoded at CRF 23 (the real set's ``c23``), Celeb-DF's at the demo's CRF 20.
Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rf_models.demo import render
from rf_models.demo.faces import FACE_SOURCES
from rf_models.demo.mp4 import write_mp4
from rf_models.demo.summary_file import (
    add_video_options,
    check_replaceable,
    read_summary,
    summary_dict,
    summary_text,
    video_options,
)
from rf_models.demo.synth import (
    Assets,
    PlannedHead,
    VideoPlan,
    check_int,
    check_video_options,
    render_video,
)
from rf_models.io_utils import atomic_output_dir, atomic_write_text

EVAL_SUMMARY_NAME = "eval_summary.json"
EVAL_SUMMARY_VERSION = 1
# Second word of every random stream here; build_demo_dataset's are 0x5041, 0x1D, 0x6E616D65.
EVAL_STREAM = 0x45564C53
FFPP = "ffpp"
CELEBDF = "celebdf"
DATASETS = (FFPP, CELEBDF)

FFPP_ORIGINAL_DIR = "original_sequences/youtube/c23/videos"
FFPP_METHODS = {"Deepfakes": "swap", "NeuralTextures": "mouth"}  # method folder -> recipe
FFPP_SPLITS = ("train", "val", "test")
FFPP_CRF = 23
FFPP_MAX_ORIGINALS = 1000  # names 000..999
CELEBDF_CRF = 20
CELEBDF_LIST = "List_of_testing_videos.txt"
CELEBDF_CELEB_DIR = "Celeb-real"
CELEBDF_YOUTUBE_DIR = "YouTube-real"
CELEBDF_FAKE_DIR = "Celeb-synthesis"
CELEBDF_LIST_LABEL = {"REAL": 1, "FAKE": 0}  # the convention most third-party parsers use

RECIPES: dict[str, str] = {
    "none": "a REAL video",
    "swap": "the training demo's face swap (render.draw_swap)",
    "mouth": "mouth region only re-rendered from the source, reduced detail, animated "
    "(render.MouthReenactment); not in training",
    "clean_swap": "face swap with full colour match, wide feather, no resolution loss, blur, "
    "seam or flicker (render.draw_clean_swap); not in training",
}


@dataclass(frozen=True)
class FFppCounts:
    """Pairs per official FF++ split; each pair gives 2 originals and 2 fakes per method."""

    train: int = 2
    val: int = 1
    test: int = 6

    def __post_init__(self) -> None:
        for name in FFPP_SPLITS:
            check_int(f"ffpp.{name}", getattr(self, name), 1)
        if 2 * self.n_pairs > FFPP_MAX_ORIGINALS:
            raise ValueError(
                f"ffpp: {self.n_pairs} pairs need {2 * self.n_pairs} originals; FF++ names "
                f"(000-999) allow at most {FFPP_MAX_ORIGINALS // 2} pairs"
            )

    @property
    def n_pairs(self) -> int:
        return self.train + self.val + self.test


@dataclass(frozen=True)
class CelebDFCounts:
    """Videos per Celeb-DF folder, listed for testing (test_*) or not (train_*)."""

    test_celeb: int = 6
    test_youtube: int = 4
    test_fake: int = 16
    train_celeb: int = 2
    train_youtube: int = 1
    train_fake: int = 3

    def __post_init__(self) -> None:
        for name in ("test_celeb", "test_fake"):
            check_int(f"celebdf.{name}", getattr(self, name), 1)
        for name in ("test_youtube", "train_celeb", "train_youtube", "train_fake"):
            check_int(f"celebdf.{name}", getattr(self, name), 0)
        n_sources = len(FACE_SOURCES) - 1
        for split in ("test", "train"):
            celeb, fake = getattr(self, f"{split}_celeb"), getattr(self, f"{split}_fake")
            # A fake reuses a Celeb-real video of its own set, each with a different source.
            if fake > n_sources * celeb:
                raise ValueError(
                    f"celebdf.{split}_fake={fake} needs at least {math.ceil(fake / n_sources)} "
                    f"Celeb-real target videos in its set ({n_sources} sources each), "
                    f"got {split}_celeb={celeb}"
                )


@dataclass(frozen=True)
class EvalVideo:
    """One video of an evaluation set, and the truth about it."""

    dataset: str  # "ffpp" or "celebdf"
    relpath: str  # inside the dataset's folder, e.g. "Celeb-real/id3_0000.mp4"
    label: str  # "REAL" / "FAKE"
    split: str  # FF++: the official split naming it; Celeb-DF: "test" if listed, else "train"
    method: str  # FF++: "original" or the method folder; Celeb-DF: the folder
    recipe: str  # a key of RECIPES
    identity: str  # the head shown (a fake's target)
    donor: str | None  # identity a fake takes its face (or mouth) from
    original: str | None  # a fake's target REAL, relpath in the same dataset
    artefacts: tuple[str, ...]
    width: int
    height: int
    fps: int
    n_frames: int
    size_bytes: int
    sha256: str

    @property
    def path_in_root(self) -> str:
        """Path relative to the build's root, e.g. ``ffpp/original_sequences/...``."""
        return f"{self.dataset}/{self.relpath}"


@dataclass(frozen=True)
class EvalSummary:
    """What :func:`build_eval_datasets` wrote; also saved as ``<root>/eval_summary.json``."""

    root: Path
    seed: int
    width: int
    height: int
    fps: int
    min_seconds: float
    max_seconds: float
    ffpp: FFppCounts
    celebdf: CelebDFCounts
    videos: tuple[EvalVideo, ...]

    def dataset_videos(self, dataset: str) -> list[EvalVideo]:
        if dataset not in DATASETS:
            raise ValueError(f"expected a dataset in {DATASETS}, got {dataset!r}")
        return [v for v in self.videos if v.dataset == dataset]

    def to_dict(self) -> dict:
        """JSON-ready dict; the root is left out so the file does not depend on where it is."""
        data = summary_dict(self, EVAL_SUMMARY_VERSION)
        data["recipes"] = dict(RECIPES)  # for readers of the file; not read back
        return data

    def to_json(self) -> str:
        return summary_text(self.to_dict())


def load_eval_summary(root: str | Path) -> EvalSummary:
    """Read ``<root>/eval_summary.json`` written by :func:`build_eval_datasets`."""
    root = Path(root)
    path = root / EVAL_SUMMARY_NAME
    data = read_summary(path, EVAL_SUMMARY_VERSION, "eval summary", "an eval build")
    try:
        videos = tuple(
            EvalVideo(**{**v, "artefacts": tuple(v["artefacts"])}) for v in data["videos"]
        )
        scalars = ("seed", "width", "height", "fps", "min_seconds", "max_seconds")
        return EvalSummary(
            root=root,
            ffpp=FFppCounts(**data["ffpp"]),
            celebdf=CelebDFCounts(**data["celebdf"]),
            videos=videos,
            **{k: data[k] for k in scalars},
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed eval summary: {exc!r}") from exc


# ---------------------------------------------------------------------------------------------
# Planning (pure)


@dataclass(frozen=True)
class EvalPlan:
    """One video to render: where it goes, its truth, and the demo plan that draws it."""

    dataset: str
    split: str
    method: str
    recipe: str
    video: VideoPlan  # part: the folder in the dataset; original: a fake's target's relpath

    @property
    def relpath(self) -> str:
        return f"{self.video.part}/{self.video.filename}"

    @property
    def original(self) -> str | None:
        return self.video.original

    @property
    def label(self) -> str:
        assert self.video.label is not None
        return self.video.label


def _stream(seed: int, *words: int) -> np.random.Generator:
    return np.random.default_rng([seed, EVAL_STREAM, *words])


def _identity_cycle(rng: np.random.Generator) -> Iterator[int]:
    """Identities in runs of seeded permutations: any two at positions 2k, 2k+1 differ."""
    n = len(FACE_SOURCES)
    while True:
        yield from (int(i) for i in rng.permutation(n))


def _real_video(
    rng: np.random.Generator,
    identity: int,
    folder: str,
    filename: str,
    size: tuple[int, int],
    fps: int,
    seconds: tuple[float, float],
) -> VideoPlan:
    """One head moving over a new background, as the training demo's ordinary REALs."""
    w, h = size
    motion = render.draw_motion(rng, w, h)
    n_frames = max(1, int(round(rng.uniform(*seconds) * fps)))
    scene = render.draw_scene(rng, w, h)
    heads = (PlannedHead(identity, motion),)
    return VideoPlan(folder, filename, "normal", "REAL", None, w, h, fps, n_frames, heads, scene)


def _fake_video(
    rng: np.random.Generator,
    real: VideoPlan,
    folder: str,
    filename: str,
    donor: int,
    params: render.Manipulation,
) -> VideoPlan:
    """``real``'s motion, background and noise with its head manipulated by ``params``."""
    if donor == real.heads[0].identity:
        raise AssertionError(f"{folder}/{filename}: donor is the target identity {donor}")
    return replace(
        real,
        part=folder,
        filename=filename,
        label="FAKE",
        original=f"{real.part}/{real.filename}",
        donor=donor,
        swap=params,
        swap_seed=int(rng.integers(0, 2**63)),
    )


def _plan_ffpp(
    seed: int, counts: FFppCounts, size: tuple[int, int], fps: int, seconds: tuple[float, float]
) -> tuple[list[EvalPlan], dict[str, list[list[str]]]]:
    n_orig = 2 * counts.n_pairs
    rng = _stream(seed, 1, 0)
    order = [int(i) for i in rng.permutation(n_orig)]
    ids = _identity_cycle(rng)
    pairs = [(order[2 * k], order[2 * k + 1]) for k in range(counts.n_pairs)]
    bounds = list(itertools.accumulate([counts.train, counts.val, counts.test]))
    split_of_pair = [FFPP_SPLITS[sum(k >= b for b in bounds)] for k in range(counts.n_pairs)]
    identity: dict[int, int] = {}
    split_of: dict[int, str] = {}
    for (a, b), split in zip(pairs, split_of_pair, strict=True):
        identity[a], identity[b] = next(ids), next(ids)
        split_of[a] = split_of[b] = split
    reals: dict[int, VideoPlan] = {}
    plans: list[EvalPlan] = []
    for i in range(n_orig):
        video = _real_video(
            _stream(seed, 1, 1, i),
            identity[i],
            FFPP_ORIGINAL_DIR,
            f"{i:03d}.mp4",
            size,
            fps,
            seconds,
        )
        reals[i] = video
        plans.append(EvalPlan(FFPP, split_of[i], "original", "none", video))
    for m, (method, recipe) in enumerate(FFPP_METHODS.items()):
        folder = f"manipulated_sequences/{method}/c23/videos"
        for a, b in pairs:
            for target, source in ((a, b), (b, a)):
                frng = _stream(seed, 1, 2 + m, target)
                params = render.draw_swap(frng) if recipe == "swap" else render.draw_mouth(frng)
                name = f"{target:03d}_{source:03d}.mp4"
                video = _fake_video(frng, reals[target], folder, name, identity[source], params)
                plans.append(EvalPlan(FFPP, split_of[target], method, recipe, video))
    splits = {s: [] for s in FFPP_SPLITS}
    for (a, b), split in zip(pairs, split_of_pair, strict=True):
        splits[split].append([f"{a:03d}", f"{b:03d}"])
    return plans, splits


def _plan_celebdf(
    seed: int,
    counts: CelebDFCounts,
    size: tuple[int, int],
    fps: int,
    seconds: tuple[float, float],
) -> list[EvalPlan]:
    rng = _stream(seed, 2, 0)
    ids = _identity_cycle(rng)
    per_identity: dict[int, int] = {}  # Celeb-real videos so far, for the <nnnn> index
    plans: list[EvalPlan] = []
    celeb: dict[str, list[EvalPlan]] = {"test": [], "train": []}
    k = 0
    for split in ("test", "train"):
        for _ in range(getattr(counts, f"{split}_celeb")):
            who = next(ids)
            nnnn = per_identity.get(who, 0)
            per_identity[who] = nnnn + 1
            name = f"id{who}_{nnnn:04d}.mp4"
            video = _real_video(
                _stream(seed, 2, 1, k), who, CELEBDF_CELEB_DIR, name, size, fps, seconds
            )
            plan = EvalPlan(CELEBDF, split, CELEBDF_CELEB_DIR, "none", video)
            celeb[split].append(plan)
            plans.append(plan)
            k += 1
    j = 0
    for split in ("test", "train"):
        for _ in range(getattr(counts, f"{split}_youtube")):
            name = f"{j:05d}.mp4"
            video = _real_video(
                _stream(seed, 2, 2, j), next(ids), CELEBDF_YOUTUBE_DIR, name, size, fps, seconds
            )
            plans.append(EvalPlan(CELEBDF, split, CELEBDF_YOUTUBE_DIR, "none", video))
            j += 1
    f = 0
    for split in ("test", "train"):
        targets = celeb[split]
        used: dict[str, set[int]] = {t.relpath: set() for t in targets}
        for n in range(getattr(counts, f"{split}_fake")):
            target = targets[n % len(targets)]
            who = target.video.heads[0].identity
            frng = _stream(seed, 2, 3, f)
            free = [
                s for s in range(len(FACE_SOURCES)) if s != who and s not in used[target.relpath]
            ]
            source = int(frng.choice(free))
            used[target.relpath].add(source)
            nnnn = target.video.filename.removesuffix(".mp4").split("_")[1]
            name = f"id{who}_id{source}_{nnnn}.mp4"
            params = render.draw_clean_swap(frng)
            video = _fake_video(frng, target.video, CELEBDF_FAKE_DIR, name, source, params)
            plans.append(EvalPlan(CELEBDF, split, CELEBDF_FAKE_DIR, "clean_swap", video))
            f += 1
    return plans


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")


@dataclass(frozen=True)
class EvalLayout:
    """Every planned video plus the FF++ split files' contents."""

    plans: tuple[EvalPlan, ...]
    ffpp_splits: dict[str, list[list[str]]]

    def __post_init__(self) -> None:
        paths = [(p.dataset, p.relpath) for p in self.plans]
        if len(set(paths)) != len(paths):
            raise AssertionError("two planned videos share a path")


def plan_eval_datasets(
    *,
    seed: int = 0,
    ffpp: FFppCounts | None = None,
    celebdf: CelebDFCounts | None = None,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    min_seconds: float = 1,
    max_seconds: float = 2,
) -> EvalLayout:
    """Every video's content, drawn from ``seed``; no I/O. Arguments as build_eval_datasets."""
    ffpp = FFppCounts() if ffpp is None else ffpp
    celebdf = CelebDFCounts() if celebdf is None else celebdf
    _check_type("ffpp", ffpp, FFppCounts)
    _check_type("celebdf", celebdf, CelebDFCounts)
    check_video_options(
        dict(
            seed=seed,
            width=width,
            height=height,
            fps=fps,
            min_seconds=min_seconds,
            max_seconds=max_seconds,
        ),
        "demo.evaluation",
    )
    size, seconds = (width, height), (min_seconds, max_seconds)
    ff_plans, splits = _plan_ffpp(seed, ffpp, size, fps, seconds)
    cd_plans = _plan_celebdf(seed, celebdf, size, fps, seconds)
    return EvalLayout(tuple(ff_plans + cd_plans), splits)


# ---------------------------------------------------------------------------------------------
# Writing


def _write(plan: EvalPlan, root: Path, assets: Assets) -> EvalVideo:
    path = root / plan.dataset / plan.relpath
    crf = FFPP_CRF if plan.dataset == FFPP else CELEBDF_CRF
    video = plan.video
    n_frames = write_mp4(path, render_video(video, assets), fps=video.fps, crf=crf)
    data = path.read_bytes()
    return EvalVideo(
        dataset=plan.dataset,
        relpath=plan.relpath,
        label=plan.label,
        split=plan.split,
        method=plan.method,
        recipe=plan.recipe,
        identity=FACE_SOURCES[video.heads[0].identity].identity,
        donor=FACE_SOURCES[video.donor].identity if video.donor is not None else None,
        original=plan.original,
        artefacts=video.swap.artefacts if video.swap is not None else (),
        width=video.width,
        height=video.height,
        fps=video.fps,
        n_frames=n_frames,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def celebdf_list_text(videos: list[EvalVideo]) -> str:
    """``List_of_testing_videos.txt``: ``<1 real | 0 fake> <folder>/<file>`` per listed video."""
    listed = sorted((v for v in videos if v.split == "test"), key=lambda v: v.relpath)
    return "".join(f"{CELEBDF_LIST_LABEL[v.label]} {v.relpath}\n" for v in listed)


def build_eval_datasets(
    root: str | Path,
    *,
    seed: int = 0,
    ffpp: FFppCounts | None = None,
    celebdf: CelebDFCounts | None = None,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    min_seconds: float = 1,
    max_seconds: float = 2,
) -> EvalSummary:
    """Write ``root/ffpp/``, ``root/celebdf/`` and ``root/eval_summary.json``.

    ffpp: FaceForensics++ c23 (originals ``000.mp4``..., ``Deepfakes`` and ``NeuralTextures``
    fakes ``<target>_<source>.mp4``, ``splits/{train,val,test}.json``); celebdf: Celeb-DF v2
    (``Celeb-real``, ``YouTube-real``, ``Celeb-synthesis``, ``List_of_testing_videos.txt``).
    The tree is built next to ``root`` and moved into place when complete; an existing
    ``root`` is replaced only if it is empty or an earlier eval build.
    """
    layout = plan_eval_datasets(
        seed=seed,
        ffpp=ffpp,
        celebdf=celebdf,
        width=width,
        height=height,
        fps=fps,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
    )
    root = Path(root)
    check_replaceable(root, EVAL_SUMMARY_NAME, "the eval sets", "an earlier eval build")
    assets = Assets()
    with atomic_output_dir(root) as tmp:
        videos = tuple(_write(plan, tmp, assets) for plan in layout.plans)
        for split, pairs in layout.ffpp_splits.items():
            text = json.dumps(pairs, indent=2) + "\n"
            atomic_write_text(tmp / FFPP / "splits" / f"{split}.json", text)
        celeb = [v for v in videos if v.dataset == CELEBDF]
        atomic_write_text(tmp / CELEBDF / CELEBDF_LIST, celebdf_list_text(celeb))
        summary = EvalSummary(
            root=root,
            seed=seed,
            width=width,
            height=height,
            fps=fps,
            min_seconds=float(min_seconds),  # 1 and 1.0 must give the same summary bytes
            max_seconds=float(max_seconds),
            ffpp=FFppCounts() if ffpp is None else ffpp,
            celebdf=CelebDFCounts() if celebdf is None else celebdf,
            videos=videos,
        )
        atomic_write_text(tmp / EVAL_SUMMARY_NAME, summary.to_json())
    return summary


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m rf_models.demo.eval_sets ROOT [--seed N] [--width W] ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m rf_models.demo.eval_sets",
        description="Build the FF++- and Celeb-DF-like cross-dataset evaluation sets.",
    )
    parser.add_argument("root", type=Path, help="output directory")
    add_video_options(parser, max_seconds=2.0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        summary = build_eval_datasets(args.root, **video_options(args))
    except (ValueError, TypeError, FileExistsError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for dataset in DATASETS:
        videos = summary.dataset_videos(dataset)
        for split in sorted({v.split for v in videos}):
            chosen = [v for v in videos if v.split == split]
            fakes = sum(v.label == "FAKE" for v in chosen)
            print(f"{dataset} {split}: {len(chosen)} videos, {fakes} FAKE")
    print(f"built {args.root} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
