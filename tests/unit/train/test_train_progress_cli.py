import io
import logging

import pytest
import yaml

from rf_models.progress import Progress
from rf_models.train.__main__ import main
from rf_models.train.checkpoint import load_checkpoint
from rf_models.train.config import ConfigError
from tests.support.train_data import tiny_image_cfg


class Tty(io.StringIO):
    def isatty(self):
        return True


def _iterations(total: int, start: int, **kw) -> Progress:
    logger = logging.getLogger("rf_models.train")
    return Progress("train tiny", total, start, unit="iteration", logger=logger, **kw)


def test_plain_log_lines_when_not_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    with _iterations(10, 0, every=5, interval=3600, stream=io.StringIO()) as p:
        for _ in range(10):
            p.advance(loss=0.5, lr=0.01)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("train tiny: 10 iterations, 0 reused from an earlier attempt")
    assert lines[1].startswith("train tiny: iteration 5/10 (0 reused")
    assert lines[1].endswith(", loss 0.5 lr 0.01")
    assert lines[2].startswith("train tiny: iteration 10/10") and "ETA 0:00:00" in lines[2]
    assert lines[3].endswith("(finished)") and len(lines) == 4


def test_tqdm_bar_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    stream = Tty()
    with _iterations(4, 1, every=1, interval=3600, stream=stream) as p:
        for _ in range(1, 4):
            p.advance(loss=0.25, lr=0.02)
        p.write("val @ 3: loss 0.1")
    out = stream.getvalue()
    assert "4/4" in out and "loss 0.25" in out and "val @ 3" in out
    # the bar replaces the every-N lines: only the start and end lines are logged
    assert [r.getMessage().endswith("(finished)") for r in caplog.records] == [False, True]


def test_disabled_progress_is_silent(caplog):
    caplog.set_level(logging.INFO, logger="rf_models.train")
    with _iterations(2, 0, enabled=False, every=1, stream=Tty()) as p:
        p.advance(loss=1.0, lr=0.1)
        p.write("x")
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
