"""Progress lines: k/N, elapsed, ETA and reuse, written on a timer even while nothing finishes."""

from __future__ import annotations

import io
import logging
import time

import pytest

from rf_models.progress import INTERVAL_ENV, Progress, format_seconds, interval_from_env


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _logger(name: str) -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger(f"test_progress.{name}")
    logger.handlers = [Keep()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, lines


def test_format_seconds() -> None:
    assert format_seconds(0) == "0:00:00"
    assert format_seconds(3725.4) == "1:02:05"


def test_line_counts_reused_videos_as_done_and_eta_from_computed_ones() -> None:
    clock = FakeClock()
    logger, _ = _logger("line")
    progress = Progress("detect_faces p0", 10, reused=4, logger=logger, clock=clock)
    assert progress.line().endswith(
        "video 4/10 (4 reused from an earlier attempt), elapsed 0:00:00, ETA unknown"
    )
    clock.now += 20
    progress.advance(2)  # two computed in 20 s: 10 s each, 4 left
    assert progress.line() == (
        "detect_faces p0: video 6/10 (4 reused from an earlier attempt), "
        "elapsed 0:00:20, ETA 0:00:40"
    )
    progress.advance(4)
    assert "video 10/10" in progress.line() and "ETA 0:00:00" in progress.line()


def test_lines_come_on_a_timer_even_when_no_video_finishes() -> None:
    logger, lines = _logger("timer")
    with Progress("align_faces p1", 3, interval=0.05, logger=logger, stream=io.StringIO()) as p:
        time.sleep(0.4)  # one slow video: the job must still say it is alive
        p.advance(3)
    assert lines[0].startswith("align_faces p1: 3 videos, 0 reused from an earlier attempt, 3 to")
    ticks = [line for line in lines[1:-1] if "video 0/3" in line]
    assert len(ticks) >= 3, lines
    assert lines[-1].endswith("(finished)") and "video 3/3" in lines[-1]


def test_a_failure_is_said_in_the_last_line() -> None:
    logger, lines = _logger("fail")
    with pytest.raises(KeyboardInterrupt):
        with Progress("x", 2, logger=logger, stream=io.StringIO()):
            raise KeyboardInterrupt
    assert lines[-1].endswith("(stopped by KeyboardInterrupt)")


def test_tqdm_bar_only_on_a_tty() -> None:
    logger, _ = _logger("tty")
    plain, tty = io.StringIO(), TTY()
    with Progress("x", 2, logger=logger, stream=plain) as p:
        p.advance(2)
    with Progress("x", 2, logger=logger, stream=tty) as p:
        p.advance(2)
    assert plain.getvalue() == ""
    assert "2/2" in tty.getvalue()


def test_interval_from_env(monkeypatch) -> None:
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert interval_from_env() == 30.0
    monkeypatch.setenv(INTERVAL_ENV, "2.5")
    assert interval_from_env() == 2.5
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        with pytest.raises(ValueError, match=INTERVAL_ENV):
            interval_from_env()


def test_reused_cannot_exceed_total() -> None:
    with pytest.raises(ValueError, match="reused <= total"):
        Progress("x", 2, reused=3)
