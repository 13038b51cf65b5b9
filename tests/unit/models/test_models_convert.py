"""Checkpoints in the seed's layouts load into our models; bad files fail with clear errors.

Seed-layout checkpoints are built here from our own models by the inverse key mapping, written
independently of the converter (per-block rules, not the converter's tables).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from rf_models.models import (
    CheckpointError,
    convert_state_dict,
    create_model,
    load_init_weights,
    load_seed_checkpoint,
    read_checkpoint,
)
from rf_models.models.convert import unwrap_state_dict
from tests.support.seed_checkpoints import STAGES, seed_checkpoint, to_lukemelas


@pytest.fixture(scope="module")
def b0() -> torch.nn.Module:
    return create_model("tf_efficientnet_b0").eval()


@pytest.fixture(scope="module")
def b0_imagenet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A lukemelas-layout ImageNet file (1000-way ``_fc``), saved bare as the published files."""
    source = create_model("tf_efficientnet_b0", num_classes=1000)
    state = to_lukemelas(source.state_dict(), STAGES["tf_efficientnet_b0"])
    path = tmp_path_factory.mktemp("pretrain") / "efficientnet-b0-355c32eb.pth"
    torch.save(state, path)
    return path, state


# --- EfficientNet ----------------------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(STAGES))
def test_efficientnet_seed_layout_converts_exactly(arch: str, randomise_bn) -> None:
    source = randomise_bn(create_model(arch)).eval()
    lukemelas = to_lukemelas(source.state_dict(), STAGES[arch])
    assert "_blocks.0._depthwise_conv.weight" in lukemelas
    target = create_model(arch).eval()
    target.load_state_dict(convert_state_dict(arch, seed_checkpoint(lukemelas)), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(target(x), source(x))


def test_efficientnet_key_spot_checks() -> None:
    # Hand-picked keys of the seed's B1 (its first stage has two blocks without expansion).
    source = create_model("tf_efficientnet_b1")
    lukemelas = to_lukemelas(source.state_dict(), STAGES["tf_efficientnet_b1"])
    converted = convert_state_dict("tf_efficientnet_b1", lukemelas)
    for seed_key, ours in {
        "_conv_stem.weight": "conv_stem.weight",
        "_bn0.running_var": "bn1.running_var",
        "_blocks.1._project_conv.weight": "blocks.0.1.conv_pw.weight",
        "_blocks.1._bn2.bias": "blocks.0.1.bn2.bias",
        "_blocks.2._expand_conv.weight": "blocks.1.0.conv_pw.weight",
        "_blocks.2._bn1.weight": "blocks.1.0.bn2.weight",
        "_blocks.22._se_expand.bias": "blocks.6.1.se.conv_expand.bias",
        "_blocks.22._project_conv.weight": "blocks.6.1.conv_pwl.weight",
        "_bn1.weight": "bn2.weight",
        "_fc.weight": "classifier.weight",
    }.items():
        assert converted[ours] is lukemelas[seed_key]


def test_efficientnet_of_another_size_is_rejected(tmp_path: Path) -> None:
    source = create_model("tf_efficientnet_b1")
    path = tmp_path / "b1.pth.tar"
    torch.save(
        seed_checkpoint(to_lukemelas(source.state_dict(), STAGES["tf_efficientnet_b1"])), path
    )
    with pytest.raises(CheckpointError, match=r"b1\.pth\.tar.*23 blocks.*expected 16 blocks"):
        load_seed_checkpoint(create_model("tf_efficientnet_b0"), "tf_efficientnet_b0", path)


def test_timm_layout_passes_through(b0: torch.nn.Module) -> None:
    state = b0.state_dict()
    assert convert_state_dict("tf_efficientnet_b0", state).keys() == state.keys()


# --- init from a pre-trained file -------------------------------------------------------------


def test_init_skips_a_1000_way_head_and_loads_the_rest(b0_imagenet: tuple[Path, dict]) -> None:
    path, state = b0_imagenet
    model = create_model("tf_efficientnet_b0", init=path)
    assert model.classifier.weight.shape == (2, 1280)
    assert torch.equal(model.conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(model.blocks[6][0].conv_pwl.weight, state["_blocks.15._project_conv.weight"])
    assert torch.equal(model.bn2.running_mean, state["_bn1.running_mean"])
    skipped = load_init_weights(create_model("tf_efficientnet_b0"), "tf_efficientnet_b0", path)
    assert skipped == ["classifier.weight", "classifier.bias"]


def test_init_loads_a_matching_head(tmp_path: Path, b0: torch.nn.Module) -> None:
    path = tmp_path / "ckpt_iter_58000.pth.tar"
    torch.save(seed_checkpoint(to_lukemelas(b0.state_dict(), STAGES["tf_efficientnet_b0"])), path)
    model = create_model("tf_efficientnet_b0")
    assert load_init_weights(model, "tf_efficientnet_b0", path) == []
    assert torch.equal(model.classifier.weight, b0.classifier.weight)


def test_init_from_legacy_file_without_batch_counters(tmp_path: Path) -> None:
    # The 2017-2019 ImageNet files predate BN's num_batches_tracked and the zip format.
    source = create_model("tf_efficientnet_b0", num_classes=1000)
    state = {
        k: v
        for k, v in to_lukemelas(source.state_dict(), STAGES["tf_efficientnet_b0"]).items()
        if not k.endswith("num_batches_tracked")
    }
    path = tmp_path / "old.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    model = create_model("tf_efficientnet_b0", init=path)
    assert torch.equal(model.bn1.weight, state["_bn0.weight"])


def test_init_from_safetensors(tmp_path: Path, b0: torch.nn.Module) -> None:
    path = tmp_path / "b0.safetensors"
    save_file({k: v.contiguous() for k, v in b0.state_dict().items()}, str(path))
    model = create_model("tf_efficientnet_b0", init=path)
    assert torch.equal(model.classifier.weight, b0.classifier.weight)


# --- ResNet-34 --------------------------------------------------------------------------------


def test_resnet_torchvision_layout_with_module_prefix(randomise_bn) -> None:
    source = randomise_bn(create_model("resnet34")).eval()
    checkpoint = {"model": {f"module.{k}": v for k, v in source.state_dict().items()}}
    target = create_model("resnet34").eval()
    target.load_state_dict(convert_state_dict("resnet34", checkpoint), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(target(x), source(x))


# --- Xception ---------------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["fc", "last_linear"])
def test_cadene_xception_with_2d_pointwise_weights(head: str, randomise_bn) -> None:
    source = randomise_bn(create_model("legacy_xception")).eval()
    cadene = {}
    for key, value in source.state_dict().items():
        if key.endswith("pointwise.weight"):
            value = value.flatten(1)
        if key.startswith("fc."):
            key = head + key[2:]
        cadene[key] = value
    assert sum(v.dim() == 2 and "pointwise" in k for k, v in cadene.items()) == 34
    target = create_model("legacy_xception").eval()
    target.load_state_dict(convert_state_dict("legacy_xception", cadene), strict=True)
    x = torch.randn(1, 3, 71, 71)
    with torch.no_grad():
        assert torch.equal(target(x), source(x))


def test_seed_xception_checkpoint_file(tmp_path: Path, randomise_bn) -> None:
    # The seed wrapped Cadene's network in a transfer module (``model.``) inside DDP.
    source = randomise_bn(create_model("legacy_xception")).eval()
    path = tmp_path / "xcep_ckpt_best.pth.tar"
    torch.save(
        {
            "step": 60000,
            "state_dict": {f"module.model.{k}": v for k, v in source.state_dict().items()},
        },
        path,
    )
    target = create_model("legacy_xception").eval()
    load_seed_checkpoint(target, "legacy_xception", path)
    x = torch.randn(1, 3, 71, 71)
    with torch.no_grad():
        assert torch.equal(target(x), source(x))


# --- SlowFast ---------------------------------------------------------------------------------


def test_slowfast_kinetics_init_skips_the_400_way_head(tmp_path: Path) -> None:
    kinetics = create_model("slowfast_r50", num_classes=400)
    path = tmp_path / "sf50_k400.pth"
    # Half precision keeps the test file small; loading casts to the model's dtype.
    torch.save(
        {"state_dict": {f"module.{k}": v.half() for k, v in kinetics.state_dict().items()}}, path
    )
    model = create_model("slowfast_r50", init=path)
    assert model.fc.weight.shape == (2, 2304)
    assert torch.equal(model.Tconv3.weight, kinetics.Tconv3.weight.half().float())
    assert torch.equal(
        model.slow_res4[2].bn3.running_var, kinetics.slow_res4[2].bn3.running_var.half().float()
    )


# --- unwrapping -------------------------------------------------------------------------------


def test_unwrap_variants() -> None:
    t = torch.zeros(1)
    assert unwrap_state_dict({"a.weight": t}) == {"a.weight": t}
    assert unwrap_state_dict({"state_dict": {"module.a.weight": t}}) == {"a.weight": t}
    assert unwrap_state_dict({"model": {"a.weight": t}, "epoch": 3}) == {"a.weight": t}
    assert unwrap_state_dict({"state_dict": {"module.model.a": t}}) == {"a": t}
    # A prefix on only some keys is not a wrapper: left for the loader to report.
    assert unwrap_state_dict({"module.a": t, "b": t}) == {"module.a": t, "b": t}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (torch.zeros(3), "found Tensor"),
        ({}, "found an empty mapping"),
        ({"state_dict": {}}, "found an empty mapping"),
        ([1, 2], "found list"),
        ({"a.weight": torch.zeros(1), "arch": "b0", "step": 3}, "2 entries are not.*arch, step"),
    ],
)
def test_unwrap_rejects_non_state_dicts(obj: object, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        unwrap_state_dict(obj)


# --- bad files --------------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "pretrain" / "efficientnet-b1-f1951068.pth"
    with pytest.raises(FileNotFoundError, match="efficientnet-b1-f1951068.pth"):
        create_model("tf_efficientnet_b1", init=path)
    with pytest.raises(FileNotFoundError, match="efficientnet-b1-f1951068.pth"):
        load_seed_checkpoint(create_model("resnet34"), "resnet34", path)


def test_garbage_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.pth"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"broken\.pth: cannot be read"):
        read_checkpoint(path)


@dataclasses.dataclass
class _Args:
    lr: float = 0.1


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "with_object.pth"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "args": _Args()}, path)
    with pytest.raises(
        CheckpointError, match=r"with_object\.pth: cannot be read as a weights-only"
    ):
        read_checkpoint(path)


