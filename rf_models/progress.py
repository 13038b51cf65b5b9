"""Progress of a long job in its log: plain lines, at least every 30 s, and a bar on a TTY.

A DFDC part runs for an hour or more, a training for days; ``tail -f`` on a log must tell a
slow job from a stuck one. A timer thread writes the line even while one long video (or a
validation) is being processed. Per-part stages count videos; training counts iterations and
also writes a line every ``every`` of them with the loss and learning rate.
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
    """Count the units of one job: ``with Progress(label, total, reused) as p: ... p.advance()``.

    ``reused`` units (videos kept from an earlier attempt, iterations done before a resume)
    count as done from the start; the ETA is the mean time of the units computed so far times
    the units left. Lines go to ``logger`` at start, every ``interval`` seconds, every
    ``every`` units when given (with the values passed to :meth:`advance`) and at the end; a
    tqdm bar is drawn on ``stream`` instead of the ``every`` lines when it is a TTY. A disabled
    progress (training ranks other than 0) says nothing.
    """

    def __init__(
        self,
        label: str,
        total: int,
        reused: int = 0,
        *,
        unit: str = "video",
        every: int | None = None,
        enabled: bool = True,
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
        self.unit = unit
        self.every = every
        self.enabled = enabled
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
            f"{self.label}: {self.unit} {done}/{self.total} ({self.reused} reused from an "
            f"earlier attempt), elapsed {format_seconds(elapsed)}, ETA {eta}"
        )

    def advance(self, n: int = 1, **values: float) -> None:
        """``n`` more units computed (thread-safe); ``values`` (e.g. loss, lr) go with the
        ``every`` lines and the bar."""
        with self._lock:
            self.done = min(self.total, self.done + n)
            done = self.done
        if not self.enabled:
            return
        shown = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        if self._bar is not None:
            self._bar.update(n)
            if values:
                self._bar.set_postfix_str(shown, refresh=False)
        elif self.every and (done % self.every == 0 or done == self.total):
            self.logger.info("%s%s", self.line(), f", {shown}" if shown else "")

    def write(self, message: str) -> None:
        """A log line that does not break the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            self.logger.info("%s", message)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.logger.info("%s", self.line())

    def __enter__(self) -> Progress:
        self._start = self._clock()
        if not self.enabled:
            return self
        self.logger.info(
            "%s: %d %ss, %d reused from an earlier attempt, %d to compute (pid %d)",
            self.label,
            self.total,
            self.unit,
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
        if not self.enabled:
            return
        if exc_type is None:
            self.logger.info("%s (finished)", self.line())
        else:
            self.logger.info("%s (stopped by %s)", self.line(), exc_type.__name__)
