import yaml

from rf_models.io_utils import atomic_write_text
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]):
    block = {sm.wildcards.model: dict(sm.params.block)}
    atomic_write_text(sm.output[0], yaml.safe_dump({"models": block}, sort_keys=False))
