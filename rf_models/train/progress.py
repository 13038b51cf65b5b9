"""Training progress: a tqdm bar on a terminal, periodic plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from tqdm import tqdm

log = logging.getLogger("rf_models.train")


class Progress:
    """Reports iterations ``start .. total - 1``; silent on ranks other than 0."""

    def __init__(
        self,
        total: int,
        start: int,
        *,
        enabled: bool = True,
        every: int = 100,
        stream: TextIO | None = None,
    ) -> None:
        self.total = total
        self.start = start
        self.every = max(1, every)
        self.enabled = enabled
        stream = sys.stderr if stream is None else stream
        self._stream = stream
        self._bar = None
        if enabled and stream.isatty():
            self._bar = tqdm(total=total, initial=start, unit="it", dynamic_ncols=True, file=stream)
        self._t0 = time.monotonic()

    def update(self, iteration: int, loss: float, lr: float) -> None:
        """Call after iteration ``iteration`` (from 0) with its loss and learning rate."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.3g}", refresh=False)
            return
        done = iteration + 1
        if done % self.every and done != self.total:
            return
        elapsed = time.monotonic() - self._t0
        rate = (done - self.start) / elapsed if elapsed > 0 else float("nan")
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        log.info(
            "iter %d/%d loss %.4f lr %.4g %.2f it/s eta %s",
            done,
            self.total,
            loss,
            lr,
            rate,
            _fmt_seconds(eta),
        )

    def write(self, message: str) -> None:
        """A log line that does not break the bar."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=self._stream)
        else:
            log.info("%s", message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fmt_seconds(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
