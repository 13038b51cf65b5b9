from pathlib import Path

import pytest
import yaml

from rf_models.train.config import ConfigError, ModelConfig, load_model_config

SEED_MODELS = Path(__file__).parents[3] / "config.yaml"
NAMES = ["b0", "b1", "b1short", "b1long", "b3", "r34", "xcep", "sf", "sf_noaug", "sf_16x8",
         "sf_alldata"]  # fmt: skip


def block(name: str) -> dict:
    return yaml.safe_load(SEED_MODELS.read_text())["models"][name]


def test_seed_models_has_the_eleven_models():
    models = yaml.safe_load(SEED_MODELS.read_text())["models"]
    assert list(models) == NAMES
    for name in NAMES:
        cfg = load_model_config(SEED_MODELS, name)
        assert cfg.name == name
        assert (cfg.momentum, cfg.weight_decay, cfg.nesterov) == (0.9, 1e-4, True)
        assert cfg.class_weights == (1.8, 0.2)
        assert cfg.loss_world_size_division
        assert cfg.warmup_iters == 1000 and cfg.lr_gamma == 0.5


@pytest.mark.parametrize(
    "name, arch, size, batch, gpus, max_iter, split",
    [
        ("b0", "tf_efficientnet_b0", 299, 16, 8, 60002, "val_30-39"),
        ("b1long", "tf_efficientnet_b1", 299, 16, 8, 90002, "alldata"),
        ("r34", "resnet34", 224, 32, 8, 30001, "val_30-39"),
        ("xcep", "legacy_xception", 299, 16, 8, 60002, "val_30-39"),
        ("sf_alldata", "slowfast_r50", 224, 4, 16, 60000, "alldata"),
    ],
)
def test_seed_table_values(name, arch, size, batch, gpus, max_iter, split):
    cfg = load_model_config(SEED_MODELS, name)
    assert (cfg.arch, cfg.input_size, cfg.batch_size, cfg.gpus) == (arch, size, batch, gpus)
    assert (cfg.max_iter, cfg.split) == (max_iter, split)


def test_seed_model_specifics():
    r34, xcep = load_model_config(SEED_MODELS, "r34"), load_model_config(SEED_MODELS, "xcep")
    assert r34.aug_min_scale == 0.875 and load_model_config(SEED_MODELS, "b0").aug_min_scale == 0.88
    assert xcep.colour == "BGR" and xcep.mean == (0.5, 0.5, 0.5) and xcep.std == (0.5, 0.5, 0.5)
    sf = load_model_config(SEED_MODELS, "sf")
    assert sf.mean[0] == pytest.approx(110.63666788 / 255)
    assert sf.std[2] == pytest.approx(40.02898126 / 255)
    assert (sf.clip_frames, sf.sample_step, sf.val_every) == (32, 4, 1000)
    assert sf.aug_extra and not load_model_config(SEED_MODELS, "sf_noaug").aug_extra
    sf16 = load_model_config(SEED_MODELS, "sf_16x8")
    assert (sf16.clip_frames, sf16.sample_step, sf16.clip_span) == (16, 8, 128)
    flips = {n for n in NAMES if load_model_config(SEED_MODELS, n).flip_tta}
    assert flips == {"xcep", "b1", "b0", "r34"}


def test_round_trip_through_to_dict():
    cfg = load_model_config(SEED_MODELS, "b3")
    assert ModelConfig.from_dict("b3", cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batchsize": 4}, "unknown key"),
        ({"kind": "audio"}, "kind must be one of"),
        ({"batch_size": True}, "batch_size must be int"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"mean": [0.5, 0.5]}, "mean must be 3"),
        ({"mean": [110.0, 103.0, 96.0]}, "0-1 scale"),
        ({"lr_steps": [25000, 15000]}, "lr_steps must be increasing"),
        ({"aug": "V"}, "kind 'image' uses aug A"),
        ({"lr_steps": 15000}, "lr_steps must be a list"),
        ({"aug_min_scale": 1.5}, "aug_min_scale"),
    ],
)
def test_bad_blocks_name_the_key_and_file(change, message):
    bad = {**block("b0"), **change}
    with pytest.raises(ConfigError, match=message) as err:
        ModelConfig.from_dict("b0", bad, source="cfg.yaml")
    assert "cfg.yaml" in str(err.value) and "'b0'" in str(err.value)


def test_missing_required_key():
    bad = block("b0")
    del bad["max_iter"]
    with pytest.raises(ConfigError, match=r"missing required key\(s\) \['max_iter'\]"):
        ModelConfig.from_dict("b0", bad)


def test_load_model_config_errors(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"train": {"models": {"b0": block("b0")}}}))
    assert load_model_config(path, "b0", section="train.models").arch == "tf_efficientnet_b0"
    with pytest.raises(ConfigError, match="no model 'zz'.*found \\['b0'\\]"):
        load_model_config(path, "zz", section="train.models")
    with pytest.raises(ConfigError, match="expected a mapping 'models'"):
        load_model_config(path, "b0")
    with pytest.raises(ConfigError, match="cannot read"):
        load_model_config(tmp_path / "absent.yaml", "b0")


def _config(**train):
    return {"models": yaml.safe_load(SEED_MODELS.read_text())["models"], "train": train}


def test_overrides_scale_each_blocks_schedule_lr_and_clip():
    from rf_models.train.config import resolve_model_block

    overrides = {
        "image": {"schedule_scale": 0.005, "lr_scale": 0.5, "input_size": 64},
        "video": {"schedule_scale": 0.002, "clip_frames_scale": 0.25, "sample_step_scale": 0.5},
        "splits": {"alldata": "demo_alldata", "val_30-39": "demo"},
    }
    resolved = {n: resolve_model_block(_config(overrides=overrides), n) for n in NAMES}
    b1, b1long, r34 = resolved["b1"], resolved["b1long"], resolved["r34"]
    assert (b1["max_iter"], b1["lr_steps"], b1["warmup_iters"]) == (300, [75, 125, 175, 225], 5)
    assert (b1long["max_iter"], b1long["lr_steps"]) == (450, [100, 150, 200, 275])
    assert (b1["base_lr"], b1["warmup_lr"]) == pytest.approx((0.005, 0.015))
    assert (r34["max_iter"], r34["base_lr"], r34["input_size"]) == (150, 0.0005, 64)
    assert [resolved[n]["split"] for n in ("b1", "b1short", "b1long")] == [
        "demo",
        "demo_alldata",
        "demo_alldata",
    ]
    sf, sf16 = resolved["sf"], resolved["sf_16x8"]
    assert (sf["clip_frames"], sf["sample_step"], sf16["clip_frames"], sf16["sample_step"]) == (
        8,
        2,
        4,
        4,
    )
    assert resolved["sf_alldata"]["max_iter"] == 120 and sf["max_iter"] == 110


@pytest.mark.parametrize(
    "scales, message",
    [
        ({"schedule_scale": 0}, "schedule_scale must be a number > 0"),
        ({"lr_scale": "x"}, "lr_scale must be a number > 0"),
        ({"clip_frames_scale": True}, "clip_frames_scale must be a number > 0"),
    ],
)
def test_bad_scales_name_the_override(scales, message):
    from rf_models.train.config import resolve_model_block

    with pytest.raises(ConfigError, match=f"train.overrides.image: {message}"):
        resolve_model_block(_config(overrides={"image": scales}), "b0")
