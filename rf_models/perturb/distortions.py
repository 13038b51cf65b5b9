"""The six per-frame DeeperForensics-1.0 distortions (CS, CC, BW, GNC, GB, JPEG) on BGR uint8
frames, computed as ``perturbation/distortions.py`` of DeeperForensics-1.0 computes them, and
:func:`apply_frame`, which applies one :class:`~rf_models.perturb.protocol.Perturbation`.

Every function returns a new array and leaves its input untouched (the source's block-wise
distortion writes into the frame it is given). Randomness (block positions, noise) comes from
the ``numpy.random.Generator`` passed in, so a seeded generator reproduces a result. Given the
same standard-normal draws, :func:`gaussian_noise_color` matches the source value for value;
the float32 arithmetic and the truncating casts of the source are kept on purpose, since
they decide the last unit of many pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from rf_models.perturb.protocol import Perturbation

BLOCK_SIZE = 8  # side of a block-wise square, pixels
BLOCK_VALUE = 128  # grey written into every channel of a block
BLOCK_UNIT = 256  # blocks scale with whole multiples of this many pixels of the shorter side


def check_frame(image: object) -> np.ndarray:
    """``image`` if it is a BGR uint8 array of shape ``(H, W, 3)``, else a clear error."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array (H, W, 3) uint8 BGR frame, got {type(image)}")
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 BGR frame, got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(
            f"expected a BGR frame of shape (H, W, 3) with H, W > 0, got {image.shape}"
        )
    return image


# The source's colour space: OpenCV's float YCrCb (luma in 0..255, chroma centred on 0.5, as
# the float path always offsets chroma by 0.5), reordered to Y, Cb, Cr, and then mapped with
# the 8-bit studio-swing formulas (x * 219 + 16) / 255 and (x * 224 + 16) / 255. The source
# meant inputs in [0, 1]; frames are 0..255, so values land near the studio code values.
def _to_ycbcr(image: np.ndarray) -> np.ndarray:
    ycrcb = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_BGR2YCrCb)
    ycbcr = ycrcb[:, :, (0, 2, 1)]  # fancy indexing copies: safe to write into
    ycbcr[:, :, 0] = (ycbcr[:, :, 0] * (235 - 16) + 16) / 255.0
    ycbcr[:, :, 1:] = (ycbcr[:, :, 1:] * (240 - 16) + 16) / 255.0
    return ycbcr


def _from_ycbcr(ycbcr: np.ndarray) -> np.ndarray:
    """Float32 BGR, not clipped, from the space of :func:`_to_ycbcr`."""
    values = ycbcr.astype(np.float32)  # always a copy
    values[:, :, 0] = (values[:, :, 0] * 255.0 - 16) / (235 - 16)
    values[:, :, 1:] = (values[:, :, 1:] * 255.0 - 16) / (240 - 16)
    return cv2.cvtColor(values[:, :, (0, 2, 1)], cv2.COLOR_YCrCb2BGR)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    # The source casts with astype(uint8): truncation toward zero. Its values stay inside
    # (-1, 256), where clipping first changes nothing but keeps the cast defined.
    return np.clip(values, 0, 255).astype(np.uint8)


def color_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """CS: both chroma components scaled by ``factor`` around 0.5 in the source's YCbCr
    space; 0 leaves grey (B = G = R = luma, truncated). The true zero-chroma point of that
    space is 128/255, so the source's centre 0.5 sits 0.0022 below it in OpenCV's chroma
    units: under 0.004 in any channel, which the truncating cast can turn into one unit."""
    ycbcr = _to_ycbcr(check_frame(image))
    ycbcr[:, :, 1:] = 0.5 + (ycbcr[:, :, 1:] - 0.5) * factor
    return _to_uint8(_from_ycbcr(ycbcr))


def color_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """CC: every value multiplied by ``factor`` in float32 and truncated. For the protocol's
    factors this is exactly floor(value x factor) for all 256 values (no product lands just
    under an integer); all factors are below 1, so nothing overflows."""
    scaled = check_frame(image).astype(np.float32) * np.float32(factor)
    return _to_uint8(scaled)


def block_count(height: int, width: int, param: int) -> int:
    """Number of BW blocks: ``param`` per whole 256 pixels of the shorter side (none below
    256, four times ``param`` for 1080p)."""
    return min(height, width) // BLOCK_UNIT * param


