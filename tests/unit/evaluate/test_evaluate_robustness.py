"""The robustness grid: its conditions and the perturbed videos of the redetect mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rf_models.data.dfdc import part_entries
from rf_models.evaluate.grid import conditions, derived_part, split_derived
from rf_models.evaluate.robustness import perturb_part_videos
from rf_models.video.decode import FrameReader, probe_video


def test_conditions_are_every_type_at_every_level():
    grid = {"types": ["GB", "CS"], "levels": [5, 1]}
    assert conditions(grid) == ["GB1", "GB5", "CS1", "CS5"]
    assert derived_part("dfdc_train_part_5", "GB3") == "dfdc_train_part_5~GB3"
    assert split_derived("ds-test-youtube-0~VC5") == ("ds-test-youtube-0", "VC5")
    assert split_derived("dfdc_train_part_5") is None
    with pytest.raises(ValueError):
        conditions({"types": ["GB"], "levels": [6]})


@pytest.fixture
def part(tmp_path: Path, write_video, colour_frames) -> Path:
    folder = tmp_path / "dfdc_train_part_6"
    folder.mkdir()
    frames = [np.ascontiguousarray(np.repeat(np.repeat(f, 2, 0), 2, 1)) for f in colour_frames]
    write_video(folder / "a.mp4", frames)
    write_video(folder / "b.mp4", frames[:4])
    (folder / "broken.mp4").write_bytes(b"no video here")
    (folder / "unlabelled.mp4").write_bytes(b"")
    meta = {"a.mp4": {"label": "REAL"}, "b.mp4": {"label": "FAKE", "original": "a.mp4"},
            "broken.mp4": {"label": "FAKE"}, "gone.mp4": {"label": "REAL"}}  # fmt: skip
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_perturbed_videos_keep_labels_and_frames_and_record_what_they_could_not(part, tmp_path):
    out = tmp_path / "out" / "dfdc_train_part_6"
    skipped = perturb_part_videos(part, out, "CS5", seed=3)
    assert skipped == {
        "broken.mp4": skipped["broken.mp4"],
        "gone.mp4": "not a usable video of the clean part",
        "unlabelled.mp4": "no label in the clean part",
    }
    assert skipped["broken.mp4"].startswith("cannot be perturbed")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta == {
        "a.mp4": {"label": "REAL"},
        "b.mp4": {"label": "FAKE", "original": "a.mp4"},
        "broken.mp4": {"label": "FAKE"},
        "gone.mp4": {"label": "REAL"},
        "unlabelled.mp4": {"label": None},
    }
    statuses = {e.video: (e.on_disk, e.label, e.problem is None) for e in part_entries(out)}
    assert statuses == {
        "a.mp4": (True, 0, True),
        "b.mp4": (True, 1, True),
        "broken.mp4": (False, 1, True),  # the derived part records it as missing
        "gone.mp4": (False, 0, True),
        "unlabelled.mp4": (False, None, False),  # and this one as bad_metadata
    }
    info = probe_video(out / "a.mp4")
    assert (info.width, info.height, info.frames) == (128, 96, 10)
    for _, image in FrameReader(out / "a.mp4"):  # saturation level 5: no chroma left
        spread = image.astype(int).max(axis=2) - image.astype(int).min(axis=2)
        assert spread.mean() < 4


def test_video_compression_re_encodes_and_a_seed_repeats_the_random_types(part, tmp_path):
    perturb_part_videos(part, tmp_path / "vc", "VC5")
    assert probe_video(tmp_path / "vc" / "a.mp4").frames == 10
    one = perturb_part_videos(part, tmp_path / "n1", "GNC5", seed=1)
    perturb_part_videos(part, tmp_path / "n2", "GNC5", seed=1)
    perturb_part_videos(part, tmp_path / "n3", "GNC5", seed=2)
    assert one.keys() == {"broken.mp4", "gone.mp4", "unlabelled.mp4"}

    def frames(folder: Path) -> list[np.ndarray]:
        return [image for _, image in FrameReader(folder / "a.mp4")]

    same, other = frames(tmp_path / "n1"), frames(tmp_path / "n3")
    assert all(np.array_equal(a, b) for a, b in zip(same, frames(tmp_path / "n2"), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(same, other, strict=True))
