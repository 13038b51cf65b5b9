"""Config loading: the repo's config validates, defaults are filled, mistakes name their key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from rf_models.config import (
    ConfigError,
    load_schema,
    part_names,
    read_config_file,
    read_config_files,
    split_parts,
    validate_config,
)

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"data_root": "data", "parts": [0, 1, 2]}


def test_repo_config_validates() -> None:
    config = read_config_files([REPO / "config.yaml"])
    assert config["parts"] == list(range(50))
    assert part_names(config)[0] == "dfdc_train_part_0"
    assert part_names(config)[-1] == "dfdc_train_part_49"
    train, val = split_parts(config, "val_30-39")
    assert val == [f"dfdc_train_part_{k}" for k in range(30, 40)]
    assert len(train) == 40 and not set(train) & set(val)
    train, val = split_parts(config, "alldata")
    assert len(train) == 50


def test_defaults_filled_from_the_schema() -> None:
    config = validate_config(MINIMAL)
    assert config["results_dir"] == "results"
    assert config["part_prefix"] == "dfdc_train_part_"
    assert config["frames"] == {
        "stride": 1,
        "format": "jpg",
        "quality": 85,
        "scale": "detect",
        "temp": True,
        "max_parts": 4,
    }
    assert config["detect"]["confidence_threshold"] == 0.02
    assert config["detect"]["nms_threshold"] == 0.4
    assert config["track"]["score_threshold"] == 0.8
    assert config["track"]["crop_scale"] == 1.3
    assert config["track"]["crop_source"] == "borrowed"
    assert config["lists"]["image_stride"] == 30
    assert config["lists"]["video_stride"] == 1
    assert config["lists"]["splits"]["val_30-39"]["train"] == "rest"
    # partial sections keep what was given and get the rest
    partial = validate_config({**MINIMAL, "frames": {"stride": 5}})
    assert partial["frames"]["stride"] == 5 and partial["frames"]["format"] == "jpg"
    # the input is not modified, and filling is idempotent
    assert MINIMAL == {"data_root": "data", "parts": [0, 1, 2]}
    assert validate_config(config) == config


def test_schema_defaults_are_not_shared_between_configs() -> None:
    first = validate_config(MINIMAL)
    first["frames"]["stride"] = 7
    first["lists"]["splits"]["val_30-39"]["val"].append(99)
    second = validate_config(MINIMAL)
    assert second["frames"]["stride"] == 1
    assert 99 not in second["lists"]["splits"]["val_30-39"]["val"]
    assert "default" in load_schema()["properties"]["frames"]


def test_unknown_top_level_key_names_key_and_allowed_keys() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({**MINIMAL, "part": [1]})
    message = str(err.value)
    assert "config key part: unknown key" in message
    for allowed in ("parts", "part_prefix", "frames", "lists", "data_root"):
        assert allowed in message


def test_unknown_nested_key_names_its_path_and_allowed_keys() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({**MINIMAL, "frames": {"strde": 2}})
    message = str(err.value)
    assert "config key frames.strde: unknown key" in message
    assert "['format', 'max_parts', 'quality', 'scale', 'stride', 'temp']" in message


def test_unknown_key_inside_a_split_names_its_path() -> None:
    splits = {"mine": {"val": [1], "train": "rest", "tarin": [0]}}
    with pytest.raises(ConfigError, match=r"lists\.splits\.mine\.tarin") as err:
        validate_config({**MINIMAL, "lists": {"splits": splits}})
    assert "['train', 'val']" in str(err.value)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"frames": {"stride": "two"}}, "frames.stride"),
        ({"frames": {"stride": 0}}, "frames.stride"),
        ({"frames": {"stride": True}}, "frames.stride"),
        ({"frames": {"format": "bmp"}}, "frames.format"),
        ({"frames": {"scale": "half"}}, "frames.scale"),
        ({"frames": {"quality": 101}}, "frames.quality"),
        ({"frames": "jpg"}, "frames"),
        ({"predict": {"models_in_memory": "some"}}, "predict.models_in_memory"),
        ({"predict": {"crop_memory_mb": 0}}, "predict.crop_memory_mb"),
        ({"parts": []}, "parts"),
        ({"parts": "0-49"}, "parts"),
        ({"parts": [0, 0]}, "parts"),
        ({"parts": [0, -1]}, "parts.1"),
        ({"detect": {"backend": "tensorrt"}}, "detect.backend"),
        ({"detect": {"confidence_threshold": 1.5}}, "detect.confidence_threshold"),
        ({"track": {"crop_scale": 0}}, "track.crop_scale"),
        ({"track": {"crop_source": "nearest"}}, "track.crop_source"),
        ({"data_root": 5}, "data_root"),
        ({"lists": {"splits": {}}}, "lists.splits"),
        ({"lists": {"splits": {"s": {"val": [1]}}}}, "lists.splits.s"),
        ({"lists": {"splits": {"s": {"val": [1], "train": "most"}}}}, "lists.splits.s.train"),
        ({"lists": {"image_stride": 0}}, "lists.image_stride"),
    ],
)
def test_wrong_values_name_their_key(change: dict, where: str) -> None:
    config = copy.deepcopy(MINIMAL)
    config.update(change)
    with pytest.raises(ConfigError, match=f"config key {re.escape(where)}:"):
        validate_config(config)


def test_missing_required_keys() -> None:
    with pytest.raises(ConfigError, match="'data_root' is a required property"):
        validate_config({"parts": [0]})
    with pytest.raises(ConfigError, match="'parts' is a required property"):
        validate_config({"data_root": "x"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({**MINIMAL, "frames": {"stride": 0}, "align": {"quality": 0}})
    assert "frames.stride" in str(err.value) and "align.quality" in str(err.value)


def test_config_files_merge_as_snakemake_merges_a_configfile(tmp_path: Path) -> None:
    base = tmp_path / "config.yaml"
    base.write_text(yaml.safe_dump({**MINIMAL, "frames": {"stride": 3, "quality": 90}}))
    over = tmp_path / "over.yaml"
    over.write_text(yaml.safe_dump({"results_dir": "elsewhere", "frames": {"stride": 2}}))
    config = read_config_files([base, over])
    assert config["results_dir"] == "elsewhere"
    assert (config["frames"]["stride"], config["frames"]["quality"]) == (2, 90)  # merged
    parts = tmp_path / "parts.yaml"
    parts.write_text(yaml.safe_dump({"parts": [2]}))
    assert read_config_files([base, parts])["parts"] == [2]  # lists are replaced, not merged
    over.write_text(yaml.safe_dump({"frames": {"strde": 1}}))
    with pytest.raises(ConfigError, match="frames.strde"):
        read_config_files([base, over])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("data_root: [unclosed\n", "not valid YAML"),
        ("- data_root\n- parts\n", "expected a mapping"),
        ("just a string\n", "expected a mapping"),
    ],
)
def test_bad_config_files_name_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        read_config_files([path])
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "cannot read the config file"),
        ("a: [unclosed\n", "not valid YAML"),
        ("- a\n", "expected a mapping"),
    ],
)
def test_read_config_file_errors_name_the_file(tmp_path: Path, text, match) -> None:
    path = tmp_path / "c.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        read_config_file(path)
    assert str(path) in str(err.value)
    path.write_text("")
    assert read_config_file(path) == {}


def test_empty_config_file_reports_required_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match="required property"):
        read_config_files([path])


def _with_splits(parts: list[int], **splits: dict) -> dict:
    return validate_config({"data_root": "d", "parts": parts, "lists": {"splits": splits}})


def test_split_parts_rest_all_and_list() -> None:
    config = _with_splits(
        [0, 1, 2, 3, 4],
        rest={"val": [3, 1], "train": "rest"},
        every={"val": [4], "train": "all"},
        listed={"val": [0], "train": [2, 4]},
    )
    assert split_parts(config, "rest") == (
        ["dfdc_train_part_0", "dfdc_train_part_2", "dfdc_train_part_4"],
        ["dfdc_train_part_3", "dfdc_train_part_1"],
    )
    train, val = split_parts(config, "every")
    assert train == [f"dfdc_train_part_{k}" for k in range(5)] and val == ["dfdc_train_part_4"]
    assert split_parts(config, "listed") == (
        ["dfdc_train_part_2", "dfdc_train_part_4"],
        ["dfdc_train_part_0"],
    )
    config["part_prefix"] = "p"
    assert split_parts(config, "listed") == (["p2", "p4"], ["p0"])


@pytest.mark.parametrize(
    "split",
    [
        {"val": [7], "train": "rest"},
        {"val": [0], "train": [1, 8]},
        {"val": [9], "train": "all"},
    ],
)
def test_split_parts_not_in_parts(split: dict) -> None:
    config = _with_splits([0, 1, 2], bad=split)
    with pytest.raises(ConfigError, match=r"parts \[\d\] of lists\.splits\.bad are not in `parts`"):
        split_parts(config, "bad")


def test_split_parts_unknown_split_names_the_known_ones() -> None:
    config = _with_splits([0, 1], a={"val": [0], "train": "rest"})
    with pytest.raises(ConfigError, match=r"no split 'b'.*\['a'\]"):
        split_parts(config, "b")