def block_corners(height: int, width: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` block top-left corners ``(row, col)``, uniform as in the source: rows in
    0..H-9 and columns in 0..W-9 (the source's ``randint(0, size - 1 - 8)``, so the last row
    and column are never covered). Blocks may overlap, as in the source."""
    if count == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if height <= BLOCK_SIZE or width <= BLOCK_SIZE:
        raise ValueError(
            f"expected a frame larger than {BLOCK_SIZE}x{BLOCK_SIZE} for {count} blocks, "
            f"got {height}x{width}"
        )
    # the source draws the column first, then the row, block by block
    cols = rng.integers(0, width - BLOCK_SIZE, size=count)
    rows = rng.integers(0, height - BLOCK_SIZE, size=count)
    return np.stack([rows, cols], axis=1)


def block_wise(image: np.ndarray, param: int, rng: np.random.Generator) -> np.ndarray:
    """BW: :func:`block_count` squares of 8x8 pixels set to grey 128, at
    :func:`block_corners`."""
    out = check_frame(image).copy()
    height, width = out.shape[:2]
    for row, col in block_corners(height, width, block_count(height, width, param), rng):
        out[row : row + BLOCK_SIZE, col : col + BLOCK_SIZE] = BLOCK_VALUE
    return out


def gaussian_noise_color(
    image: np.ndarray, variance: float, rng: np.random.Generator
) -> np.ndarray:
    """GNC: white Gaussian noise of ``variance`` added independently to Y, Cb and Cr in the
    source's YCbCr space divided by 255, then back to BGR, clipped to 0..255 and truncated.

    In 8-bit units the noise's standard deviation is 255 * sqrt(variance) studio-swing code
    values, that is 255 * sqrt(variance) * 255/219 full-range luma and 255/224 times it in
    OpenCV's chroma (9.4 luma units at level 1, 66 at level 5).
    """
    ycbcr = _to_ycbcr(check_frame(image)) / 255
    noise = rng.standard_normal(ycbcr.shape)  # float64, as the source's np.random.randn
    noisy = (ycbcr + math.sqrt(variance) * noise) * 255
    return _to_uint8(_from_ycbcr(noisy))


def gaussian_blur(image: np.ndarray, kernel: int) -> np.ndarray:
    """GB: OpenCV Gaussian blur, ``kernel`` x ``kernel``, sigma ``kernel / 6``, OpenCV's
    default border (reflect-101)."""
    return cv2.GaussianBlur(check_frame(image), (kernel, kernel), kernel * 1.0 / 6)


def jpeg_compression(image: np.ndarray, factor: int) -> np.ndarray:
    """JPEG (as the source defines it: no JPEG coding): resized to ``(W // factor,
    H // factor)`` and back to ``(W, H)``, both bilinear (OpenCV's default ``INTER_LINEAR``)."""
    height, width = check_frame(image).shape[:2]
    if height < factor or width < factor:
        raise ValueError(
            f"expected a frame of at least {factor}x{factor} pixels for JPEG factor {factor}, "
            f"got {height}x{width}"
        )
    small = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def apply_frame(
    image: np.ndarray, perturbation: Perturbation, rng: np.random.Generator | None = None
) -> np.ndarray:
    """``image`` (BGR uint8, ``(H, W, 3)``) under a per-frame ``perturbation``; BW and GNC
    draw from ``rng``, which they require. VC needs the clip: see
    :func:`rf_models.perturb.video.perturb_frames`."""
    if not isinstance(perturbation, Perturbation):
        raise TypeError(f"expected a Perturbation, got {type(perturbation).__name__}")
    check_frame(image)
    code, param = perturbation.type, perturbation.param
    if code in ("BW", "GNC") and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{perturbation.name} is random: expected a numpy.random.Generator, got {rng!r}"
        )
    if code == "CS":
        return color_saturation(image, param)
    if code == "CC":
        return color_contrast(image, param)
    if code == "BW":
        return block_wise(image, param, rng)
    if code == "GNC":
        return gaussian_noise_color(image, param, rng)
    if code == "GB":
        return gaussian_blur(image, param)
    if code == "JPEG":
        return jpeg_compression(image, param)
    raise ValueError(
        f"{perturbation.name} compresses the whole clip, not one frame: use perturb_frames "
        "or compress_video"
    )
