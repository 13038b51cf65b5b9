"""Glue for workflow scripts: logging to the rule's log file, exceptions recorded there too."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def rule_logging(log_path: str | os.PathLike | None) -> Iterator[logging.Logger]:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger("rf_models")
    if os.environ.get("SLURM_JOB_ID"):
        logger.info("running in Slurm job %s", os.environ["SLURM_JOB_ID"])
    try:
        yield logger
    except BaseException:
        logger.exception("rule failed")
        raise
