"""The six per-frame distortions, each checked against its definition with independent
arithmetic (BT.601 luma/chroma written out here, exact fractions, OpenCV called directly),
plus a few values the DeeperForensics-1.0 source itself gives."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from rf_models.perturb import distortions as d
from rf_models.perturb.protocol import PARAMETERS, Perturbation, perturbation_rng


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _luma_chroma(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-range BT.601 Y and OpenCV's Cb, Cr scale (zero for grey) of a BGR image."""
    b, g, r = (image[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return y, 0.564 * (b - y), 0.713 * (r - y)


@pytest.fixture(scope="module")
def colourful() -> np.ndarray:
    return _rng(1).integers(0, 256, (96, 128, 3), dtype=np.uint8)


# ---- CS ----------------------------------------------------------------------------------


def test_cs_level5_leaves_luma_grey(colourful):
    out = d.apply_frame(colourful, Perturbation("CS", 5))
    y, _, _ = _luma_chroma(colourful)
    values = out.astype(np.float64)
    # no chroma: every channel is the input luma, truncated (the source casts, not rounds)
    assert np.all(values <= y[..., None] + 0.01)
    assert np.all(values > y[..., None] - 1.01)
    assert np.abs(np.diff(values, axis=2)).max() <= 1


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_cs_scales_chroma_by_the_level_factor(colourful, level):
    factor = PARAMETERS["CS"][level - 1]
    out = d.apply_frame(colourful, Perturbation("CS", level))
    y_in, cb_in, cr_in = _luma_chroma(colourful)
    y_out, cb_out, cr_out = _luma_chroma(out)
    # truncating each channel moves Y by < 1 and the chroma by < 1.2
    assert np.abs(y_out - y_in).max() < 1.0
    assert np.abs(cb_out - factor * cb_in).max() < 1.2
    assert np.abs(cr_out - factor * cr_in).max() < 1.2
    # the input is saturated enough that the next factor would be far off
    assert np.abs(cb_out - (factor + 0.1) * cb_in).max() > 5


def test_cs_matches_values_of_the_source():
    # color_saturation of perturbation/distortions.py on these pixels: grey and white lose a
    # unit in B and R (the chroma centre 0.5 sits just below the true 128/255, then truncation)
    pixels = np.array(
        [[[255, 255, 255], [0, 0, 0], [100, 100, 100], [255, 0, 0], [0, 0, 255], [30, 200, 90]]],
        dtype=np.uint8,
    )
    assert d.color_saturation(pixels, 0.4).tolist() == [
        [[254, 255, 254], [0, 0, 0], [99, 100, 99], [119, 17, 17], [45, 45, 147], [100, 168, 124]]
    ]
    assert d.color_saturation(pixels, 0.0).tolist() == [
        [[254, 255, 254], [0, 0, 0], [99, 100, 99], [29, 29, 29], [76, 76, 76], [147, 147, 147]]
    ]


# ---- CC ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_cc_is_floor_of_value_times_factor(level):
    factor = Fraction(str(PARAMETERS["CC"][level - 1]))
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    out = d.apply_frame(ramp, Perturbation("CC", level))
    assert out.dtype == np.uint8 and out.shape == ramp.shape
    expected = [int(v * factor) for v in range(256)]  # exact rational floor
    assert out[0, :, 0].tolist() == expected
    assert np.array_equal(out[..., 0], out[..., 2])


def test_cc_on_flat_image_and_top_value():
    flat = np.full((10, 12, 3), 200, dtype=np.uint8)
    assert np.all(d.apply_frame(flat, Perturbation("CC", 1)) == 170)
    assert np.all(d.apply_frame(flat, Perturbation("CC", 5)) == 70)
    white = np.full((4, 4, 3), 255, dtype=np.uint8)
    # 255 * 0.85 = 216.75: truncated, and no wrap-around past 255 anywhere
    assert np.all(d.apply_frame(white, Perturbation("CC", 1)) == 216)
    assert np.all(d.apply_frame(white, Perturbation("CC", 5)) == 89)


# ---- BW ----------------------------------------------------------------------------------


def test_bw_block_count_formula():
    assert d.block_count(1080, 1920, 16) == 64
    assert d.block_count(1920, 1080, 80) == 320
    assert d.block_count(720, 1280, 48) == 96
    assert d.block_count(256, 256, 16) == 16
    assert d.block_count(255, 4000, 80) == 0
    assert d.block_count(511, 600, 16) == 16


def _non_grey(height: int, width: int) -> np.ndarray:
    image = _rng(3).integers(0, 100, (height, width, 3), dtype=np.uint8)
    image[..., 1] += 150  # no pixel is grey 128 anywhere
    return image


@pytest.mark.parametrize("level", [1, 5])
def test_bw_sets_the_drawn_8x8_grey_blocks(level):
    image = _non_grey(540, 700)
    param = PARAMETERS["BW"][level - 1]
    out = d.apply_frame(image, Perturbation("BW", level), _rng(11))
    corners = d.block_corners(540, 700, d.block_count(540, 700, param), _rng(11))
    assert len(corners) == 2 * param
    expected = np.zeros((540, 700), dtype=bool)
    for row, col in corners:
        expected[row : row + 8, col : col + 8] = True
    grey = np.all(out == 128, axis=2)
    assert np.array_equal(grey, expected)
    assert np.array_equal(out[~grey], image[~grey])


def test_bw_grey_area_counts_blocks_when_they_do_not_overlap():
    image = _non_grey(256, 4096)
    out = d.apply_frame(image, Perturbation("BW", 1), _rng(5))
    corners = d.block_corners(256, 4096, 16, _rng(5))
    rows, cols = corners[:, 0], corners[:, 1]
    apart = (np.abs(rows[:, None] - rows) >= 8) | (np.abs(cols[:, None] - cols) >= 8)
    np.fill_diagonal(apart, True)
    assert apart.all()  # this seed draws 16 disjoint blocks
    assert int(np.all(out == 128, axis=2).sum()) == 16 * 64


def test_bw_corner_range_excludes_the_last_row_and_column():
    corners = d.block_corners(300, 264, 20000, _rng(2))
    assert corners[:, 0].min() == 0 and corners[:, 0].max() == 300 - 9
    assert corners[:, 1].min() == 0 and corners[:, 1].max() == 264 - 9


def test_bw_small_frames_get_no_blocks_and_input_is_untouched():
    small = _non_grey(255, 1000)
    assert np.array_equal(d.apply_frame(small, Perturbation("BW", 5), _rng()), small)
    image = _non_grey(300, 300)
    before = image.copy()
    out = d.apply_frame(image, Perturbation("BW", 5), _rng())
    assert np.array_equal(image, before)  # the source writes into its input; this does not
    assert np.all(out == 128, axis=2).sum() > 0


def test_bw_is_reproducible_from_the_video_generator():
    image = _non_grey(512, 512)
    p = Perturbation("BW", 2)
    a = d.apply_frame(image, p, perturbation_rng(1, "v1", p))
    b = d.apply_frame(image, p, perturbation_rng(1, "v1", p))
    c = d.apply_frame(image, p, perturbation_rng(1, "v2", p))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ---- GNC ---------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2])
