"""A small synthetic DFDC-like dataset built from face photos that ship inside packages.

REAL videos move one identity's head over a generated background (pan, zoom, small rotation,
lighting drift, noise). Each FAKE reuses a REAL's motion, background and noise exactly and
swaps the inner face for another identity's (landmark-aligned, colour-matched, feathered),
with artefacts drawn per video. Awkward cases (1080p, portrait, two faces, no face, truncated,
zero-byte, missing, unlisted) are spread over the parts. Same arguments, same bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import string
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rf_models.config import validate_section
from rf_models.demo import render
from rf_models.demo.faces import FACE_SOURCES, TEXTURE_SOURCES, load_photo, load_texture
from rf_models.demo.mp4 import write_mp4
from rf_models.demo.summary_file import (
    check_replaceable,
    read_summary,
    summary_dict,
    summary_text,
)
from rf_models.io_utils import atomic_output_dir, atomic_write_bytes, atomic_write_text

SUMMARY_NAME = "demo_summary.json"
SUMMARY_VERSION = 1
PART_PREFIX = "dfdc_train_part_"

# Awkward cases in the order they are dealt to parts (case i goes to part i % n_parts).
AWKWARD_CASES: tuple[str, ...] = (
    "landscape_1080p",
    "portrait_1080p",
    "two_faces",
    "no_face",
    "truncated",
    "zero_byte",
    "missing_file",
    "not_in_metadata",
)
# The manifest status (rf_models.data.manifest.STATUSES) each case should end with; "no_face"
# is decided by tracking, extraction alone reports the no-face video as "ok".
EXPECTED_STATUS = {
    "truncated": "partial",
    "zero_byte": "empty_file",
    "missing_file": "missing",
    "not_in_metadata": "not_in_metadata",
    "no_face": "no_face",
}
LARGE_SIZES = {"landscape_1080p": (1920, 1080), "portrait_1080p": (1080, 1920)}
LARGE_MAX_SECONDS = 1.0
REAL_FRACTION = 0.35  # of a part's ordinary videos; the rest are FAKEs of them


@dataclass(frozen=True)
class DemoVideo:
    """One metadata entry and/or file of the demo dataset, and what it holds."""

    part: str
    filename: str
    case: str  # "normal" or one of AWKWARD_CASES
    label: str | None  # "REAL" / "FAKE"; None for the file missing from metadata.json
    original: str | None  # a FAKE's REAL, in the same part
    in_metadata: bool
    on_disk: bool
    decodable: str  # "full", "partial" (truncated), "none" (zero bytes), "absent" (no file)
    expected_status: str  # see EXPECTED_STATUS
    width: int  # 0 where nothing was encoded
    height: int
    fps: int
    n_frames: int  # frames encoded, before any truncation
    n_faces: int
    identities: tuple[str, ...]  # heads shown (a FAKE's target heads)
    donor: str | None  # identity whose face a FAKE shows
    artefacts: tuple[str, ...]
    size_bytes: int
    sha256: str | None

    @property
    def relpath(self) -> str:
        return f"{self.part}/{self.filename}"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo_dataset` wrote; also saved as ``<root>/demo_summary.json``."""

    root: Path
    seed: int
    n_parts: int
    videos_per_part: int
    width: int
    height: int
    fps: int
    min_seconds: float
    max_seconds: float
    awkward: bool
    parts: tuple[str, ...]
    videos: tuple[DemoVideo, ...]
    identities: tuple[str, ...] = field(default=tuple(s.identity for s in FACE_SOURCES))

    @property
    def cases(self) -> dict[str, DemoVideo]:
        """Awkward case name -> its video."""
        return {v.case: v for v in self.videos if v.case != "normal"}

    def part_videos(self, part: str) -> list[DemoVideo]:
        return [v for v in self.videos if v.part == part]

    def to_dict(self) -> dict:
        """JSON-ready dict; the root is left out so the file does not depend on where it is."""
        data = summary_dict(self, SUMMARY_VERSION)
        data["cases"] = {case: v.relpath for case, v in self.cases.items()}
        return data

    def to_json(self) -> str:
        return summary_text(self.to_dict())


