"""Progress of a per-part job in its log: plain lines, at least every 30 s, and a bar on a TTY.

A DFDC part runs for an hour or more; ``tail -f`` on its log must tell a slow job from a stuck
one. A timer thread writes the line even while one long video is being processed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any, TextIO

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0
INTERVAL_ENV = "RF_PROGRESS_SECONDS"  # tests and benchmarks ask for more frequent lines


def interval_from_env(default: float = DEFAULT_INTERVAL) -> float:
    value = os.environ.get(INTERVAL_ENV)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}: expected a number of seconds, found {value!r}") from None
    if seconds <= 0:
        raise ValueError(f"{INTERVAL_ENV}: expected a positive number of seconds, found {value!r}")
    return seconds


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Count videos of one job: ``with Progress(label, total, reused) as p: ... p.advance()``.

    ``reused`` videos (results kept from an earlier attempt) count as done from the start; the
    ETA is the mean time of the videos computed so far times the videos left to compute.
    Lines go to ``logger`` at start, every ``interval`` seconds and at the end; a tqdm bar is
    drawn on ``stream`` only when it is a TTY.
    """

    def __init__(
        self,
        label: str,
        total: int,
        reused: int = 0,
        *,
        interval: float | None = None,
        logger: logging.Logger = log,
        stream: TextIO | None = None,
        clock=time.monotonic,
    ) -> None:
        if not 0 <= reused <= total:
            raise ValueError(f"{label}: expected 0 <= reused <= total, found {reused} of {total}")
        self.label = label
        self.total = total
        self.reused = reused
        self.done = reused
        self.interval = interval_from_env() if interval is None else interval
        self.logger = logger
        self.stream = sys.stderr if stream is None else stream
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None

    def line(self) -> str:
        with self._lock:
            done, computed = self.done, self.done - self.reused
            elapsed = self._clock() - self._start
        left = self.total - done
        if left == 0:
            eta = "0:00:00"
        elif computed > 0:
            eta = format_seconds(elapsed / computed * left)
        else:
            eta = "unknown"
        return (
            f"{self.label}: video {done}/{self.total} ({self.reused} reused from an earlier "
            f"attempt), elapsed {format_seconds(elapsed)}, ETA {eta}"
        )

    def advance(self, n: int = 1) -> None:
        """``n`` more videos computed (thread-safe)."""
        with self._lock:
            self.done = min(self.total, self.done + n)
        if self._bar is not None:
            self._bar.update(n)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.logger.info("%s", self.line())

    def __enter__(self) -> Progress:
        self._start = self._clock()
        self.logger.info(
            "%s: %d videos, %d reused from an earlier attempt, %d to compute (pid %d)",
            self.label,
            self.total,
            self.reused,
            self.total - self.reused,
            os.getpid(),
        )
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, initial=self.reused, desc=self.label, file=self.stream
            )
        self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
        if exc_type is None:
            self.logger.info("%s (finished)", self.line())
        else:
            self.logger.info("%s (stopped by %s)", self.line(), exc_type.__name__)
