"""The packaged face photos and their hard-coded boxes and landmarks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rf_models.demo.faces import (
    FACE_SOURCES,
    TEXTURE_SOURCES,
    load_photo,
    load_texture,
    package_file,
)


def test_ten_distinct_identities_from_three_packages():
    assert len(FACE_SOURCES) == 10
    assert len({s.identity for s in FACE_SOURCES}) == 10
    assert {s.package for s in FACE_SOURCES} == {"insightface", "skimage", "matplotlib"}
    assert sum(s.relpath == "data/images/t1.jpg" for s in FACE_SOURCES) == 6


@pytest.mark.parametrize("source", FACE_SOURCES, ids=lambda s: s.identity)
def test_photo_loads_with_recorded_size_and_plausible_landmarks(source):
    photo = load_photo(source)
    assert photo.dtype == np.uint8 and photo.shape == (*source.image_shape, 3)
    if source.greyscale:
        assert np.abs(photo.astype(int) - photo[..., :1]).max() <= 2
    else:
        assert np.abs(photo.astype(int) - photo[..., :1]).max() > 20
    x1, y1, x2, y2 = source.box
    lm = np.asarray(source.landmarks)
    assert lm.shape == (5, 2) and source.score >= 0.8
    assert ((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2)).all()
    eyes_y, mouth_y = lm[:2, 1].mean(), lm[3:, 1].mean()
    assert eyes_y < lm[2, 1] < mouth_y  # eyes above the nose tip above the mouth
    assert lm[0, 0] < lm[1, 0] and lm[3, 0] < lm[4, 0]  # image-left point first


def test_textures_load():
    for package, relpath in TEXTURE_SOURCES:
        tex = load_texture(package, relpath)
        assert tex.dtype == np.float32 and tex.ndim == 2 and 0 <= tex.min() < tex.max() <= 1


def test_missing_package_or_file_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="package 'no_such_pkg_x'.*not installed"):
        package_file("no_such_pkg_x", "a.png")
    with pytest.raises(FileNotFoundError, match="expected nope.png inside the installed package"):
        package_file("skimage", "nope.png")


def test_changed_photo_size_is_a_clear_error():
    wrong = replace(FACE_SOURCES[7], image_shape=(100, 100))
    with pytest.raises(ValueError, match="expected a 100x100 .* found 512x512"):
        load_photo(wrong)


def test_unreadable_photo_is_a_clear_error():
    # README.txt ships beside skimage's images and is not an image.
    wrong = replace(FACE_SOURCES[7], relpath="data/README.txt")
    with pytest.raises(ValueError, match="could not be read as an image"):
        load_photo(wrong)
