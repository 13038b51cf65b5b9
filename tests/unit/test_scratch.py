"""Bounded scratch: which detection a part's frame extraction waits for, and why that bounds it."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from rf_models.scratch import frames_turn_after, write_frames_turn

PARTS = [f"p{k}" for k in range(7)]


def test_lanes_of_max_parts() -> None:
    assert [frames_turn_after(PARTS, p, 3, True) for p in PARTS] == [
        None,
        None,
        None,
        "p0",
        "p1",
        "p2",
        "p3",
    ]


@pytest.mark.parametrize(("cap", "temp"), [(0, True), (2, False)])
def test_no_wait_without_a_cap_or_without_temp_frames(cap: int, temp: bool) -> None:
    assert all(frames_turn_after(PARTS, p, cap, temp) is None for p in PARTS)


def test_a_part_outside_the_configuration_waits_for_nothing() -> None:
    assert frames_turn_after(PARTS, "other", 2, True) is None


def test_negative_cap_is_an_error() -> None:
    with pytest.raises(ValueError, match="frames.max_parts"):
        frames_turn_after(PARTS, "p1", -1, True)


def _max_open(cap: int, order_seed: int) -> int:
    """Run a random legal schedule of extract/detect jobs under the turn rule; return the most
    parts that had frames at once (extract started, detection not finished)."""
    rng = random.Random(order_seed)
    state = dict.fromkeys(PARTS, "waiting")  # waiting -> frames -> detected
    most = 0
    while any(s != "detected" for s in state.values()):
        ready = []
        for part, s in state.items():
            after = frames_turn_after(PARTS, part, cap, True)
            if s == "waiting" and (after is None or state[after] == "detected"):
                ready.append((part, "frames"))
            elif s == "frames":
                ready.append((part, "detected"))
        part, new = rng.choice(ready)
        state[part] = new
        most = max(most, sum(s == "frames" for s in state.values()))
    return most


@pytest.mark.parametrize(("cap", "seed"), list(itertools.product([1, 2, 3], range(20))))
def test_any_schedule_keeps_at_most_cap_parts_with_frames(cap: int, seed: int) -> None:
    assert _max_open(cap, seed) <= cap


def test_without_a_cap_a_schedule_can_exceed_it() -> None:
    assert max(_max_open(0, seed) for seed in range(20)) > 3


def test_turn_file_text_does_not_depend_on_the_cap(tmp_path: Path) -> None:
    write_frames_turn(tmp_path / "a.txt", "p3", "p1", tmp_path / "a.log")
    write_frames_turn(tmp_path / "b.txt", "p3", None, tmp_path / "b.log")
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()
    assert "after the detection of p1" in (tmp_path / "a.log").read_text()
