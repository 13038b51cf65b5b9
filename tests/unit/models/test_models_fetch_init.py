"""``python -m rf_models.models.fetch_init``, offline: from a Hugging Face cache (and torch.hub's)
built here it writes the five ImageNet files config.yaml names, each loading into its model
with the head skipped; from an empty cache it says which file goes where and stops.

The cache holds random weights under timm's key names, in the layout huggingface_hub reads:
``models--<org>--<name>/snapshots/<rev>/model.safetensors`` and ``refs/main``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import timm
import torch
import yaml
from safetensors.torch import save_file

from rf_models.models import create_model, load_init_weights
from rf_models.models.fetch_init import INIT_FILES, SLOWFAST_NOTE, main

REPO = Path(__file__).resolve().parents[3]
REVISION = "0123456789abcdef0123456789abcdef01234567"

# timm 1.0.31's sources of these weights (timm.models.get_pretrained_cfg): a hub repo each,
# except Xception's, which only has a GitHub release URL (fetched through torch.hub's cache).
HUB = {
    "efficientnet-b0-355c32eb.pth": ("timm/tf_efficientnet_b0.aa_in1k", "tf_efficientnet_b0"),
    "efficientnet-b1-f1951068.pth": ("timm/tf_efficientnet_b1.aa_in1k", "tf_efficientnet_b1"),
    "efficientnet-b3-5fb5a3c3.pth": ("timm/tf_efficientnet_b3.aa_in1k", "tf_efficientnet_b3"),
    "resnet34-333f7ec4.pth": ("timm/resnet34.tv_in1k", "resnet34"),
}
XCEPTION_URL = (
    "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-cadene/"
    "xception-43020ad28.pth"
)
HEADS = {"resnet34": "fc", "legacy_xception": "fc"}


def timm_weights(name: str) -> dict[str, torch.Tensor]:
    """A 1000-class timm network's random weights, in half precision to keep the files small."""
    g = torch.Generator().manual_seed(len(name))
    state = timm.create_model(name, pretrained=False, num_classes=1000).state_dict()
    return {
        k: (torch.randn(v.shape, generator=g) * 0.1 + 1).half() if v.is_floating_point() else v
        for k, v in state.items()
    }


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, dict]]]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("caches")
    sources = {}
    for filename, (repo, name) in HUB.items():
        folder = root / "hf" / "hub" / ("models--" + repo.replace("/", "--"))
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text(REVISION)  # no newline: read as it is
        (folder / "snapshots" / REVISION).mkdir(parents=True)
        sources[filename] = timm_weights(name)
        save_file(sources[filename], str(folder / "snapshots" / REVISION / "model.safetensors"))
    checkpoints = root / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    sources["xception-b5690688.pth"] = timm_weights("legacy_xception")
    torch.save(sources["xception-b5690688.pth"], checkpoints / XCEPTION_URL.rsplit("/", 1)[1])
    yield root, sources
    shutil.rmtree(root)  # 0.15 GB: pytest keeps the last runs' temporary folders


def run_offline(out: Path, root: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HOME": str(root / "hf"),
        "HF_HUB_CACHE": str(root / "hf" / "hub"),
        "HF_HUB_OFFLINE": "1",
        "TORCH_HOME": str(root / "torch"),
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "rf_models.models.fetch_init", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )


def test_config_names_exactly_these_files() -> None:
    models = yaml.safe_load((REPO / "config.yaml").read_text())["models"]
    image_inits = {b["init"] for name, b in models.items() if name != "defaults" and "init" in b}
    assert image_inits == {f"pretrain/{f.filename}" for f in INIT_FILES}
    assert {f.filename for f in INIT_FILES} == set(HUB) | {"xception-b5690688.pth"}


def test_offline_from_the_caches(caches: tuple[Path, dict], tmp_path: Path) -> None:
    root, sources = caches
    out = tmp_path / "pretrain"
    proc = run_offline(out, root)
    assert proc.returncode == 0, proc.stderr
    assert SLOWFAST_NOTE in proc.stdout
    for item in INIT_FILES:
        path = out / item.filename
        assert f"{path}: written from timm {item.timm_tag}" in proc.stdout
        source = sources[item.filename]
        model = create_model(item.arch, init=path)
        loaded = model.state_dict()
        head = HEADS.get(item.arch, "classifier")
        for key, value in source.items():
            if key.startswith(head + "."):
                assert loaded[key].shape[0] == 2  # the 1000-way head is not loaded
            elif value.is_floating_point():
                assert torch.equal(loaded[key], value.float()), (item.filename, key)
        skipped = load_init_weights(create_model(item.arch), item.arch, path)
        assert skipped == [f"{head}.weight", f"{head}.bias"]

    # A second run keeps what is there; a hub file saved by hand under the .pth name loads too.
    assert main(["--out", str(out)]) == 0
    by_hand = tmp_path / "by_hand" / "efficientnet-b0-355c32eb.pth"
    by_hand.parent.mkdir()
    repo = HUB["efficientnet-b0-355c32eb.pth"][0].replace("/", "--")
    shutil.copyfile(
        root / "hf" / "hub" / f"models--{repo}" / "snapshots" / REVISION / "model.safetensors",
        by_hand,
    )
    model = create_model("tf_efficientnet_b0", init=by_hand)
    expected = sources["efficientnet-b0-355c32eb.pth"]["conv_stem.weight"].float()
    assert torch.equal(model.conv_stem.weight, expected)
    shutil.rmtree(out)


def test_offline_with_an_empty_cache_lists_every_file(tmp_path: Path) -> None:
    out = tmp_path / "pretrain"
    proc = run_offline(out, tmp_path / "empty")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: 5 of 5 ImageNet initialisation files could not be")
    assert "offline: HF_HUB_OFFLINE is set" in proc.stderr
    for filename, (repo, _) in HUB.items():
        assert f"  {repo}:model.safetensors -> {out / filename}\n" in proc.stderr
        assert f"https://huggingface.co/{repo}/resolve/main/model.safetensors" in proc.stderr
    assert f"  {XCEPTION_URL} -> {out / 'xception-b5690688.pth'}\n" in proc.stderr
    assert SLOWFAST_NOTE in proc.stdout
    assert not out.exists() or not any(out.iterdir())