def load_demo_summary(root: str | Path) -> DemoSummary:
    """Read ``<root>/demo_summary.json`` written by :func:`build_demo_dataset`."""
    root = Path(root)
    path = root / SUMMARY_NAME
    data = read_summary(path, SUMMARY_VERSION, "demo summary", "a demo dataset")
    try:
        videos = tuple(
            DemoVideo(
                **{
                    **v,
                    "identities": tuple(v["identities"]),
                    "artefacts": tuple(v["artefacts"]),
                }
            )
            for v in data["videos"]
        )
        scalars = {
            k: data[k]
            for k in (
                "seed",
                "n_parts",
                "videos_per_part",
                "width",
                "height",
                "fps",
                "min_seconds",
                "max_seconds",
                "awkward",
            )
        }
        return DemoSummary(
            root=root,
            parts=tuple(data["parts"]),
            videos=videos,
            identities=tuple(data["identities"]),
            **scalars,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed demo summary: {exc!r}") from exc


# ---------------------------------------------------------------------------------------------
# Planning (pure)


@dataclass(frozen=True)
class PlannedHead:
    """One head of a planned video: which identity, moving how."""

    identity: int  # index into FACE_SOURCES
    motion: render.Motion


@dataclass(frozen=True)
class VideoPlan:
    """Everything needed to render one video (or to write its stand-in for awkward cases)."""

    part: str
    filename: str
    case: str
    label: str | None
    original: str | None
    width: int
    height: int
    fps: int
    n_frames: int
    heads: tuple[PlannedHead, ...] = ()
    scene: render.Scene | None = None
    donor: int | None = None
    swap: render.Manipulation | None = None  # build_demo_dataset draws SwapParams only
    swap_seed: int = 0

    @property
    def encoded(self) -> bool:
        return self.case not in ("zero_byte", "missing_file")


def part_name(index: int) -> str:
    return f"{PART_PREFIX}{index}"


def awkward_cases_by_part(n_parts: int) -> list[list[str]]:
    """The awkward cases each part holds (case i goes to part i % n_parts)."""
    out: list[list[str]] = [[] for _ in range(n_parts)]
    for i, case in enumerate(AWKWARD_CASES):
        out[i % n_parts].append(case)
    return out


def check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_video_options(options: dict, where: str = "demo") -> None:
    """Video arguments (seed, size, fps, seconds...) against the config schema's
    ``demo_dataset`` (the one contract, rf_models/schemas/config.schema.yaml), then the rule
    across keys: max_seconds >= min_seconds. ``where`` names them in errors."""
    validate_section(options, "demo_dataset", where, fill_defaults=False)
    for key in ("min_seconds", "max_seconds"):
        if not math.isfinite(options[key]):  # NaN passes every bound of a schema
            raise ValueError(f"config key {where}.{key}: expected a number, found {options[key]}")
    if options["max_seconds"] < options["min_seconds"]:
        raise ValueError(
            f"config key {where}.max_seconds: {options['max_seconds']} must be >= "
            f"min_seconds ({options['min_seconds']})"
        )


def check_demo_options(n_parts: int, options: dict) -> None:
    """The demo's arguments (:func:`check_video_options`), and room in every part for its
    awkward cases plus a REAL and a FAKE."""
    check_int("n_parts", n_parts, 1)
    check_video_options(options)
    if options["awkward"]:
        cases = awkward_cases_by_part(n_parts)
        busiest = max(range(n_parts), key=lambda k: len(cases[k]))
        needed = len(cases[busiest]) + 2
        if options["videos_per_part"] < needed:
            raise ValueError(
                f"videos_per_part={options['videos_per_part']} is too small: with "
                f"n_parts={n_parts}, {part_name(busiest)} holds {len(cases[busiest])} awkward "
                f"cases ({', '.join(cases[busiest])}) plus at least one REAL and one FAKE, so "
                f"it needs videos_per_part >= {needed} (or awkward=False)"
            )


def _video_names(seed: int, count: int) -> list[str]:
    """DFDC-style names: ten random lowercase letters, unique."""
    rng = np.random.default_rng([seed, 0x6E616D65])
    letters = np.array(list(string.ascii_lowercase))
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "".join(rng.choice(letters, 10)) + ".mp4"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _real_plan(
    rng: np.random.Generator,
    id_cycle: Iterator[int],
    part: str,
    filename: str,
    case: str,
    size: tuple[int, int],
    fps: int,
    seconds: tuple[float, float],
    n_heads: int,
) -> VideoPlan:
    """A REAL (or, for not_in_metadata, unlabelled) video with 0, 1 or 2 heads."""
    w, h = size
    if n_heads == 2:  # side by side, smaller
        layout = [((0.22, 0.30), (0.22, 0.28)), ((0.70, 0.78), (0.22, 0.28))]
        motions = [render.draw_motion(rng, w, h, x_range=x, size_range=s) for x, s in layout]
    else:
        motions = [render.draw_motion(rng, w, h) for _ in range(n_heads)]
    heads = tuple(PlannedHead(next(id_cycle), m) for m in motions)
    n_frames = max(1, int(round(rng.uniform(*seconds) * fps)))
    scene = render.draw_scene(rng, w, h)
    label = None if case == "not_in_metadata" else "REAL"
    return VideoPlan(part, filename, case, label, None, w, h, fps, n_frames, heads, scene)


def _fake_of(rng: np.random.Generator, real: VideoPlan, filename: str, case: str) -> VideoPlan:
    """A FAKE with ``real``'s motion, background and noise, its first face swapped."""
    target = real.heads[0].identity
    donor = int(rng.choice([i for i in range(len(FACE_SOURCES)) if i != target]))
    swap = render.draw_swap(rng)
    return replace(
        real,
        filename=filename,
        case=case,
        label="FAKE",
        original=real.filename,
        donor=donor,
        swap=swap,
        swap_seed=int(rng.integers(0, 2**63)),
    )


def plan_demo_dataset(
    *,
    n_parts: int = 4,
    videos_per_part: int = 16,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    min_seconds: float = 1,
    max_seconds: float = 4,
    awkward: bool = True,
) -> list[VideoPlan]:
    """Every video's content, drawn from ``seed``; no I/O. Arguments as build_demo_dataset."""
    options = dict(
        videos_per_part=videos_per_part,
        seed=seed,
        width=width,
        height=height,
        fps=fps,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        awkward=awkward,
    )
    check_demo_options(n_parts, options)
    n_ids = len(FACE_SOURCES)
    # Identities are dealt from a seeded cycle so every part sees several of them.
    id_cycle = itertools.cycle(
        int(i) for i in np.random.default_rng([seed, 0x1D]).permutation(n_ids)
    )
    cases_by_part = awkward_cases_by_part(n_parts) if awkward else [[] for _ in range(n_parts)]
    names = iter(_video_names(seed, n_parts * videos_per_part))
    plans: list[VideoPlan] = []
    for k in range(n_parts):
        rng = np.random.default_rng([seed, 0x5041, k])
        part = part_name(k)
        normal = (width, height)
        seconds = (min_seconds, max_seconds)
        short = (min(min_seconds, LARGE_MAX_SECONDS),) * 2
        cases = cases_by_part[k]
        n_normal = videos_per_part - len(cases)
        n_real = max(1, int(round(REAL_FRACTION * n_normal)))
        reals = [
            _real_plan(rng, id_cycle, part, next(names), "normal", normal, fps, seconds, 1)
            for _ in range(n_real)
        ]
        plans.extend(reals)
        plans.extend(
            _fake_of(rng, reals[f % n_real], next(names), "normal")
            for f in range(n_normal - n_real)
        )
        for case in cases:
            name = next(names)
            if case in LARGE_SIZES:
                size = LARGE_SIZES[case]
                plans.append(_real_plan(rng, id_cycle, part, name, case, size, fps, short, 1))
            elif case in ("two_faces", "no_face", "not_in_metadata"):
                n_heads = {"two_faces": 2, "no_face": 0}.get(case, 1)
                plans.append(
                    _real_plan(rng, id_cycle, part, name, case, normal, fps, seconds, n_heads)
                )
            else:  # truncated, zero_byte, missing_file: FAKE entries of the part's first REAL
                plans.append(_fake_of(rng, reals[0], name, case))
    return plans


# ---------------------------------------------------------------------------------------------
# Rendering and writing


class Assets:
    """Photos, head cut-outs and textures, loaded once per build (also by eval_sets)."""

    def __init__(self) -> None:
        photos: dict[str, np.ndarray] = {}
        self.heads: list[render.HeadPatch] = []
        for source in FACE_SOURCES:
            key = f"{source.package}/{source.relpath}"
            if key not in photos:
                photos[key] = load_photo(source)
            self.heads.append(render.cut_head(photos[key], source))
        self.textures = [load_texture(pkg, rel) for pkg, rel in TEXTURE_SOURCES]


def render_video(plan: VideoPlan, assets: Assets) -> Iterator[np.ndarray]:
    """``plan``'s frames (RGB uint8); its first head is manipulated by ``plan.swap``'s recipe."""
    assert plan.scene is not None
    w, h, scene = plan.width, plan.height, plan.scene
    canvas = render.make_background(scene, w, h, assets.textures)
    noise = render.NoiseBank(scene.noise_seed, w, h)
    heads = []
    for i, head in enumerate(plan.heads):
        native = assets.heads[head.identity]
        patch = render.resize_patch(native, head.motion.max_face_height / native.face_height)
        if i == 0 and plan.swap is not None:
            assert plan.donor is not None
            swapped = render.manipulated_head(
                patch, assets.heads[plan.donor], plan.swap, plan.swap_seed, plan.n_frames
            )
            heads.append((head.motion, swapped.frame))
        else:
            heads.append((head.motion, lambda patch=patch: patch))
    start = plan.heads[0].motion.at(0.0)[0] if plan.heads else np.zeros(2)
    pan = np.asarray(scene.pan)
    for i in range(plan.n_frames):
        t = i / (plan.n_frames - 1) if plan.n_frames > 1 else 0.0
        shift = pan * t
        if plan.heads:
            shift = shift - scene.parallax * (plan.heads[0].motion.at(t)[0] - start)
        frame = render.background_at(canvas, shift, w, h)
        for motion, patch_for_frame in heads:
            patch = patch_for_frame()
            render.composite_head(frame, patch, render.head_matrix(patch, motion, t))
        yield render.finish_frame(frame, scene, t, noise)


def _write(plan: VideoPlan, part_dir: Path, assets: Assets) -> DemoVideo:
    path = part_dir / plan.filename
    n_frames = 0
    if plan.case == "zero_byte":
        atomic_write_bytes(path, b"")
    elif plan.encoded:
        n_frames = write_mp4(path, render_video(plan, assets), fps=plan.fps)
        if plan.case == "truncated":
            data = path.read_bytes()
            atomic_write_bytes(path, data[: len(data) // 2])
    on_disk = plan.case != "missing_file"
    data = path.read_bytes() if on_disk else None
    shown = plan.encoded  # zero_byte and missing_file entries show nothing
    decodable = {"truncated": "partial", "zero_byte": "none", "missing_file": "absent"}
    return DemoVideo(
        part=plan.part,
        filename=plan.filename,
        case=plan.case,
        label=plan.label,
        original=plan.original,
        in_metadata=plan.case != "not_in_metadata",
        on_disk=on_disk,
        decodable=decodable.get(plan.case, "full"),
        expected_status=EXPECTED_STATUS.get(plan.case, "ok"),
        width=plan.width if shown else 0,
        height=plan.height if shown else 0,
        fps=plan.fps,
        n_frames=n_frames,
        n_faces=len(plan.heads) if shown else 0,
        identities=tuple(FACE_SOURCES[h.identity].identity for h in plan.heads) if shown else (),
        donor=FACE_SOURCES[plan.donor].identity if shown and plan.donor is not None else None,
        artefacts=plan.swap.artefacts if shown and plan.swap is not None else (),
        size_bytes=len(data) if data is not None else 0,
        sha256=hashlib.sha256(data).hexdigest() if data is not None else None,
    )


def build_demo_dataset(
    root: str | Path,
    *,
    n_parts: int = 4,
    videos_per_part: int = 16,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    min_seconds: float = 1,
    max_seconds: float = 4,
    awkward: bool = True,
) -> DemoSummary:
    """Write a DFDC-like demo dataset under ``root`` and return what it holds.

    ``root`` gets ``dfdc_train_part_<k>/`` (``metadata.json`` + H.264 ``.mp4``) for k in
    0..n_parts-1 and ``demo_summary.json``. videos_per_part counts every slot of a part (an
    entry, a file, or both); awkward=True deals the AWKWARD_CASES over the parts. The tree is
    built next to ``root`` and moved into place when complete; an existing ``root`` is
    replaced only if it is empty or an earlier demo dataset.
    """
    plans = plan_demo_dataset(
        n_parts=n_parts,
        videos_per_part=videos_per_part,
        seed=seed,
        width=width,
        height=height,
        fps=fps,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        awkward=awkward,
    )
    root = Path(root)
    check_replaceable(root, SUMMARY_NAME, "the demo dataset", "an earlier demo dataset")
    assets = Assets()
    parts = tuple(part_name(k) for k in range(n_parts))
    with atomic_output_dir(root) as tmp:
        videos: list[DemoVideo] = []
        for part in parts:
            part_dir = tmp / part
            part_dir.mkdir()
            written = [_write(p, part_dir, assets) for p in plans if p.part == part]
            metadata = {}
            for v in written:
                if v.in_metadata:
                    entry = {"label": v.label, "split": "train"}
                    if v.original is not None:
                        entry["original"] = v.original
                    metadata[v.filename] = entry
            atomic_write_text(part_dir / "metadata.json", json.dumps(metadata, sort_keys=True))
            videos.extend(sorted(written, key=lambda v: v.filename))
        summary = DemoSummary(
            root=root,
            seed=seed,
            n_parts=n_parts,
            videos_per_part=videos_per_part,
            width=width,
            height=height,
            fps=fps,
            min_seconds=float(min_seconds),  # 1 and 1.0 must give the same summary bytes
            max_seconds=float(max_seconds),
            awkward=awkward,
            parts=parts,
            videos=tuple(videos),
        )
        atomic_write_text(tmp / SUMMARY_NAME, summary.to_json())
    return summary
