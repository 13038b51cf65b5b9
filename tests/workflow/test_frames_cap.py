"""frames.max_parts through the real snakemake: never more parts' frames on disk than the cap."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from rf_models.demo.synth import build_demo_dataset
from tests.support.snakemake import run_snakemake, write_config
from tests.workflow.test_preprocess_dag import job_counts

PARTS = [f"dfdc_train_part_{k}" for k in range(3)]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cap") / "data"
    build_demo_dataset(
        root, n_parts=3, videos_per_part=2, min_seconds=1.0, max_seconds=1.5, awkward=False
    )
    return root


def parts_with_frames(results: Path) -> set[str]:
    """Parts whose frames exist anywhere: the output, its temporary, or the work area."""
    found = set()
    try:
        for path in (results / "frames").iterdir():
            # frames/<part> or an atomic temporary .<part>.<random>.tmpdir (part names have no dot)
            found.add(path.name.lstrip(".").split(".")[0])
    except FileNotFoundError:
        pass
    for part in PARTS:
        work = results / "work" / "extract_frames" / part
        try:
            if any(work.glob("videos/*/data/*")) or any(work.glob("incoming/*/data/*")):
                found.add(part)
        except FileNotFoundError:
            pass
    return found


def cap_config(tmp_path: Path, data: Path, max_parts: int) -> Path:
    config = {
        "data_root": str(data),
        "results_dir": str(tmp_path / "results"),
        "parts": [0, 1, 2],
        "frames": {"max_parts": max_parts},
        "lists": {"build": ["s"], "splits": {"s": {"val": [2], "train": "rest"}}},
        "train": {"models": []},
        "ensemble": {"split": "s"},
    }
    return write_config(tmp_path / f"config{max_parts}.yaml", config)


def targets(results: Path) -> list[str]:
    return [str(results / "extract" / f"{p}.tsv") for p in PARTS]


def run_watched(tmp_path: Path, data: Path, max_parts: int) -> tuple[int, Path]:
    """Extract every part's frames (and what that needs), watching the disk every few ms;
    return the most parts seen with frames at once and the results folder."""
    results = tmp_path / "results"
    cfg = cap_config(tmp_path, data, max_parts)
    most, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            most[0] = max(most[0], len(parts_with_frames(results)))
            stop.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        # three one-thread jobs at once: without the cap all three parts extract together
        run_snakemake(
            [
                "--configfile",
                str(cfg),
                "--cores",
                "3",
                *targets(results),
                "--set-threads",
                "extract_frames=1",
                "detect_faces=1",
            ],
            tmp_path,
        )
    finally:
        stop.set()
        watcher.join()
    return most[0], results


def test_at_most_max_parts_parts_have_frames_at_any_moment(tmp_path: Path, data: Path) -> None:
    most, results = run_watched(tmp_path, data, max_parts=2)
    assert most == 2
    # part 2 waited for part 0's detection, after which part 0's frames were deleted
    assert parts_with_frames(results) == {PARTS[1], PARTS[2]}
    assert (results / "detections" / PARTS[0]).is_dir()
    assert (
        "after the detection of dfdc_train_part_0"
        in (results / "logs" / "frames_turn" / f"{PARTS[2]}.log").read_text()
    )
    # the jobs kept their videos in their work areas
    for part in PARTS:
        assert list((results / "work" / "extract_frames" / part / "videos").glob("*/entry.json"))

    def dry_run(max_parts: int) -> dict[str, int]:
        cfg = cap_config(tmp_path, data, max_parts)
        args = ["-n", *targets(results), "--configfile", str(cfg)]  # --configfile takes many
        return job_counts(run_snakemake(args, tmp_path).stdout)

    # the cap is not a parameter of any output: changing it only rewrites turn files
    assert dry_run(0) == {"frames_turn": 1}
    # a re-detection of part 0 orders part 2's extraction after it, but does not cause it
    video = next((data / PARTS[0]).glob("*.mp4"))
    original = video.read_bytes()
    try:
        shutil.copy(next(v for v in (data / PARTS[1]).glob("*.mp4")), video)
        counts = dry_run(2)
    finally:
        video.write_bytes(original)
    assert counts == {"extract_frames": 1, "detect_faces": 1, "frames_turn": 1}, counts


def test_without_a_cap_every_part_extracts_at_once(tmp_path: Path, data: Path) -> None:
    # the control: the same run with max_parts 0 ends with all three parts' frames on disk
    most, results = run_watched(tmp_path, data, max_parts=0)
    assert most == 3 and parts_with_frames(results) == set(PARTS)
    assert not (results / "detections").exists()