def test_gnc_variance_in_normalised_ycbcr(level):
    variance = PARAMETERS["GNC"][level - 1]
    flat = np.full((1000, 1000, 3), 128, dtype=np.uint8)
    out = d.apply_frame(flat, Perturbation("GNC", level), _rng(level))
    y, cb, cr = _luma_chroma(out)
    # the source's space divided by 255: Y * 219 / 255^2 and chroma * 224 / 255^2
    ny, ncb, ncr = y * 219 / 255**2, cb * 224 / 255**2, cr * 224 / 255**2
    for component in (ny, ncb, ncr):
        assert component.var() == pytest.approx(variance, rel=0.03)
    # independent noise in each component
    assert abs(np.corrcoef(ny.ravel(), ncb.ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(ncb.ravel(), ncr.ravel())[0, 1]) < 0.01
    assert y.mean() == pytest.approx(128 - 0.5, abs=0.1)  # zero-mean noise, truncated


def test_gnc_clips_instead_of_wrapping():
    black = np.zeros((200, 200, 3), dtype=np.uint8)
    out = d.apply_frame(black, Perturbation("GNC", 1), _rng())
    # noise of about 20 units at most per channel: half the values go below 0 and must stop
    # at 0; a wrapped cast would put them near 255
    assert (out == 0).mean() > 0.3 and out.max() < 150


def test_gnc_is_reproducible_and_seed_dependent(colourful):
    p = Perturbation("GNC", 3)
    a = d.apply_frame(colourful, p, perturbation_rng(0, "v", p))
    b = d.apply_frame(colourful, p, perturbation_rng(0, "v", p))
    c = d.apply_frame(colourful, p, perturbation_rng(1, "v", p))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, colourful)