def test_mismatched_keys_are_named(tmp_path: Path) -> None:
    state = create_model("resnet34").state_dict()
    state["layer9.extra.weight"] = state.pop("layer4.2.conv2.weight")
    del state["layer1.0.bn1.running_mean"]
    path = tmp_path / "r34_bad.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        create_model("resnet34", init=path)
    message = str(info.value)
    assert "r34_bad.pth" in message
    assert "2 missing keys: layer1.0.bn1.running_mean, layer4.2.conv2.weight" in message
    assert "1 unexpected keys: layer9.extra.weight" in message


def test_shape_mismatch_outside_the_head_is_an_error(tmp_path: Path) -> None:
    state = create_model("resnet34", num_classes=1000).state_dict()
    state["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    path = tmp_path / "r34_shape.pth"
    torch.save(state, path)
    with pytest.raises(
        CheckpointError, match=r"r34_shape\.pth.*1 shape mismatches: conv1\.weight \(model "
    ):
        create_model("resnet34", init=path)


def test_seed_checkpoint_needs_the_same_head(b0_imagenet: tuple[Path, dict]) -> None:
    path, _ = b0_imagenet
    with pytest.raises(
        CheckpointError, match=r"classifier\.weight \(model \(2, 1280\), file \(1000, 1280\)\)"
    ):
        load_seed_checkpoint(create_model("tf_efficientnet_b0"), "tf_efficientnet_b0", path)


def test_checkpoint_for_another_arch_is_rejected(b0_imagenet: tuple[Path, dict]) -> None:
    path, _ = b0_imagenet
    with pytest.raises(
        CheckpointError, match=r"does not fit resnet34: \d+ missing keys: conv1\.weight"
    ):
        create_model("resnet34", init=path)
