"""create_model: every arch builds with 2 classes, runs, and takes the seed's settings."""

from __future__ import annotations

import pytest
import torch
from timm.layers import Conv2dSame

from rf_models.models import available_archs, create_model
from rf_models.models.registry import register_arch
from rf_models.models.same_padding import FixedPadConv2d, fix_same_padding, same_padding
from tests.support.tiny_models import TINY_ARCHS

# (arch, tiny input, parameters with a 2-way head). The counts are timm's ImageNet models' with
# the 1000-way head swapped for a 2-way one (e.g. tf_efficientnet_b0: 5,288,548 - 1280*998 - 998).
ARCH_CASES = [
    ("tf_efficientnet_b0", (1, 3, 64, 64), 4_010_110),
    ("tf_efficientnet_b1", (1, 3, 64, 64), 6_515_746),
    ("tf_efficientnet_b3", (1, 3, 64, 64), 10_699_306),
    ("resnet34", (1, 3, 64, 64), 21_285_698),
    ("legacy_xception", (1, 3, 71, 71), 20_811_050),
    ("slowfast_r50", (1, 3, 32, 64, 64), 33_561_898),
]


def test_available_archs() -> None:
    # the seed's six, and the tests' tiny networks registered from the test side
    assert available_archs() == sorted([*(case[0] for case in ARCH_CASES), *TINY_ARCHS])


def test_an_arch_name_is_registered_once() -> None:
    spec = TINY_ARCHS["tiny_plain"]
    register_arch("tiny_plain", spec)  # the same entry again: nothing changes
    with pytest.raises(ValueError, match="registered already"):
        register_arch("tiny_plain", TINY_ARCHS["tiny_grid"])


@pytest.mark.parametrize(("arch", "shape", "params"), ARCH_CASES)
def test_builds_and_runs_with_two_classes(arch: str, shape: tuple[int, ...], params: int) -> None:
    model = create_model(arch).eval()
    assert sum(p.numel() for p in model.parameters()) == params
    with torch.no_grad():
        out = model(torch.randn(*shape))
    assert out.shape == (1, 2)
    assert torch.isfinite(out).all()


def test_num_classes() -> None:
    model = create_model("resnet34", num_classes=5)
    assert model.fc.out_features == 5


@pytest.mark.parametrize("num_classes", [0, -1, 2.0, True, "2"])
def test_bad_num_classes(num_classes: object) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        create_model("resnet34", num_classes=num_classes)


@pytest.mark.parametrize("arch", ["efficientnet-b0", "xception", "", None])
def test_unknown_arch_lists_the_known_ones(arch: object) -> None:
    with pytest.raises(ValueError, match="known: legacy_xception, resnet34, slowfast_r50"):
        create_model(arch)


def test_unknown_builder_kwarg_is_an_error() -> None:
    with pytest.raises(TypeError):
        create_model("slowfast_r50", no_such_option=1)


def test_efficientnet_defaults_follow_the_seed() -> None:
    model = create_model("tf_efficientnet_b3")
    assert model.drop_rate == 0.3
    assert model.bn1.momentum == 0.01
    assert model.bn1.eps == 1e-3
    # Drop-connect rises linearly to 0.2 over the blocks: the last block has the largest.
    last = model.blocks[-1][-1].drop_path
    assert 0.15 < last.drop_prob < 0.2


def test_builder_kwargs_override_defaults() -> None:
    model = create_model("tf_efficientnet_b0", drop_rate=0.0, bn_momentum=0.1)
    assert model.drop_rate == 0.0
    assert model.bn1.momentum == 0.1
    slowfast = create_model("slowfast_r50", alpha=8, dropout=0.0)
    assert slowfast.alpha == 8
    assert slowfast.dp.p == 0.0


def test_random_init_starts_every_residual_branch_at_zero() -> None:
    # The seed's networks got these scales from ImageNet / Kinetics files; from scratch a
    # block starts as its shortcut (docs/reproduction.md §9).
    resnet = create_model("resnet34")
    assert torch.equal(resnet.layer1[0].bn2.weight, torch.zeros(64))
    assert torch.equal(resnet.layer1[0].bn1.weight, torch.ones(64))
    effnet = create_model("tf_efficientnet_b0")
    skip_blocks = [b for stage in effnet.blocks for b in stage if getattr(b, "has_skip", False)]
    assert skip_blocks and all(not b.bn3.weight.any() for b in skip_blocks if hasattr(b, "bn3"))


def test_same_padding_rule() -> None:
    assert same_padding(299, 3, 2) == (1, 1)
    assert same_padding(224, 3, 2) == (0, 1)
    assert same_padding(224, 5, 2) == (1, 2)
    assert same_padding(150, 5, 1) == (2, 2)
    assert same_padding(7, 1, 1) == (0, 0)


def test_seed_padding_replaces_only_the_dynamic_convs() -> None:
    seed = create_model("tf_efficientnet_b0")
    timm_dynamic = create_model("tf_efficientnet_b0", seed_padding=False)
    assert isinstance(seed.conv_stem, FixedPadConv2d)
    assert seed.conv_stem.fixed_pad == (0, 1, 0, 1)  # as for B0's nominal 224 input
    assert isinstance(timm_dynamic.conv_stem, Conv2dSame)
    assert not any(isinstance(m, Conv2dSame) for m in seed.modules())
    assert list(seed.state_dict()) == list(timm_dynamic.state_dict())


def test_seed_padding_changes_outputs_only_where_the_seed_padded_differently() -> None:
    seed = create_model("tf_efficientnet_b0").eval()
    timm_dynamic = create_model("tf_efficientnet_b0", seed_padding=False).eval()
    timm_dynamic.load_state_dict(seed.state_dict())
    sizes: dict[str, int] = {}

    def record(name: str):
        def hook(module, inputs, output) -> None:
            sizes.setdefault(name, output.shape[-1])

        return hook

    seed.conv_stem.register_forward_hook(record("seed"))
    timm_dynamic.conv_stem.register_forward_hook(record("timm"))
    with torch.no_grad():
        # 224 halves to even sizes at every stride-2 conv of B0: both rules pad alike.
        x = torch.randn(1, 3, 224, 224)
        assert torch.equal(seed(x), timm_dynamic(x))
        sizes.clear()
        x = torch.randn(1, 3, 299, 299)
        assert not torch.allclose(seed(x), timm_dynamic(x))
    assert sizes == {"seed": 149, "timm": 150}


@pytest.mark.parametrize("size", [0, -3, 22.5, True])
def test_fix_same_padding_bad_size(size: object) -> None:
    with pytest.raises(ValueError, match="image_size"):
        fix_same_padding(torch.nn.Identity(), size)
