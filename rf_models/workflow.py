"""Glue for workflow scripts: logging to the rule's log file, exceptions recorded there too."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

LOG_FORMAT = "%(asctime)s {rank}%(levelname)s %(name)s: %(message)s"


def _formatter(rank: int | None = None) -> logging.Formatter:
    return logging.Formatter(LOG_FORMAT.format(rank="" if rank is None else f"[rank {rank}] "))


def _file_handler(log_path: str | os.PathLike, rank: int | None = None) -> logging.Handler:
    """The one way a log file is opened: truncated, INFO and up, the jobs' format."""
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(_formatter(rank))
    return handler


def configure_logging(log_path: str | os.PathLike | None = None, rank: int | None = None) -> None:
    """INFO and up to stderr (and to ``log_path``, truncated), one format for every job;
    ``rank`` tags each line of a multi-process training job."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(_formatter(rank))
    handlers = [stream, *([_file_handler(log_path, rank)] if log_path else [])]
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)


@contextlib.contextmanager
def log_to_file(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Copy the package's records (INFO and up) to ``log_path`` for the block's duration, on
    top of whatever logging the caller set up (the predict command's own log file)."""
    if log_path is None:
        yield
        return
    handler = _file_handler(log_path)
    package = logging.getLogger("rf_models")
    level = package.level
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
        handler.close()


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
