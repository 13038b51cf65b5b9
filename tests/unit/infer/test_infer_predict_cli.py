"""python -m rf_models.predict: videos and folders in, a table, JSON, CSVs and pictures out."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from rf_models.config import ConfigError, load_repo_config
from rf_models.demo.mp4 import write_mp4
from rf_models.infer.folder import predict_folder
from rf_models.infer.predict_options import PredictOptions, PredictOutputs
from rf_models.infer.submission import read_submission
from rf_models.infer.video_scoring import VideoResult
from rf_models.predict import find_models, format_table
from rf_models.predict.__main__ import main
from rf_models.train.config import ModelConfig, resolve_model_block, training_block
from tests.support.infer_models import block, write_checkpoint

# The tiny models stand in for b0 and sf; the merged policy keeps the repository's other
# models, which are left out (and their weights renormalised) as they have no checkpoint.
EXTRA_CONFIG = {"predict": {"max_frames": 20}, "train": {"device": "cpu"}}


def t1_video(path: Path, n: int = 12) -> Path:
    insightface = pytest.importorskip("insightface")
    photo = cv2.imread(os.path.join(os.path.dirname(insightface.__file__), "data/images/t1.jpg"))
    small = cv2.resize(photo, (448, 310), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n):
        canvas = np.full((336, 480, 3), 96, np.uint8)
        canvas[i : i + 310, i : i + 448] = small
        frames.append(canvas[..., ::-1])
    write_mp4(path, frames, fps=10)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    videos = root / "videos"
    videos.mkdir()
    t1_video(videos / "Holiday clip é.MP4")
    (videos / "empty.mov").write_bytes(b"")
    models = root / "models"
    for name, blk in (("b0", block("image", flip_tta=True)), ("sf", block("video"))):
        (models / name).mkdir(parents=True)
        write_checkpoint(models / name / "best.pt", blk, name)
        (models / name / "model_config.yaml").write_text(yaml.safe_dump({"models": {name: blk}}))
    config = root / "extra.yaml"
    config.write_text(yaml.safe_dump(EXTRA_CONFIG))
    return {"root": root, "videos": videos, "models": models, "config": config}


def test_one_command_scores_and_explains(setup, tmp_path, capsys):
    out = tmp_path / "out"
    video = setup["videos"] / "Holiday clip é.MP4"
    argv = [str(video), str(setup["videos"] / "empty.mov"), "--models", str(setup["models"])]
    code = main([*argv, "--config", str(setup["config"]), "--out", str(out)])
    assert code == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["file", "P(FAKE)", "status", "faces", "b0", "sf", "reason"]
    assert table[1].startswith("Holiday clip é.MP4") and " ok " in table[1]
    assert table[2].startswith("empty.mov") and "empty_file (default score)" in table[2]
    assert "0 bytes" in table[2]
    sub = read_submission(out / "submission.csv")
    assert list(sub) == ["Holiday clip é.MP4", "empty.mov"] and sub["empty.mov"] == 0.5
    assert f"{sub['Holiday clip é.MP4']:.3f}" in table[1]
    doc = json.loads((out / "predictions.json").read_text())
    good = doc["videos"][0]
    assert (good["file"], good["status"], good["num_faces"]) == ("Holiday clip é.MP4", "ok", 2)
    assert len(good["faces"][0]["frames"]) == 12  # max_frames 20 from the extra config
    assert sorted(good["model_scores"]) == ["b0", "sf"]
    assert sorted(p.name for p in (out / "pictures").iterdir()) == ["Holiday clip é.MP4.png"]
    assert "Holiday clip é.MP4" in (out / "predict.log").read_text()
    assert (out / "details.csv").is_file()


def test_a_folder_and_no_pictures(setup, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [str(setup["videos"]), "--models", str(setup["models"]), "--model", "b0"]
    code = main([*argv, "--config", str(setup["config"]), "--out", str(out), "--no-pictures"])
    assert code == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["file", "P(FAKE)", "status", "faces", "b0", "reason"]
    assert len(read_submission(out / "submission.csv")) == 2
    assert not (out / "pictures").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "nowhere"], "found no folder"),
        (["--model", "xcep"], "expected <model>/best.pt for ['xcep']"),
        (["--config", "missing.yaml"], "cannot read the config file"),
    ],
)
def test_configuration_errors_exit_2_with_a_message(setup, tmp_path, capsys, extra, message):
    argv = [str(setup["videos"]), "--models", str(setup["models"]), "--out", str(tmp_path)]
    assert main([*argv, *extra]) == 2
    assert message in capsys.readouterr().err


def test_find_models_reads_each_runs_block(setup):
    config = load_repo_config([setup["config"]])
    found = find_models(setup["models"], config)
    assert list(found) == ["b0", "sf"]
    path, blk = found["b0"]
    assert path == setup["models"] / "b0" / "best.pt" and blk["arch"] == "tiny_grid"
    # without model_config.yaml, the config's block (with its overrides) is used
    assert config["models"]["b0"]["arch"] == "tf_efficientnet_b0"


def test_a_block_trained_only_as_a_starting_point_is_not_scored(setup, tmp_path, capsys):
    # the demo's sf_pretrain: trained beside the others, weighed by no ensemble group
    models = tmp_path / "models"
    shutil.copytree(setup["models"], models)
    shutil.copytree(models / "sf", models / "sf_pretrain")
    config = load_repo_config([setup["config"]])
    assert list(find_models(models, config)) == ["b0", "sf"]
    with pytest.raises(ConfigError, match="ensemble.policy weighs only"):
        find_models(models, config, ["sf_pretrain"])
    argv = [str(setup["videos"]), "--models", str(models), "--model", "sf_pretrain"]
    assert main([*argv, "--config", str(setup["config"]), "--out", str(tmp_path / "o")]) == 2
    assert "--model ['sf_pretrain']: ensemble.policy weighs only" in capsys.readouterr().err


def test_load_configs_merges_over_the_repository_config(tmp_path):
    extra = tmp_path / "x.yaml"
    extra.write_text(yaml.safe_dump({"ensemble": {"split": "alldata"}}))
    config = load_repo_config([extra])
    assert config["ensemble"]["split"] == "alldata"
    assert config["ensemble"]["policy"]["groups"]["image"]["models"]["b0"] == 7  # kept
    extra.write_text(yaml.safe_dump({"predict": {"max_frame": 3}}))
    with pytest.raises(ConfigError, match="predict.max_frame"):
        load_repo_config([extra])


def test_format_table_aligns_columns():
    results = [
        VideoResult("a.mp4", 0.91234, "ok", "", 300, 2, {"b0": 0.9, "sf": None}),
        VideoResult("long name.mp4", 0.5, "no_face", "no face kept", 30, 0, {"b0": None}),
    ]
    lines = format_table(results, ["b0", "sf"]).splitlines()
    assert lines[1].split()[:6] == ["a.mp4", "0.912", "ok", "2", "0.900", "-"]
    assert lines[2].endswith("no face kept") and "no_face (default score)" in lines[2]
    end = lines[0].index("P(FAKE)") + len("P(FAKE)")  # numbers right-aligned under it
    assert lines[1].index("0.912") + 5 == lines[2].index("0.500") + 5 == end


def test_the_command_scores_like_the_predict_rule(setup, tmp_path, capsys):
    """Training writes model_config.yaml without the inference-only keys; the command takes
    them from the config's block, as the rule does, and writes the rule's submission."""
    extra = tmp_path / "tta.yaml"
    tta = {**EXTRA_CONFIG, "models": {"b0": block("image", flip_tta=True, infer_size=28)}}
    extra.write_text(yaml.safe_dump(tta))
    config = load_repo_config([extra])
    resolved = resolve_model_block(config, "b0")
    models = tmp_path / "models"
    (models / "b0").mkdir(parents=True)
    write_checkpoint(models / "b0" / "best.pt", resolved, "b0")
    run_file = {"models": {"b0": training_block(resolved)}}  # as the train rule writes it
    (models / "b0" / "model_config.yaml").write_text(yaml.safe_dump(run_file))
    _, found = find_models(models, config)["b0"]
    assert (found["flip_tta"], found["infer_size"]) == (True, 28)
    assert found == resolved

    out = tmp_path / "cli"
    argv = [str(setup["videos"]), "--models", str(models), "--config", str(extra)]
    assert main([*argv, "--out", str(out), "--no-pictures"]) == 0
    capsys.readouterr()
    rule = tmp_path / "rule"
    rule.mkdir()

    def rule_submission(blk: dict, name: str) -> bytes:
        """The predict rule's call, with ``blk`` for b0."""
        predict_folder(
            setup["videos"],
            {"b0": (models / "b0" / "best.pt", blk)},
            config["ensemble"]["policy"],
            PredictOutputs(rule / name),
            PredictOptions.from_config(config, device="cpu"),
        )
        return (rule / name).read_bytes()

    # the rule scores with the config's resolved block
    assert (out / "submission.csv").read_bytes() == rule_submission(resolved, "submission.csv")
    # the run's file alone (the defaults: no flip, input size) scores otherwise
    plain = ModelConfig.from_dict("b0", training_block(resolved)).to_dict()
    assert rule_submission(plain, "plain.csv") != (out / "submission.csv").read_bytes()
