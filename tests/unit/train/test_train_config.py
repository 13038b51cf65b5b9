"""Model blocks: per-kind defaults, the resolved eleven, overrides, and schema errors."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from rf_models.config import ConfigError, validate_config
from rf_models.train.config import (
    ModelConfig,
    init_chain,
    load_model_config,
    models_to_train,
    resolve_model_block,
)
from tests.support.seed_config import seed_config

NAMES = ["b0", "b1", "b1short", "b1long", "b3", "r34", "xcep", "sf", "sf_noaug", "sf_16x8",
         "sf_alldata"]  # fmt: skip
# Every block as it resolved before models.defaults and named normalisations existed.
BEFORE = json.loads((Path(__file__).parent / "data" / "seed_blocks.json").read_text())


def resolved(name: str, config: dict | None = None) -> ModelConfig:
    config = seed_config() if config is None else config
    return ModelConfig.from_dict(name, resolve_model_block(config, name))


def test_every_block_resolves_to_the_values_it_had():
    config = seed_config()
    assert [m for m in config["models"] if m != "defaults"] == NAMES
    for name in NAMES:
        cfg = resolved(name, config)
        new = cfg.to_dict()
        old = dict(BEFORE[name])
        assert list(cfg.mean) == pytest.approx(old.pop("mean"), abs=1e-12), name
        assert list(cfg.std) == pytest.approx(old.pop("std"), abs=1e-12), name
        assert {k: new[k] for k in old} == old, name


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
    cfg = resolved(name)
    assert (cfg.arch, cfg.input_size, cfg.batch_size, cfg.gpus) == (arch, size, batch, gpus)
    assert (cfg.max_iter, cfg.split) == (max_iter, split)
    assert (cfg.momentum, cfg.weight_decay, cfg.nesterov) == (0.9, 1e-4, True)
    assert cfg.class_weights == (1.8, 0.2) and cfg.loss_world_size_division
    assert cfg.warmup_iters == 1000 and cfg.lr_gamma == 0.5


def test_seed_model_specifics():
    r34, xcep, sf = resolved("r34"), resolved("xcep"), resolved("sf")
    assert r34.aug_min_scale == 0.875 and resolved("b0").aug_min_scale == 0.88
    assert xcep.colour == "BGR" and xcep.normalisation == "inception"
    assert xcep.mean == (0.5, 0.5, 0.5) and xcep.std == (0.5, 0.5, 0.5)
    assert sf.mean[0] == pytest.approx(110.63666788 / 255)
    assert sf.std[2] == pytest.approx(40.02898126 / 255)
    assert (sf.clip_frames, sf.sample_step, sf.val_every) == (32, 4, 1000)
    assert sf.aug_extra and not resolved("sf_noaug").aug_extra
    sf16 = resolved("sf_16x8")
    assert (sf16.clip_frames, sf16.sample_step, sf16.clip_span) == (16, 8, 128)
    assert {n for n in NAMES if resolved(n).flip_tta} == {"xcep", "b1", "b0", "r34"}


def test_a_block_holds_only_what_differs_from_its_kind():
    config = seed_config()
    assert set(config["models"]["sf"]) == {"kind"}
    config["models"]["defaults"]["video"]["batch_size"] = 8
    assert {resolved(n, config).batch_size for n in ("sf", "sf_noaug", "sf_16x8")} == {8}
    assert resolved("b0", config).batch_size == 16


def test_round_trip_through_to_dict():
    cfg = resolved("b3")
    assert ModelConfig.from_dict("b3", cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batchsize": 4}, "models.b0.batchsize: unknown key"),
        ({"kind": "audio"}, "models.b0.kind: 'audio' is not one of ['image', 'video']"),
        ({"batch_size": True}, "models.b0.batch_size: True is not of type 'integer'"),
        ({"batch_size": 0}, "models.b0.batch_size: 0 is less than the minimum of 1"),
        ({"normalisation": "zscore"}, "models.b0.normalisation: 'zscore' is not one of"),
        ({"lr_steps": [25000, 15000]}, "models.b0.lr_steps: must be increasing"),
        ({"aug": "V"}, "models.b0.aug: 'A' was expected"),
        ({"lr_steps": 15000}, "models.b0.lr_steps: 15000 is not of type 'array'"),
        ({"aug_min_scale": 1.5}, "models.b0.aug_min_scale: 1.5 is greater than the maximum"),
        ({"class_weights": [1.8]}, "models.b0.class_weights: [1.8] is too short"),
        ({"split": "a b"}, "models.b0.split: 'a b' does not match"),
    ],
)
def test_bad_blocks_name_the_key_and_what_is_allowed(change, message):
    config = seed_config()
    config["models"]["b0"].update(change)
    with pytest.raises(ConfigError) as err:
        resolve_model_block(config, "b0")
    assert message in str(err.value)


def test_the_whole_config_is_checked_at_once():
    config = seed_config()
    config["models"]["b0"]["momentum"] = "high"
    config["models"]["defaults"]["video"]["gpus"] = 0
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert "config key models.b0.momentum: 'high' is not of type 'number'" in str(err.value)
    assert "config key models.defaults.video.gpus: 0 is less than the minimum" in str(err.value)


@pytest.mark.parametrize("name", ["b0; touch /tmp/x #", "a/b", "", "café"])
def test_model_names_are_plain(name):
    config = seed_config()
    config["models"][name] = {"kind": "image", "arch": "resnet34"}
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert f"config key models: {name!r} does not match '^[A-Za-z0-9_.-]+$'" in str(err.value)


def test_missing_required_key():
    block = resolved("b0").to_dict()
    del block["max_iter"]
    with pytest.raises(ConfigError, match="models.b0: 'max_iter' is a required property"):
        ModelConfig.from_dict("b0", block)


def test_load_model_config_errors(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"train": {"models": {"b0": resolved("b0").to_dict()}}}))
    assert load_model_config(path, "b0", section="train.models").arch == "tf_efficientnet_b0"
    with pytest.raises(ConfigError, match="no model 'zz'.*found \\['b0'\\]"):
        load_model_config(path, "zz", section="train.models")
    with pytest.raises(ConfigError, match="expected a mapping 'models'"):
        load_model_config(path, "b0")
    with pytest.raises(ConfigError, match="cannot read"):
        load_model_config(tmp_path / "absent.yaml", "b0")


def _with_overrides(**train) -> dict:
    config = seed_config()
    config["train"]["overrides"].update(copy.deepcopy(train))
    return validate_config(config)


def test_overrides_scale_each_blocks_schedule_lr_and_clip():
    config = _with_overrides(
        image={"schedule_scale": 0.005, "lr_scale": 0.5, "input_size": 64},
        video={"schedule_scale": 0.002, "clip_frames": 8, "sample_step_scale": 0.5},
        splits={"alldata": "demo_alldata", "val_30-39": "demo"},
    )
    b1, b1long, r34 = (resolve_model_block(config, n) for n in ("b1", "b1long", "r34"))
    assert (b1["max_iter"], b1["lr_steps"], b1["warmup_iters"]) == (300, [75, 125, 175, 225], 5)
    assert (b1long["max_iter"], b1long["lr_steps"]) == (450, [100, 150, 200, 275])
    assert (b1["base_lr"], b1["warmup_lr"]) == pytest.approx((0.005, 0.015))
    assert (r34["max_iter"], r34["base_lr"], r34["input_size"]) == (150, 0.0005, 64)
    splits = [resolve_model_block(config, n)["split"] for n in ("b1", "b1short", "b1long")]
    assert splits == ["demo", "demo_alldata", "demo_alldata"]
    sf, sf16 = resolve_model_block(config, "sf"), resolve_model_block(config, "sf_16x8")
    assert (sf["clip_frames"], sf["sample_step"]) == (8, 2)
    assert (sf16["clip_frames"], sf16["sample_step"]) == (8, 4)
    assert resolve_model_block(config, "sf_alldata")["max_iter"] == 120 and sf["max_iter"] == 110


@pytest.mark.parametrize(
    "override, message",
    [
        ({"schedule_scale": 0}, "train.overrides.image.schedule_scale: 0 is less than or equal"),
        ({"lr_scale": "x"}, "train.overrides.image.lr_scale: 'x' is not of type 'number'"),
        ({"clip_scale": 0.5}, "train.overrides.image.clip_scale: unknown key"),
        ({"batch_size": 0}, "train.overrides.image.batch_size: 0 is less than the minimum"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    config = seed_config()
    config["train"]["overrides"]["image"] = override
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert message in str(err.value)


def _with_models(models: dict, train_models: list[str] | None = None, **overrides) -> dict:
    """config.yaml with blocks added or changed (a block's keys merge over its own)."""
    config = seed_config()
    for name, keys in models.items():
        config["models"][name] = {**config["models"].get(name, {}), **keys}
    if train_models is not None:
        config["train"]["models"] = train_models
    config["train"]["overrides"].update(overrides)
    return validate_config(config)


def test_init_model_starts_from_another_blocks_trained_checkpoint():
    config = _with_models(
        {"sf_base": {"kind": "video", "max_iter": 3000}, "sf": {"init_model": "sf_base"}},
        video={"init": None},
    )
    config["results_dir"] = "work/results"
    sf, base = resolve_model_block(config, "sf"), resolve_model_block(config, "sf_base")
    # the path rules/train.smk writes the source's best checkpoint to
    assert sf["init"] == "work/results/models/sf_base/best.pt"
    assert "init_model" not in sf and base["init"] is None and base["max_iter"] == 3000
    # trained first, once, though several models start from it; not a scored model
    assert models_to_train(config) == [
        "b0", "b1", "b1short", "b1long", "b3", "r34", "xcep", "sf_base", "sf", "sf_noaug",
        "sf_16x8", "sf_alldata",
    ]  # fmt: skip
    assert init_chain(config, "sf") == ["sf", "sf_base"] and init_chain(config, "b0") == ["b0"]


def test_init_model_chains_train_every_source_first():
    config = _with_models(
        {
            "sf_a": {"kind": "video"},
            "sf_b": {"kind": "video", "init_model": "sf_a"},
            "sf": {"init_model": "sf_b"},
        },
        train_models=["b0", "sf"],
    )
    assert models_to_train(config) == ["b0", "sf_a", "sf_b", "sf"]
    assert init_chain(config, "sf") == ["sf", "sf_b", "sf_a"]


@pytest.mark.parametrize(
    "models, overrides, message",
    [
        ({"sf": {"init_model": "nope"}}, {}, "models.sf.init_model: 'nope' has no block"),
        ({"sf": {"init_model": "sf"}}, {}, "a cycle, sf -> sf"),
        (
            {"sf": {"init_model": "sf_noaug"}, "sf_noaug": {"init_model": "sf"}},
            {},
            "a cycle, sf -> sf_noaug -> sf",
        ),
        # an override reaches every block of the kind, its source included
        (
            {"sf_base": {"kind": "video"}},
            {"video": {"init_model": "sf_base"}},
            "sf_base -> sf_base",
        ),
        ({"sf": {"init_model": "r34"}}, {}, "'r34' is a resnet34, 'sf' a slowfast_r50"),
    ],
)
def test_bad_init_models_name_the_key(models, overrides, message):
    config = _with_models(models, **overrides)
    with pytest.raises(ConfigError) as err:
        models_to_train(config)
        resolve_model_block(config, "sf")
    assert message in str(err.value)


def test_init_model_must_be_a_plain_name():
    with pytest.raises(ConfigError, match="models.sf.init_model"):
        _with_models({"sf": {"init_model": "../elsewhere"}})


def test_init_model_in_a_kinds_defaults_reaches_its_source_too():
    config = seed_config()
    config["models"]["sf_base"] = {"kind": "video"}
    config["models"]["defaults"]["video"]["init_model"] = "sf_base"
    config = validate_config(config)
    with pytest.raises(ConfigError, match="a cycle, sf_base -> sf_base"):
        models_to_train(config)
