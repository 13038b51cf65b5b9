"""``python -m rf_models.models.import_seed``: the seed's released checkpoints become models
that predict scores with, loaded strictly; bad files stop the import and leave nothing behind.

The eleven files are written once per session at their real architectures (random weights,
the seed's layouts, torch 1.4's legacy serialisation with CUDA storages: see
tests/support/seed_checkpoints.py).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

from rf_models.config import load_repo_config
from rf_models.infer.scoring import load_trained_model
from rf_models.infer.submission import read_submission
from rf_models.models import create_model, load_seed_checkpoint
from rf_models.models.import_seed import main
from rf_models.predict import find_models
from rf_models.predict.__main__ import main as predict_main
from rf_models.train.checkpoint import FORMAT, load_checkpoint
from tests.support.predict_fakes import t1_frames, write_bgr
from tests.support.seed_checkpoints import (
    IMAGE_BLOCKS,
    SEED_RELEASE,
    SeedRelease,
    legacy_gpu_bytes,
    seed_checkpoint,
    seed_layout,
    write_seed_release,
)

REPO = Path(__file__).resolve().parents[3]

# What the seed's inference used per model (docs/reproduction.md §4 and §7):
# crop side, colour order, normalisation, test-time flip.
SEED_INFERENCE = {
    "xcep": (299, "BGR", "inception", True),
    "b3": (299, "RGB", "imagenet", False),
    "r34": (256, "RGB", "imagenet", True),
    "b1": (299, "RGB", "imagenet", True),
    "b1long": (299, "RGB", "imagenet", False),
    "b1short": (299, "RGB", "imagenet", False),
    "b0": (299, "RGB", "imagenet", True),
    **{sf: (256, "RGB", "kinetics", False) for sf in ("sf", "sf_noaug", "sf_16x8", "sf_alldata")},
}


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SeedRelease]]:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("submit_models")
    yield write_seed_release(folder)
    shutil.rmtree(folder)  # 0.8 GB: pytest keeps the last runs' temporary folders


def run(capsys: pytest.CaptureFixture, *argv: str | Path) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def seed_dir_with(tmp_path: Path, release: dict[str, SeedRelease], *blocks: str) -> Path:
    """A folder holding (hard links to) the released files of ``blocks``."""
    folder = tmp_path / "seed"
    folder.mkdir(exist_ok=True)
    for block in blocks:
        os.link(release[block].path, folder / release[block].path.name)
    return folder


def sample_input(arch: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    if arch == "slowfast_r50":
        return torch.randn(2, 3, 8, 64, 64, generator=g)
    return torch.randn(2, 3, 71, 71, generator=g)


def test_the_eleven_import_exactly_and_score_as_loaded_from_the_seed_files(
    release: dict[str, SeedRelease], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    head = release["b0"].path.read_bytes()[:64]
    assert not head.startswith(b"PK")  # the legacy format, not a zip archive
    assert b"torch.cuda\nFloatStorage" in release["sf"].path.read_bytes()[: 1 << 16]

    out = tmp_path / "models"
    rc, stdout, stderr = run(capsys, release["b0"].path.parent, "--out", out)
    assert rc == 0, stderr
    assert "absent" not in stdout
    assert (
        stdout.strip().splitlines()[-1] == f"imported 11 model(s) into {out} (11 of the seed's 11)"
    )

    config = load_repo_config([])
    found = find_models(out, config)
    assert sorted(found) == sorted(SEED_RELEASE)
    for block, item in release.items():
        best, block_cfg = found[block]
        assert best == out / block / "best.pt"
        state = load_checkpoint(best)
        assert (state["format"], state["arch"], state["kind"]) == (
            FORMAT,
            item.arch,
            "video" if item.arch == "slowfast_r50" else "image",
        )
        assert state["iteration"] == int(item.path.name.rsplit("_", 1)[1].split(".")[0])
        assert list(state["model"]) == list(item.expected)
        assert all(torch.equal(state["model"][k], v) for k, v in item.expected.items()), block

        written = yaml.safe_load((out / block / "model_config.yaml").read_text())
        assert list(written) == ["models"] and list(written["models"]) == [block]
        own = written["models"][block]
        assert (own["infer_size"], own["colour"], own["normalisation"], own["flip_tta"]) == (
            SEED_INFERENCE[block]
        ), block
        provenance = json.loads((out / block / "import.json").read_text())
        assert provenance["file"] == item.path.name
        assert provenance["sha256"] == hashlib.sha256(item.path.read_bytes()).hexdigest()
        assert provenance["filled_batch_counters"] == 0

        loaded = load_trained_model(best, block_cfg, block, device="cpu")
        reference = create_model(item.arch).eval()
        load_seed_checkpoint(reference, item.arch, item.path)
        # scoring on a CPU runs channels-last (rf_models.infer.scoring), so the reference too:
        # another layout sums in another order
        fmt = torch.channels_last_3d if item.arch == "slowfast_r50" else torch.channels_last
        reference = reference.to(memory_format=fmt)
        x = sample_input(item.arch).contiguous(memory_format=fmt)
        with torch.no_grad():
            assert torch.equal(loaded.model(x), reference(x)), block
    assert not list(out.glob(".import_seed.*"))
    shutil.rmtree(out)


def _rewrite(path: Path, dest: Path, edit) -> None:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    edit(obj["state_dict"])
    dest.write_bytes(legacy_gpu_bytes(obj))


BAD_CASES = ["missing_tensor", "extra_tensor", "truncated", "other_arch", "unknown_name", "pickle"]


def _bad_b0(case: str, release: dict[str, SeedRelease], folder: Path) -> tuple[str, list[str]]:
    """Put a bad b0 file into ``folder``: its name and what the error must say."""
    b0 = release["b0"].path
    name = b0.name
    if case == "missing_tensor":
        _rewrite(b0, folder / name, lambda s: s.pop("module._blocks.7._project_conv.weight"))
        return name, [
            "does not fit tf_efficientnet_b0",
            "1 missing keys: blocks.3.2.conv_pwl.weight",
        ]
    if case == "extra_tensor":
        _rewrite(b0, folder / name, lambda s: s.update({"module._aux.weight": torch.zeros(2)}))
        return name, ["does not fit tf_efficientnet_b0", "1 unexpected keys: _aux.weight"]
    if case == "truncated":
        data = b0.read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
        return name, ["cannot be read as a weights-only checkpoint"]
    if case == "other_arch":
        shutil.copyfile(release["b1"].path, folder / name)
        return name, ["23 blocks", "expected 16 blocks"]
    if case == "unknown_name":
        name = "b0_rgb_60000.pth.tar"
        shutil.copyfile(b0, folder / name)
        return name, ["not one of the seed's released checkpoint names", f"--map b0={name}"]
    assert case == "pickle"
    obj = torch.load(b0, map_location="cpu", weights_only=True)
    obj["args"] = argparse.Namespace(lr=0.01)  # what unrestricted pickle would construct
    torch.save(obj, folder / name, _use_new_zipfile_serialization=False)
    return name, ["cannot be read as a weights-only checkpoint", "argparse.Namespace"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_a_bad_file_stops_the_import_naming_it_and_writes_nothing(
    case: str, release: dict[str, SeedRelease], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # b1 is good and comes before b0 in the seed's order: it must not be written either.
    folder = seed_dir_with(tmp_path, release, "b1")
    name, expected = _bad_b0(case, release, folder)
    out = tmp_path / "models"
    rc, stdout, stderr = run(capsys, folder, "--out", out)
    assert rc == 2
    assert stderr.startswith("error: ") and name in stderr, stderr
    for text in expected:
        assert text in stderr, (text, stderr)
    assert not out.exists() or not any(out.iterdir())


def test_partial_set_and_map(
    release: dict[str, SeedRelease], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = seed_dir_with(tmp_path, release, "r34")
    os.link(release["b0"].path, folder / "renamed.pth")
    (folder / "README.md").write_text("the seed's submit_models note: not a checkpoint\n")
    out = tmp_path / "models"
    rc, stdout, stderr = run(capsys, folder, "--out", out, "--map", "b0=renamed.pth")
    assert rc == 0, stderr
    absent = [line for line in stdout.splitlines() if line.startswith("absent:")]
    assert len(absent) == 1
    assert absent[0].startswith(
        "absent: sf, sf_noaug, sf_16x8, sf_alldata, xcep, b3, b1, b1long, b1short (no file in"
    )
    assert "renormalises" in absent[0]
    assert sorted(p.parent.name for p in out.glob("*/best.pt")) == ["b0", "r34"]
    model = load_checkpoint(out / "b0" / "best.pt")["model"]
    assert all(torch.equal(model[k], v) for k, v in release["b0"].expected.items())
    assert json.loads((out / "b0" / "import.json").read_text())["file"] == "renamed.pth"

    # Importing again replaces an earlier import; a model trained here needs --force.
    rc, _, stderr = run(capsys, folder, "--out", out, "--map", "b0=renamed.pth")
    assert rc == 0, stderr
    (out / "r34" / "import.json").unlink()
    rc, _, stderr = run(capsys, folder, "--out", out, "--map", "b0=renamed.pth")
    assert rc == 2 and "r34/best.pt" in stderr and "--force" in stderr
    rc, _, stderr = run(capsys, folder, "--out", out, "--map", "b0=renamed.pth", "--force")
    assert rc == 0, stderr
    shutil.rmtree(out)


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (["b9=renamed.pth"], "--map 'b9=renamed.pth': no block 'b9' in the configuration"),
        (["b0=gone.pth"], "--map b0=gone.pth: file not found"),
        (["b0"], "expected <block>=<file>"),
    ],
)
def test_bad_maps_are_errors(
    maps: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "renamed.pth").write_bytes(b"")
    rc, _, stderr = run(capsys, folder, "--out", tmp_path / "m", *[f"--map={m}" for m in maps])
    assert rc == 2 and message in stderr, stderr


def test_command_line_exit_code_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "seed").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "rf_models.models.import_seed", str(tmp_path / "seed")]
        + ["--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {tmp_path / 'seed'}: no seed checkpoint found")
    assert "b0_rgb_58000.pth.tar" in proc.stderr


def test_the_builders_write_the_seeds_layouts() -> None:
    # Spot checks written from the seed's code, independent of the builders' own rules.
    state = create_model("legacy_xception").state_dict()
    xcep = seed_checkpoint(seed_layout("legacy_xception", state))["state_dict"]
    assert xcep["module.model.block1.rep.0.pointwise.weight"].shape == (128, 64, 1, 1)
    assert "module.model.fc.weight" in xcep
    b1 = seed_layout("tf_efficientnet_b1", create_model("tf_efficientnet_b1").state_dict())
    assert b1["_blocks.21._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert b1["_blocks.22._expand_conv.weight"].shape == (1920, 320, 1, 1)
    assert "_blocks.1._depthwise_conv.weight" in b1 and "_blocks.1._expand_conv.weight" not in b1
    assert set(IMAGE_BLOCKS) < set(SEED_RELEASE)


def test_the_imported_seed_models_score_a_video_end_to_end(
    release: dict[str, SeedRelease], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    models = tmp_path / "models"
    rc, _, stderr = run(capsys, release["b0"].path.parent, "--out", models)
    assert rc == 0, stderr
    video = write_bgr(tmp_path / "videos" / "faces.mp4", t1_frames(12))
    out = tmp_path / "scores"
    argv = [str(video), "--models", str(models), "--out", str(out), "--no-pictures"]
    assert predict_main([*argv, "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    assert "faces.mp4" in table
    details = list(csv.DictReader(open(out / "details.csv")))
    assert [d["filename"] for d in details] == ["faces.mp4"]
    row = details[0]
    assert (row["status"], row["num_faces"]) == ("ok", "2")
    # every one of the seed's eleven scored the video, through the seed's ensemble
    scores = {block: float(row[block]) for block in SEED_RELEASE}
    assert all(0.0 <= s <= 1.0 for s in scores.values()), scores
    assert 0.0 <= float(read_submission(out / "submission.csv")["faces.mp4"]) <= 1.0
    shutil.rmtree(models)
