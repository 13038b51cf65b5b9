"""SlowFast-50 as the seed defines it: shapes, widths, temporal kernels and parameter names."""

from __future__ import annotations

import pytest
import torch

from rf_models.models.slowfast import SlowFast, slowfast_r50


@pytest.fixture(scope="module")
def model() -> SlowFast:
    return slowfast_r50(num_classes=2).eval()


def _seed_state_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes of the seed's SlowFast-50 (beta 1/8, 2 classes), derived
    from its construction rules: fast stages from 8 stem channels, slow stage inputs widened by
    int(slow_inplanes * beta) * 2 lateral channels, projection shortcuts where width or stride
    changes, bare 5x1x1 lateral convs."""
    shapes: dict[str, tuple[int, ...]] = {}

    def bn(name: str, c: int) -> None:
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{suffix}"] = (c,)
        shapes[f"{name}.num_batches_tracked"] = ()

    def stage(prefix: str, inplanes: int, planes: int, blocks: int, stride: int, tk: int) -> None:
        for b in range(blocks):
            cin = inplanes if b == 0 else planes * 4
            p = f"{prefix}.{b}"
            shapes[f"{p}.conv1.weight"] = (planes, cin, tk, 1, 1)
            bn(f"{p}.bn1", planes)
            shapes[f"{p}.conv2.weight"] = (planes, planes, 1, 3, 3)
            bn(f"{p}.bn2", planes)
            shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1, 1)
            bn(f"{p}.bn3", planes * 4)
            if b == 0 and (stride != 1 or cin != planes * 4):
                shapes[f"{p}.downsample.0.weight"] = (planes * 4, cin, 1, 1, 1)
                bn(f"{p}.downsample_bn", planes * 4)

    beta = 0.125
    shapes["fast_conv1.weight"] = (8, 3, 5, 7, 7)
    bn("fast_bn1", 8)
    fast_in = 8
    for i, (planes, blocks) in enumerate(zip((8, 16, 32, 64), (3, 4, 6, 3), strict=True)):
        stage(f"fast_res{i + 1}", fast_in, planes, blocks, 1 if i == 0 else 2, 3)
        fast_in = planes * 4
    shapes["slow_conv1.weight"] = (64, 3, 1, 7, 7)
    bn("slow_bn1", 64)
    slow_in = 64
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
        cin = slow_in + int(slow_in * beta) * 2
        stage(f"slow_res{i + 1}", cin, planes, blocks, 1 if i == 0 else 2, 1 if i < 2 else 3)
        slow_in = planes * 4
    for i, (cin, cout) in enumerate(((8, 16), (32, 64), (64, 128), (128, 256))):
        shapes[f"Tconv{i + 1}.weight"] = (cout, cin, 5, 1, 1)
    shapes["fc.weight"] = (2, 2304)
    shapes["fc.bias"] = (2,)
    return shapes


def test_forward_tiny_clip(model: SlowFast) -> None:
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 64, 64))
    assert out.shape == (1, 2)
    assert torch.isfinite(out).all()


def test_pathway_temporal_sizes_and_feature_dim(model: SlowFast) -> None:
    clip = torch.randn(1, 3, 32, 64, 64)
    with torch.no_grad():
        slow, fast = model.pathways(clip)
        features = model.forward_features(clip)
    assert slow.shape[:3] == (1, 2048, 8)  # every 4th of 32 frames
    assert fast.shape[:3] == (1, 256, 32)
    assert features.shape == (1, 2304)
    assert model.num_features == 2304
    assert model.fc.in_features == 2304


@pytest.mark.parametrize("frames", [30, 150])
def test_clip_length_not_a_multiple_of_alpha(model: SlowFast, frames: int) -> None:
    # Inference feeds whole tubes (150 frames for a 300-frame video): the lateral convs must give
    # the slow pathway's ceil(T / alpha) frames.
    with torch.no_grad():
        slow, fast = model.pathways(torch.randn(1, 3, frames, 32, 32))
    assert slow.shape[2] == -(-frames // 4)
    assert fast.shape[2] == frames


def test_alpha_and_tau_are_constructor_args() -> None:
    model = slowfast_r50(alpha=8, tau=32).eval()
    assert model.tau == 32
    with torch.no_grad():
        slow, _ = model.pathways(torch.randn(1, 3, 32, 32, 32))
    assert slow.shape[2] == 4
    assert model.Tconv1.stride == (8, 1, 1)


def test_parameter_names_and_shapes_match_the_seed_layout(model: SlowFast) -> None:
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = _seed_state_shapes()
    assert sorted(set(ours) - set(expected)) == []
    assert sorted(set(expected) - set(ours)) == []
    assert {k: v for k, v in ours.items() if expected[k] != v} == {}


def test_temporal_kernels_per_stage(model: SlowFast) -> None:
    for i in range(1, 5):
        for block in getattr(model, f"fast_res{i}"):
            assert block.conv1.kernel_size == (3, 1, 1)
        for block in getattr(model, f"slow_res{i}"):
            assert block.conv1.kernel_size == ((1, 1, 1) if i < 3 else (3, 1, 1))
        first = getattr(model, f"slow_res{i}")[0]
        assert first.conv2.stride == ((1, 1, 1) if i == 1 else (1, 2, 2))
        assert first.downsample[0].stride == first.conv2.stride


def test_parameter_count(model: SlowFast) -> None:
    # The seed's module, built with the same arguments, has the same count.
    assert sum(p.numel() for p in model.parameters()) == 33_561_898


def test_dropout_only_in_training(model: SlowFast) -> None:
    assert model.dp.p == 0.5
    clip = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(clip), model(clip))


@pytest.mark.parametrize(
    "shape",
    [(3, 32, 64, 64), (1, 1, 32, 64, 64), (1, 3, 64, 64)],
)
def test_bad_input_shape(model: SlowFast, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        model(torch.randn(*shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0}, "alpha"),
        ({"alpha": 2.5}, "alpha"),
        ({"beta": 0.001}, "beta"),
        ({"num_classes": 0}, "num_classes"),
        ({"dropout": 1.0}, "dropout"),
        ({"layers": (3, 4, 6)}, "layers"),
    ],
)
def test_bad_constructor_args(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlowFast(**kwargs)
