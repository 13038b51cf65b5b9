import io
import logging

import pytest
import yaml
from train_testlib import tiny_image_cfg

from rf_models.train.__main__ import main
from rf_models.train.checkpoint import load_checkpoint
from rf_models.train.config import ConfigError
from rf_models.train.progress import Progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_log_lines_when_not_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    p = Progress(10, 0, every=5, stream=io.StringIO())
    for it in range(10):
        p.update(it, 0.5, 0.01)
    p.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("iter 5/10 loss 0.5000 lr 0.01")
    assert "it/s eta" in lines[1]


def test_tqdm_bar_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    stream = Tty()
    p = Progress(4, 1, stream=stream)
    for it in range(1, 4):
        p.update(it, 0.25, 0.02)
    p.write("val @ 3: loss 0.1")
    p.close()
    out = stream.getvalue()
    assert "4/4" in out and "loss=0.2500" in out and "val @ 3" in out
    assert not caplog.records


def test_disabled_progress_is_silent(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    p = Progress(2, 0, enabled=False, every=1, stream=Tty())
    p.update(0, 1.0, 0.1)
    p.write("x")
    p.close()
    assert not caplog.records


def test_cli_trains_a_model_block(data, tmp_path):
    block = tiny_image_cfg().to_dict()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"models": {"tiny": block}}))
    argv = ["--config", str(config), "--model", "tiny", "--train-list", str(data["image_train"]),
            "--val-list", str(data["image_val"]), "--crops", str(data["crops"]),
            "--out", str(tmp_path / "out"), "--max-iter", "3", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    assert load_checkpoint(tmp_path / "out" / "best.pt")["run"]["max_iter"] == 3
    with pytest.raises(ConfigError, match="no model 'b7'"):
        main([*argv[:3], "b7", *argv[4:]])