# ---- GB ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_gb_kernel_and_sigma(colourful, level):
    kernel = PARAMETERS["GB"][level - 1]
    out = d.apply_frame(colourful, Perturbation("GB", level))
    assert np.array_equal(out, cv2.GaussianBlur(colourful, (kernel, kernel), kernel / 6))
    # another sigma, and another kernel at the same sigma, give other images
    assert not np.array_equal(out, cv2.GaussianBlur(colourful, (kernel, kernel), kernel / 3))
    assert not np.array_equal(out, cv2.GaussianBlur(colourful, (kernel - 2,) * 2, kernel / 6))


def test_gb_level1_is_not_opencvs_automatic_sigma(colourful):
    # at 21 OpenCV's automatic sigma is 3.5 = 21 / 6 too; at 7 it is 1.4, not 7 / 6
    out = d.apply_frame(colourful, Perturbation("GB", 1))
    assert not np.array_equal(out, cv2.GaussianBlur(colourful, (7, 7), 0))


# ---- JPEG --------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_jpeg_is_bilinear_down_then_up(colourful, level):
    factor = PARAMETERS["JPEG"][level - 1]
    image = colourful[:, :123]  # 96 x 123: sizes that do not divide
    out = d.apply_frame(np.ascontiguousarray(image), Perturbation("JPEG", level))
    small = cv2.resize(image, (123 // factor, 96 // factor), interpolation=cv2.INTER_LINEAR)
    assert small.shape[:2] == (96 // factor, 123 // factor)
    assert np.array_equal(out, cv2.resize(small, (123, 96), interpolation=cv2.INTER_LINEAR))
    area = cv2.resize(image, (123 // factor, 96 // factor), interpolation=cv2.INTER_AREA)
    assert not np.array_equal(out, cv2.resize(area, (123, 96)))


def test_jpeg_floors_the_small_size():
    # 159 / 2 = 79.5: rounding would give 80 columns
    image = _rng(4).integers(0, 256, (50, 159, 3), dtype=np.uint8)
    out = d.apply_frame(image, Perturbation("JPEG", 1))
    rounded = cv2.resize(cv2.resize(image, (80, 25)), (159, 50))
    floored = cv2.resize(cv2.resize(image, (79, 25)), (159, 50))
    assert np.array_equal(out, floored) and not np.array_equal(out, rounded)


def test_jpeg_refuses_frames_smaller_than_the_factor():
    with pytest.raises(ValueError, match="at least 6x6 pixels"):
        d.apply_frame(np.zeros((5, 40, 3), np.uint8), Perturbation("JPEG", 5))


# ---- apply_frame -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["CS", "CC", "BW", "GNC", "GB", "JPEG"])
def test_every_type_keeps_shape_dtype_and_input(code):
    image = _non_grey(260, 300)
    before = image.copy()
    out = d.apply_frame(image, Perturbation(code, 3), _rng())
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    assert np.array_equal(image, before)


@pytest.mark.parametrize(
    "image, error, message",
    [
        (np.zeros((8, 8, 3), np.float32), TypeError, "uint8 BGR frame, got dtype float32"),
        (np.zeros((8, 8), np.uint8), ValueError, r"\(H, W, 3\).*got \(8, 8\)"),
        (np.zeros((8, 8, 4), np.uint8), ValueError, r"got \(8, 8, 4\)"),
        (np.zeros((0, 8, 3), np.uint8), ValueError, r"got \(0, 8, 3\)"),
        ([[[0, 0, 0]]], TypeError, "expected a numpy array"),
    ],
)
def test_bad_frames_are_refused(image, error, message):
    with pytest.raises(error, match=message):
        d.apply_frame(image, Perturbation("CC", 1))


def test_bad_perturbation_arguments():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match="expected a Perturbation, got str"):
        d.apply_frame(image, "CC1")
    with pytest.raises(TypeError, match="BW1 is random: expected a numpy.random.Generator"):
        d.apply_frame(image, Perturbation("BW", 1))
    with pytest.raises(TypeError, match="GNC1 is random"):
        d.apply_frame(image, Perturbation("GNC", 1), rng=42)
    with pytest.raises(ValueError, match="VC5 compresses the whole clip.*perturb_frames"):
        d.apply_frame(image, Perturbation("VC", 5))
