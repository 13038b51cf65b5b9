"""The perturbation protocol: level tables, the Perturbation value, its parser, meta lines and
the per-video generators."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from rf_models.perturb.protocol import (
    FRAME_TYPES,
    PARAMETERS,
    TYPES,
    Perturbation,
    all_perturbations,
    format_meta_line,
    parameter,
    parse_meta_line,
    parse_perturbation,
    perturbation_rng,
)

# get_distortion_parameter in DeeperForensics-1.0 perturbation/add_distortion_to_video.py
PROTOCOL = {
    "CS": [0.4, 0.3, 0.2, 0.1, 0.0],
    "CC": [0.85, 0.725, 0.6, 0.475, 0.35],
    "BW": [16, 32, 48, 64, 80],
    "GNC": [0.001, 0.002, 0.005, 0.01, 0.05],
    "GB": [7, 9, 13, 17, 21],
    "JPEG": [2, 3, 4, 5, 6],
    "VC": [30, 32, 35, 38, 40],
}


def test_tables_are_the_protocol_values():
    assert TYPES == ("CS", "CC", "BW", "GNC", "GB", "JPEG", "VC")
    assert {code: list(values) for code, values in PARAMETERS.items()} == PROTOCOL
    assert FRAME_TYPES == ("CS", "CC", "BW", "GNC", "GB", "JPEG")
    for code, values in PROTOCOL.items():
        for level, value in enumerate(values, start=1):
            assert Perturbation(code, level).param == value
            assert parameter(code, level) == value


def test_name_meta_and_str():
    p = Perturbation("GB", 3)
    assert (p.name, p.meta, str(p), p.param) == ("GB3", "GB:3", "GB3", 13)
    assert Perturbation("JPEG", 5).name == "JPEG5"
    assert not Perturbation("VC", 1).per_frame and Perturbation("CS", 1).per_frame


@pytest.mark.parametrize(
    "text, expected",
    [("GB3", ("GB", 3)), ("GB:3", ("GB", 3)), (" JPEG5\n", ("JPEG", 5)), ("GNC1", ("GNC", 1))],
)
def test_parse_perturbation(text, expected):
    assert parse_perturbation(text) == Perturbation(*expected)


@pytest.mark.parametrize("text", ["XX3", "GB0", "GB6", "gb3", "GB", "3", "", "GB 3", "GB3x"])
def test_parse_rejects_bad_names(text):
    with pytest.raises(ValueError, match="expected a perturbation"):
        parse_perturbation(text)


def test_parse_error_names_the_input_and_the_choices():
    with pytest.raises(ValueError) as err:
        parse_perturbation("XY2")
    assert "'XY'" in str(err.value) and "CS, CC, BW, GNC, GB, JPEG, VC" in str(err.value)
    with pytest.raises(TypeError, match="got int"):
        parse_perturbation(3)


@pytest.mark.parametrize("level", [0, 6, -1, True, 2.0, "2", None])
def test_level_outside_1_to_5_is_refused(level):
    with pytest.raises(ValueError, match="level 1-5") as err:
        Perturbation("GB", level)
    assert repr(level) in str(err.value)


@pytest.mark.parametrize("code", ["gb", "XX", "", None, "VC "])
def test_unknown_type_is_refused(code):
    with pytest.raises(ValueError, match="perturbation type in CS, CC"):
        Perturbation(code, 1)


def test_numpy_level_is_normalised_and_value_is_frozen():
    p = Perturbation("GB", np.int64(2))
    assert p == Perturbation("GB", 2) and hash(p) == hash(Perturbation("GB", 2))
    assert type(p.level) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.level = 3


def test_all_perturbations():
    every = all_perturbations()
    assert len(every) == len(set(every)) == 35
    assert every[0] == Perturbation("CS", 1) and every[-1] == Perturbation("VC", 5)


def test_meta_lines_round_trip():
    ps = [Perturbation("GB", 3), Perturbation("VC", 5)]
    line = format_meta_line("videos/a.mp4", ps)
    assert line == "videos/a.mp4 GB:3 VC:5"
    assert parse_meta_line(line + "\n") == ("videos/a.mp4", ps)
    assert parse_meta_line("b.mp4") == ("b.mp4", [])


def test_meta_line_errors():
    with pytest.raises(ValueError, match="without whitespace"):
        format_meta_line("my video.mp4", [Perturbation("GB", 1)])
    with pytest.raises(ValueError, match="'TYPE:level'"):
        parse_meta_line("a.mp4 GB3")
    with pytest.raises(ValueError, match="level 1-5"):
        parse_meta_line("a.mp4 GB:7")
    with pytest.raises(ValueError, match="expected a meta line"):
        parse_meta_line("   ")


def _draws(seed: int, video: str, name: str) -> list[int]:
    return perturbation_rng(seed, video, parse_perturbation(name)).integers(0, 2**62, 4).tolist()


def test_rng_is_deterministic_and_keyed_on_all_three():
    base = _draws(7, "abc.mp4", "BW3")
    assert base == _draws(7, "abc.mp4", "BW3")
    others = [
        _draws(8, "abc.mp4", "BW3"),
        _draws(7, "abd.mp4", "BW3"),
        _draws(7, "abc.mp4", "BW4"),
        _draws(7, "abc.mp4", "GNC3"),
    ]
    assert all(other != base for other in others)
    assert len({tuple(o) for o in others}) == len(others)


def test_rng_is_the_same_in_another_process():
    # Python's str hash is salted per process: a derivation using it would differ here
    code = (
        "from rf_models.perturb.protocol import perturbation_rng, Perturbation;"
        "print(perturbation_rng(7, 'abc.mp4', Perturbation('BW', 3))"
        ".integers(0, 2**62, 4).tolist())"
    )
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(_draws(7, "abc.mp4", "BW3"))


def test_rng_stream_is_pinned():
    # SHA-256 -> SeedSequence -> PCG64: a change of derivation shows up here
    rng = perturbation_rng(0, "video", Perturbation("GNC", 1))
    assert rng.bit_generator.random_raw() == 15982326664481819483


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None])
def test_rng_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="non-negative integer seed"):
        perturbation_rng(seed, "v", Perturbation("BW", 1))


def test_rng_rejects_bad_video_id_and_perturbation():
    with pytest.raises(TypeError, match="video id as a str"):
        perturbation_rng(0, 12, Perturbation("BW", 1))
    with pytest.raises(TypeError, match="expected a Perturbation"):
        perturbation_rng(0, "v", "BW1")
