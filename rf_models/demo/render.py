"""Pure image functions for the demo videos: head cut-outs, motion, backgrounds, face swaps.

The training demo uses draw_swap's swaps only; the cross-dataset evaluation sets
(rf_models.demo.eval_sets) add draw_clean_swap and the mouth-only MouthReenactment.

Everything here is deterministic given its inputs (random draws take a numpy Generator).
Images are float32 RGB in [0, 255] unless said otherwise; points are (x, y) in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from rf_models.demo.faces import FaceSource

# Head patch: a square of side 2 * HEAD_HALF_SIDE * face size around the face, shown through a
# feathered ellipse so only the head (face, hair, a little neck) lands on the background.
HEAD_HALF_SIDE = 1.25
HEAD_UP_SHIFT = 0.1  # patch centre sits this fraction of the face height above the box centre
HEAD_ELLIPSE = (0.72, 0.92)  # semi-axes in face sizes
HEAD_FEATHER = 0.08  # Gaussian sigma of the ellipse edge, in face sizes


@dataclass(frozen=True)
class HeadPatch:
    """A head cut from a photo: colour, opacity, and the face's box and landmarks in it."""

    rgb: np.ndarray  # (S, S, 3) float32
    alpha: np.ndarray  # (S, S) float32 in [0, 1]
    box: np.ndarray  # (4,) x1, y1, x2, y2
    landmarks: np.ndarray  # (5, 2)

    @property
    def face_height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def face_centre(self) -> np.ndarray:
        return np.array(
            [(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2], np.float64
        )


def cut_head(photo: np.ndarray, source: FaceSource) -> HeadPatch:
    """Cut ``source``'s head from ``photo`` (RGB uint8) at the photo's own resolution.

    Pixels beyond the photo's edge are replicated and made transparent, so a tightly cropped
    photo (Tom Hanks) gives a head cut at its edges instead of mirrored copies of the face.
    """
    box = np.asarray(source.box, np.float64)
    size = max(box[2] - box[0], box[3] - box[1])
    half = int(math.ceil(HEAD_HALF_SIDE * size))
    cx = (box[0] + box[2]) / 2
    cy = (box[1] + box[3]) / 2 - HEAD_UP_SHIFT * (box[3] - box[1])
    left, top = int(round(cx)) - half, int(round(cy)) - half
    side = 2 * half
    h, w = photo.shape[:2]
    pad = (max(0, -top), max(0, top + side - h), max(0, -left), max(0, left + side - w))
    padded = cv2.copyMakeBorder(photo, *pad, cv2.BORDER_REPLICATE)
    valid = cv2.copyMakeBorder(np.ones((h, w), np.float32), *pad, cv2.BORDER_CONSTANT, value=0)
    y0, x0 = top + pad[0], left + pad[2]
    rgb = padded[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
    valid = valid[y0 : y0 + side, x0 : x0 + side]
    offset = np.array([left, top], np.float64)
    patch_box = box - np.tile(offset, 2)
    landmarks = np.asarray(source.landmarks, np.float64) - offset
    ellipse = np.zeros((side, side), np.float32)
    centre = (cx - left, (box[1] + box[3]) / 2 - 0.05 * (box[3] - box[1]) - top)
    axes = (HEAD_ELLIPSE[0] * size, HEAD_ELLIPSE[1] * size)
    _fill_ellipse(ellipse, centre, axes, 0.0)
    sigma = HEAD_FEATHER * size
    alpha = cv2.GaussianBlur(ellipse, (0, 0), sigma) * cv2.GaussianBlur(valid, (0, 0), sigma)
    return HeadPatch(rgb, alpha * valid, patch_box, landmarks)


def _fill_ellipse(
    canvas: np.ndarray, centre: tuple[float, float], axes: tuple[float, float], angle: float
) -> None:
    # Sub-pixel precision: cv2.ellipse takes fixed-point coordinates with `shift` bits; its
    # anti-aliasing works on 8-bit images only.
    shift = 4
    scale = 1 << shift
    drawn = np.zeros(canvas.shape, np.uint8)
    cv2.ellipse(
        drawn,
        (int(round(centre[0] * scale)), int(round(centre[1] * scale))),
        (max(1, int(round(axes[0] * scale))), max(1, int(round(axes[1] * scale)))),
        angle,
        0,
        360,
        255,
        -1,
        cv2.LINE_AA,
        shift,
    )
    np.maximum(canvas, drawn.astype(np.float32) / 255.0, out=canvas)


def resize_patch(patch: HeadPatch, scale: float) -> HeadPatch:
    """``patch`` resampled by ``scale`` (area averaging when shrinking)."""
    side = patch.rgb.shape[0]
    new_side = max(2, int(round(side * scale)))
    if new_side == side:
        return patch
    interp = cv2.INTER_AREA if new_side < side else cv2.INTER_LINEAR
    rgb = cv2.resize(patch.rgb, (new_side, new_side), interpolation=interp)
    alpha = cv2.resize(patch.alpha, (new_side, new_side), interpolation=interp)
    s = new_side / side
    # Pixel centres map as (x + 0.5) * s - 0.5 under cv2.resize.
    box = (patch.box + 0.5) * s - 0.5
    landmarks = (patch.landmarks + 0.5) * s - 0.5
    return HeadPatch(rgb, np.clip(alpha, 0.0, 1.0), box, landmarks)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src to dst.

    Umeyama's closed form; returns a 2x3 matrix. No reflection is allowed.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"expected two (N>=2, 2) point arrays, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    if var_s <= 0:
        raise ValueError("source points are all identical")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = (sig * np.diag(fix)).sum() / var_s
    out = np.zeros((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mu_d - scale * rot @ mu_s
    return out


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


# ---------------------------------------------------------------------------------------------
# Motion


@dataclass(frozen=True)
class Motion:
    """How one head moves over a clip; a FAKE reuses its REAL's Motion unchanged."""

    centre0: tuple[float, float]  # face centre at the first frame, pixels
    centre1: tuple[float, float]  # ... at the last frame
    wobble: float  # amplitude of a sinusoidal sway, pixels
    wobble_freq: float  # cycles per clip
    wobble_phase: float
    face_height0: float  # face box height at the first frame, pixels
    zoom: float  # face height at the last frame / at the first
    angle0: float  # in-plane rotation, degrees
    angle_amp: float
    angle_freq: float
    angle_phase: float
    flip: bool  # mirror the head left-right

    def at(self, t: float) -> tuple[np.ndarray, float, float]:
        """Face centre, face height and angle at normalised time ``t`` in [0, 1]."""
        ease = t * t * (3 - 2 * t)
        c0, c1 = np.array(self.centre0), np.array(self.centre1)
        sway = self.wobble * math.sin(2 * math.pi * self.wobble_freq * t + self.wobble_phase)
        centre = c0 + (c1 - c0) * ease + np.array([sway, 0.3 * sway])
        height = self.face_height0 * self.zoom**t
        angle = self.angle0 + self.angle_amp * math.sin(
            2 * math.pi * self.angle_freq * t + self.angle_phase
        )
        return centre, height, angle

    @property
    def max_face_height(self) -> float:
        return self.face_height0 * max(1.0, self.zoom)


def draw_motion(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    x_range: tuple[float, float] = (0.38, 0.62),
    size_range: tuple[float, float] = (0.28, 0.40),
) -> Motion:
    """A random pan / zoom / small rotation for a head in a ``width`` x ``height`` frame.

    x_range: where the face starts, as a fraction of the width; size_range: its height as a
    fraction of the frame's shorter side.
    """
    base = min(width, height)
    h0 = rng.uniform(*size_range) * base
    cx0 = rng.uniform(*x_range) * width
    cy0 = rng.uniform(0.40, 0.55) * height
    cx1 = cx0 + rng.uniform(-0.10, 0.10) * width
    cy1 = cy0 + rng.uniform(-0.05, 0.05) * height
    return Motion(
        centre0=(float(cx0), float(cy0)),
        centre1=(float(cx1), float(cy1)),
        wobble=float(rng.uniform(0.0, 0.03) * base),
        wobble_freq=float(rng.uniform(0.3, 1.2)),
        wobble_phase=float(rng.uniform(0, 2 * math.pi)),
        face_height0=float(h0),
        zoom=float(math.exp(rng.uniform(math.log(0.85), math.log(1.2)))),
        angle0=float(rng.uniform(-6.0, 6.0)),
        angle_amp=float(rng.uniform(0.0, 6.0)),
        angle_freq=float(rng.uniform(0.5, 1.5)),
        angle_phase=float(rng.uniform(0, 2 * math.pi)),
        flip=bool(rng.random() < 0.5),
    )


@dataclass(frozen=True)
class Scene:
    """What surrounds the heads: background, camera pan, lighting drift and sensor noise."""

    background_seed: int
    noise_seed: int
    pan: tuple[float, float]  # background drift over the clip, pixels
    parallax: float  # background follows this fraction of the first head's motion, reversed
    gain0: float
    gain1: float
    tint: tuple[float, float, float]
    noise_sigma: float


def draw_scene(rng: np.random.Generator, width: int, height: int) -> Scene:
    base = min(width, height)
    gain0 = rng.uniform(0.85, 1.10)
    return Scene(
        background_seed=int(rng.integers(0, 2**63)),
        noise_seed=int(rng.integers(0, 2**63)),
        pan=(float(rng.uniform(-0.05, 0.05) * width), float(rng.uniform(-0.02, 0.02) * height)),
        parallax=float(rng.uniform(0.2, 0.6)),
        gain0=float(gain0),
        gain1=float(gain0 * rng.uniform(0.85, 1.15)),
        tint=tuple(float(v) for v in 1.0 + rng.uniform(-0.06, 0.06, 3)),
        noise_sigma=float(rng.uniform(1.0, 4.0) * max(1.0, base / 480) ** 0.5),
    )


BACKGROUND_MARGIN = 0.2  # the background canvas extends this fraction beyond each frame edge


def make_background(
    scene: Scene, width: int, height: int, textures: list[np.ndarray]
) -> np.ndarray:
    """A blurred, coloured, partly textured canvas larger than the frame (float32 RGB)."""
    rng = np.random.default_rng(scene.background_seed)
    cw = int(math.ceil(width * (1 + 2 * BACKGROUND_MARGIN)))
    ch = int(math.ceil(height * (1 + 2 * BACKGROUND_MARGIN)))
    base = min(width, height)
    coarse = rng.uniform(30, 225, (int(rng.integers(2, 5)), int(rng.integers(2, 5)), 3))
    canvas = cv2.resize(coarse.astype(np.float32), (cw, ch), interpolation=cv2.INTER_CUBIC)
    if textures:
        tex = textures[int(rng.integers(len(textures)))]
        scale = rng.uniform(0.4, 1.2) * base / 240
        tex = cv2.resize(tex, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        reps = (ch // tex.shape[0] + 1, cw // tex.shape[1] + 1)
        tiled = np.tile(tex, reps)[:ch, :cw]
        colour = rng.uniform(60, 230, 3).astype(np.float32)
        weight = float(rng.uniform(0.2, 0.55))
        canvas = canvas * (1 - weight) + (tiled[..., None] * colour) * weight
    for _ in range(int(rng.integers(2, 6))):
        x0, x1 = sorted(rng.uniform(0, cw, 2))
        y0, y1 = sorted(rng.uniform(0, ch, 2))
        colour = tuple(float(v) for v in rng.uniform(20, 235, 3))
        cv2.rectangle(canvas, (int(x0), int(y0)), (int(x1), int(y1)), colour, -1)
    sigma = rng.uniform(1.5, 5.0) * base / 240
    return np.clip(cv2.GaussianBlur(canvas, (0, 0), sigma), 0, 255).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Face swap


@dataclass(frozen=True)
class SwapParams:
    """How a FAKE's face is swapped in, and which artefacts the swap leaves."""

    mask_scale: float  # size of the replaced face region, relative to the default ellipse
    feather: float  # mask edge blur, Gaussian sigma in face heights
    colour_strength: float  # 1: donor's LAB mean/std fully matched to the target's
    resolution: float | None  # donor detail limited to this fraction of the face resolution
    blur: float | None  # extra Gaussian blur of the donor, sigma in pixels of the video
    seam: float | None  # brightness step along the mask boundary (signed, 0-255 units)
    jitter: float | None  # per-frame misalignment of the donor (flicker), pixels

    @property
    def artefacts(self) -> tuple[str, ...]:
        names = []
        for name in ("resolution", "blur", "seam", "jitter"):
            if getattr(self, name) is not None:
                names.append(name)
        if self.colour_strength < 0.8:
            names.append("colour")
        return tuple(names)


def draw_swap(rng: np.random.Generator) -> SwapParams:
    """Random swap settings: every fake has at least one of resolution loss, blur or seam."""
    resolution = float(rng.uniform(0.3, 0.6)) if rng.random() < 0.65 else None
    blur = float(rng.uniform(0.6, 1.5)) if rng.random() < 0.5 else None
    seam = float(rng.uniform(8, 20) * rng.choice([-1.0, 1.0])) if rng.random() < 0.4 else None
    if resolution is None and blur is None and seam is None:
        resolution = float(rng.uniform(0.3, 0.6))
    return SwapParams(
        mask_scale=float(rng.uniform(0.9, 1.1)),
        feather=float(rng.uniform(0.025, 0.08)),
        colour_strength=float(rng.uniform(0.5, 1.0)),
        resolution=resolution,
        blur=blur,
        seam=seam,
        jitter=float(rng.uniform(0.5, 1.5)) if rng.random() < 0.5 else None,
    )


def face_region_mask(patch: HeadPatch, mask_scale: float) -> np.ndarray:
    """Binary ellipse over the inner face (brows to chin) from the patch's landmarks."""
    lm = patch.landmarks
    eyes = (lm[0] + lm[1]) / 2
    mouth = (lm[3] + lm[4]) / 2
    d = float(np.linalg.norm(mouth - eyes))
    eye_dist = float(np.linalg.norm(lm[1] - lm[0]))
    centre = eyes * 0.4 + mouth * 0.6
    up = eyes - mouth
    angle = math.degrees(math.atan2(up[0], -up[1]))  # tilt of the face's vertical axis
    axes = (max(0.95 * eye_dist, 0.8 * d) * mask_scale, 1.25 * d * mask_scale)
    side = patch.rgb.shape[0]
    mask = np.zeros((side, side), np.float32)
    _fill_ellipse(mask, (float(centre[0]), float(centre[1])), axes, angle)
    return mask


def _match_colour(
    donor: np.ndarray, target: np.ndarray, region: np.ndarray, strength: float
) -> np.ndarray:
    inside = region > 0.5
    d_lab = cv2.cvtColor(np.clip(donor, 0, 255) / 255.0, cv2.COLOR_RGB2Lab)
    t_lab = cv2.cvtColor(np.clip(target, 0, 255) / 255.0, cv2.COLOR_RGB2Lab)
    d_mu, d_sd = d_lab[inside].mean(0), d_lab[inside].std(0)
    t_mu, t_sd = t_lab[inside].mean(0), t_lab[inside].std(0)
    # A greyscale donor has ~0 chroma spread; the floor keeps the ratio finite.
    matched = (d_lab - d_mu) * (t_sd / np.maximum(d_sd, 1.0)) + t_mu
    lab = d_lab + strength * (matched - d_lab)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB) * 255.0, 0, 255)


class SwappedHead:
    """A target head with a donor's inner face blended in, per frame (the swap may flicker)."""

    def __init__(
        self,
        target: HeadPatch,
        donor: HeadPatch,
        params: SwapParams,
        jitter_seed: int,
    ) -> None:
        self.target = target
        self.params = params
        self._rng = np.random.default_rng(jitter_seed)
        side = target.rgb.shape[0]
        matrix = similarity_transform(donor.landmarks, target.landmarks)
        scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        if scale < 1.0:
            # Shrink first with area averaging: warpAffine alone would alias.
            donor = resize_patch(donor, scale)
            matrix = similarity_transform(donor.landmarks, target.landmarks)
        warped = cv2.warpAffine(
            donor.rgb,
            matrix,
            (side, side),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        region = face_region_mask(target, params.mask_scale)
        face = _match_colour(warped, target.rgb, region, params.colour_strength)
        face_h = target.face_height
        if params.resolution is not None:
            small = max(4, int(round(side * params.resolution)))
            face = cv2.resize(face, (small, small), interpolation=cv2.INTER_AREA)
            face = cv2.resize(face, (side, side), interpolation=cv2.INTER_LINEAR)
        if params.blur is not None:
            face = cv2.GaussianBlur(face, (0, 0), params.blur)
        self._face = face.astype(np.float32)
        self._mask = cv2.GaussianBlur(region, (0, 0), max(0.3, params.feather * face_h))
        if params.seam is not None:
            width = max(1, int(round(0.03 * face_h)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
            ring = cv2.dilate(region, kernel) - cv2.erode(region, kernel)
            self._seam = cv2.GaussianBlur(ring, (0, 0), 0.5)[..., None] * params.seam
        else:
            self._seam = None

    def frame(self) -> HeadPatch:
        """The swapped head for the next frame."""
        face, mask = self._face, self._mask
        if self.params.jitter is not None:
            dx, dy = np.clip(self._rng.normal(0, self.params.jitter, 2), -3, 3)
            shift = np.array([[1, 0, dx], [0, 1, dy]], np.float64)
            side = face.shape[0]
            face = cv2.warpAffine(
                face,
                shift,
                (side, side),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            mask = cv2.warpAffine(mask, shift, (side, side), flags=cv2.INTER_LINEAR)
        m = mask[..., None]
        rgb = face * m + self.target.rgb * (1 - m)
        if self._seam is not None:
            rgb = rgb + self._seam
        return HeadPatch(
            np.clip(rgb, 0, 255), self.target.alpha, self.target.box, self.target.landmarks
        )


def draw_clean_swap(rng: np.random.Generator) -> SwapParams:
    """A swap with none of draw_swap's artefacts: the Celeb-DF stand-in (evaluation only).

    Colour fully matched, a wide feather and a slightly larger region, and no resolution
    loss, blur, seam or flicker; draw_swap always leaves at least one of those, so training
    never sees a swap this clean.
    """
    return SwapParams(
        mask_scale=float(rng.uniform(1.0, 1.12)),
        feather=float(rng.uniform(0.09, 0.13)),
        colour_strength=1.0,
        resolution=None,
        blur=None,
        seam=None,
        jitter=None,
    )


@dataclass(frozen=True)
class MouthParams:
    """A mouth-only re-rendering (the NeuralTextures stand-in, evaluation only).

    Only an ellipse around the mouth changes: the source's mouth, aligned on the nose and
    mouth corners, colour-matched, rendered at reduced detail and opened and closed over the
    clip. Eyes, brows, nose and face outline stay the target's.
    """

    mask_scale: float  # size of the mouth ellipse, relative to mouth_region_mask's default
    feather: float  # mask edge blur, Gaussian sigma in face heights
    detail: float  # the mouth's detail, as a fraction of the face resolution
    open_amp: float  # peak stretch of the mouth along the face's vertical axis (fraction)
    open_freq: float  # opening cycles per clip
    open_phase: float

    @property
    def artefacts(self) -> tuple[str, ...]:
        return ("mouth_region", "mouth_detail", "mouth_motion")


def draw_mouth(rng: np.random.Generator) -> MouthParams:
    return MouthParams(
        mask_scale=float(rng.uniform(0.95, 1.1)),
        feather=float(rng.uniform(0.03, 0.05)),
        detail=float(rng.uniform(0.4, 0.6)),
        open_amp=float(rng.uniform(0.12, 0.25)),
        open_freq=float(rng.uniform(1.0, 2.5)),
        open_phase=float(rng.uniform(0, 2 * math.pi)),
    )


def _face_axes(patch: HeadPatch) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Eye midpoint, mouth midpoint, eye-to-mouth distance and the face axis' tilt (degrees)."""
    lm = patch.landmarks
    eyes = (lm[0] + lm[1]) / 2
    mouth = (lm[3] + lm[4]) / 2
    up = eyes - mouth
    return eyes, mouth, float(np.linalg.norm(up)), math.degrees(math.atan2(up[0], -up[1]))


def mouth_region_mask(patch: HeadPatch, mask_scale: float) -> np.ndarray:
    """Binary ellipse around the mouth (below the nose tip, above the chin)."""
    eyes, mouth, d, angle = _face_axes(patch)
    width = float(np.linalg.norm(patch.landmarks[4] - patch.landmarks[3]))
    centre = mouth + 0.08 * (mouth - eyes)
    axes = (max(0.8 * width, 0.45 * d) * mask_scale, 0.42 * d * mask_scale)
    side = patch.rgb.shape[0]
    mask = np.zeros((side, side), np.float32)
    _fill_ellipse(mask, (float(centre[0]), float(centre[1])), axes, angle)
    return mask


class MouthReenactment:
    """A target head whose mouth region is re-rendered from a source, frame by frame."""

    def __init__(
        self, target: HeadPatch, source: HeadPatch, params: MouthParams, n_frames: int
    ) -> None:
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        self.target = target
        self.params = params
        self._n_frames = n_frames
        self._index = 0
        side = target.rgb.shape[0]
        # Nose tip and mouth corners only: the source's mouth lands on the target's mouth.
        points = [2, 3, 4]
        matrix = similarity_transform(source.landmarks[points], target.landmarks[points])
        scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        if scale < 1.0:
            source = resize_patch(source, scale)
            matrix = similarity_transform(source.landmarks[points], target.landmarks[points])
        warped = cv2.warpAffine(
            source.rgb,
            matrix,
            (side, side),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        region = mouth_region_mask(target, params.mask_scale)
        mouth = _match_colour(warped, target.rgb, region, 1.0)
        small = max(4, int(round(side * params.detail)))
        mouth = cv2.resize(mouth, (small, small), interpolation=cv2.INTER_AREA)
        self._mouth = cv2.resize(mouth, (side, side), interpolation=cv2.INTER_LINEAR)
        face_h = target.face_height
        self._mask = cv2.GaussianBlur(region, (0, 0), max(0.3, params.feather * face_h))[..., None]
        eyes, centre, d, _ = _face_axes(target)
        self._centre = centre
        self._down = (centre - eyes) / max(d, 1e-6)

    def opening(self, index: int) -> float:
        """The mouth's stretch factor at frame ``index`` (1 = as aligned)."""
        t = index / (self._n_frames - 1) if self._n_frames > 1 else 0.0
        p = self.params
        return 1.0 + p.open_amp * 0.5 * (1 - math.cos(2 * math.pi * p.open_freq * t + p.open_phase))

    def frame(self) -> HeadPatch:
        """The re-rendered head for the next frame."""
        stretch = self.opening(self._index)
        self._index += 1
        u = self._down[:, None]
        linear = np.eye(2) + (stretch - 1) * (u @ u.T)  # stretch along the face's vertical
        matrix = np.hstack([linear, (self._centre - linear @ self._centre)[:, None]])
        side = self._mouth.shape[0]
        mouth = cv2.warpAffine(
            self._mouth,
            matrix,
            (side, side),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        rgb = mouth * self._mask + self.target.rgb * (1 - self._mask)
        return HeadPatch(
            np.clip(rgb, 0, 255), self.target.alpha, self.target.box, self.target.landmarks
        )


Manipulation = SwapParams | MouthParams


def manipulated_head(
    target: HeadPatch, donor: HeadPatch, params: Manipulation, seed: int, n_frames: int
) -> SwappedHead | MouthReenactment:
    """The per-frame head maker for ``params``' recipe (``seed`` drives a swap's flicker)."""
    if isinstance(params, SwapParams):
        return SwappedHead(target, donor, params, seed)
    if isinstance(params, MouthParams):
        return MouthReenactment(target, donor, params, n_frames)
    raise TypeError(f"expected SwapParams or MouthParams, got {type(params).__name__}")


# ---------------------------------------------------------------------------------------------
# Frame composition


def head_matrix(patch: HeadPatch, motion: Motion, t: float) -> np.ndarray:
    """2x3 matrix placing ``patch``'s face where ``motion`` has it at time ``t``."""
    centre, face_h, angle = motion.at(t)
    s = face_h / patch.face_height
    a = math.radians(angle)
    rot = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    if motion.flip:
        rot = rot @ np.diag([-1.0, 1.0])
    out = np.zeros((2, 3))
    out[:, :2] = rot
    out[:, 2] = centre - rot @ patch.face_centre
    return out


def composite_head(frame: np.ndarray, patch: HeadPatch, matrix: np.ndarray) -> None:
    """Alpha-blend ``patch`` warped by ``matrix`` into ``frame`` in place (only its bbox)."""
    side = patch.rgb.shape[0]
    corners = apply_affine(matrix, np.array([[0, 0], [side, 0], [0, side], [side, side]]))
    h, w = frame.shape[:2]
    x0 = max(0, int(math.floor(corners[:, 0].min())))
    y0 = max(0, int(math.floor(corners[:, 1].min())))
    x1 = min(w, int(math.ceil(corners[:, 0].max())) + 1)
    y1 = min(h, int(math.ceil(corners[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    local = matrix.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    rgb = cv2.warpAffine(patch.rgb, local, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(patch.alpha, local, size, flags=cv2.INTER_LINEAR)[..., None]
    roi = frame[y0:y1, x0:x1]
    roi *= 1 - alpha
    roi += rgb * alpha


def background_at(canvas: np.ndarray, shift: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame-sized view of ``canvas`` moved by ``shift`` pixels from its centre."""
    ox = (canvas.shape[1] - width) / 2 + shift[0]
    oy = (canvas.shape[0] - height) / 2 + shift[1]
    matrix = np.array([[1, 0, -ox], [0, 1, -oy]], np.float64)
    return cv2.warpAffine(
        canvas, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


class NoiseBank:
    """Sensor noise for a clip: one Gaussian field, a randomly shifted window of it per frame.

    Drawing a fresh field per frame costs more than rendering the frame itself.
    """

    MARGIN = 24

    def __init__(self, seed: int, width: int, height: int) -> None:
        self._rng = np.random.default_rng(seed)
        shape = (height + self.MARGIN, width + self.MARGIN, 3)
        self._field = self._rng.standard_normal(shape, dtype=np.float32)
        self._size = (height, width)

    def next(self) -> np.ndarray:
        dy, dx = (int(v) for v in self._rng.integers(0, self.MARGIN + 1, 2))
        h, w = self._size
        return self._field[dy : dy + h, dx : dx + w]


def finish_frame(frame: np.ndarray, scene: Scene, t: float, noise: NoiseBank) -> np.ndarray:
    """Lighting drift and sensor noise; returns RGB uint8."""
    gain = scene.gain0 + (scene.gain1 - scene.gain0) * t
    frame *= np.asarray(scene.tint, np.float32) * np.float32(gain)
    frame += noise.next() * np.float32(scene.noise_sigma)
    frame += np.float32(0.5)
    np.clip(frame, 0, 255, out=frame)
    return frame.astype(np.uint8)
