"""Glue for workflow scripts: logging to the rule's log file, exceptions recorded there too."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

LOG_FORMAT = "%(asctime)s {rank}%(levelname)s %(name)s: %(message)s"


def configure_logging(log_path: str | os.PathLike | None = None, rank: int | None = None) -> None:
    """INFO and up to stderr (and to ``log_path``, truncated), one format for every job;
    ``rank`` tags each line of a multi-process training job."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    tag = "" if rank is None else f"[rank {rank}] "
    logging.basicConfig(
        level=logging.INFO, format=LOG_FORMAT.format(rank=tag), handlers=handlers, force=True
    )


@contextlib.contextmanager
def rule_logging(log_path: str | os.PathLike | None) -> Iterator[logging.Logger]:
    configure_logging(log_path)
    logger = logging.getLogger("rf_models")
    if os.environ.get("SLURM_JOB_ID"):
        logger.info("running in Slurm job %s", os.environ["SLURM_JOB_ID"])
    try:
        yield logger
    except BaseException:
        logger.exception("rule failed")
        raise
