"""Pure image pieces of the demo: alignment, head cut-outs, swaps, composition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rf_models.demo import render
from rf_models.demo.faces import FACE_SOURCES, load_photo


@pytest.fixture(scope="module")
def heads() -> list[render.HeadPatch]:
    return [render.cut_head(load_photo(s), s) for s in FACE_SOURCES]


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    a, s, t = math.radians(20), 1.7, np.array([12.0, -4.0])
    rot = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    dst = src @ rot.T + t
    matrix = render.similarity_transform(src, dst)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(render.apply_affine(matrix, src), dst, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.asarray(FACE_SOURCES[7].landmarks)
    mirrored = src * [-1, 1]
    assert np.linalg.det(render.similarity_transform(src, mirrored)[:, :2]) > 0


def test_similarity_transform_rejects_bad_points():
    with pytest.raises(ValueError, match="expected two"):
        render.similarity_transform(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="all identical"):
        render.similarity_transform(np.ones((5, 2)), np.zeros((5, 2)))


def test_head_patch_keeps_the_face_and_hides_the_photo_edges(heads):
    for source, head in zip(FACE_SOURCES, heads, strict=True):
        side = head.rgb.shape[0]
        assert head.rgb.shape == (side, side, 3) and head.alpha.shape == (side, side)
        cx, cy = head.face_centre.astype(int)
        assert head.alpha[cy, cx] > 0.99
        for x, y in head.landmarks.astype(int):
            assert head.alpha[y, x] > 0.95, source.identity
        border = np.concatenate(
            [head.alpha[0], head.alpha[-1], head.alpha[:, 0], head.alpha[:, -1]]
        )
        assert border.max() < 0.05, source.identity


def test_head_patch_is_transparent_beyond_a_tight_photo(heads):
    tom = heads[[s.identity for s in FACE_SOURCES].index("tom_hanks")]
    # The 112x112 photo starts about 100 px into its patch: the left columns are padding.
    assert tom.alpha[:, :5].max() < 0.05


def test_resize_patch_moves_landmarks_with_the_pixels(heads):
    head = heads[0]
    small = render.resize_patch(head, 0.5)
    assert abs(small.rgb.shape[0] - head.rgb.shape[0] / 2) <= 1
    np.testing.assert_allclose(small.landmarks, (head.landmarks + 0.5) * 0.5 - 0.5, atol=0.01)
    assert render.resize_patch(head, 1.0) is head


def test_swap_changes_the_inner_face_only(heads):
    target = render.resize_patch(heads[7], 0.8)
    params = render.SwapParams(
        mask_scale=1.0, feather=0.03, colour_strength=1.0, resolution=0.4, blur=None,
        seam=None, jitter=None,
    )  # fmt: skip
    swapped = render.SwappedHead(target, heads[9], params, jitter_seed=0).frame()
    diff = np.abs(swapped.rgb - target.rgb).max(axis=2)
    region = render.face_region_mask(target, 1.0)
    assert diff[region > 0.5].mean() > 10
    far = np.ones_like(region, bool)
    ys, xs = np.nonzero(region)
    margin = int(0.25 * target.face_height)
    far[ys.min() - margin : ys.max() + margin, xs.min() - margin : xs.max() + margin] = False
    assert diff[far].max() < 1e-3
    assert swapped.alpha is target.alpha


def test_swap_jitter_makes_frames_differ_reproducibly(heads):
    target = render.resize_patch(heads[0], 0.6)
    params = render.SwapParams(1.0, 0.05, 0.8, None, 1.0, 12.0, 1.0)
    a = render.SwappedHead(target, heads[1], params, jitter_seed=5)
    b = render.SwappedHead(target, heads[1], params, jitter_seed=5)
    fa = [a.frame().rgb for _ in range(3)]
    fb = [b.frame().rgb for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))
    assert not np.array_equal(fa[0], fa[1])


def test_every_drawn_swap_leaves_an_artefact():
    rng = np.random.default_rng(1)
    drawn = [render.draw_swap(rng) for _ in range(300)]
    assert all({"resolution", "blur", "seam"} & set(p.artefacts) for p in drawn)
    kinds = {frozenset(p.artefacts) for p in drawn}
    assert len(kinds) > 10  # not the same recipe every time


def test_motion_stays_in_frame_and_moves():
    rng = np.random.default_rng(2)
    for _ in range(50):
        motion = render.draw_motion(rng, 320, 240)
        for t in np.linspace(0, 1, 7):
            centre, height, angle = motion.at(float(t))
            assert 0.2 * 320 < centre[0] < 0.8 * 320 and 0.25 * 240 < centre[1] < 0.7 * 240
            assert 0.2 * 240 < height < 0.5 * 240 and abs(angle) <= 12
        assert motion.max_face_height >= motion.at(1.0)[1] - 1e-9


def test_composite_head_places_the_face_and_tolerates_off_frame(heads):
    frame = np.zeros((120, 160, 3), np.float32)
    motion = render.Motion((80, 60), (80, 60), 0, 1, 0, 40, 1.0, 0, 0, 1, 0, False)
    patch = render.resize_patch(heads[7], 40 / heads[7].face_height)
    render.composite_head(frame, patch, render.head_matrix(patch, motion, 0.0))
    assert frame[60, 80].sum() > 100 and frame[0, 0].sum() == 0
    off = np.array([[1.0, 0, 5000], [0, 1, 5000]])
    render.composite_head(frame, patch, off)  # entirely outside: nothing happens


def test_background_and_noise_are_seeded():
    scene = render.draw_scene(np.random.default_rng(3), 128, 96)
    a = render.make_background(scene, 128, 96, [])
    b = render.make_background(scene, 128, 96, [])
    assert np.array_equal(a, b) and a.shape[0] > 96 and a.shape[1] > 128
    n1, n2 = render.NoiseBank(7, 128, 96), render.NoiseBank(7, 128, 96)
    assert np.array_equal(n1.next(), n2.next()) and n1.next().shape == (96, 128, 3)
    frame = render.background_at(a, np.zeros(2), 128, 96)
    out = render.finish_frame(frame, scene, 0.5, n1)
    assert out.dtype == np.uint8 and out.shape == (96, 128, 3)
