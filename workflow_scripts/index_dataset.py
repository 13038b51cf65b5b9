from rf_models.data.datasets import write_dataset_index
from rf_models.data.selection import DatasetParts
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    datasets = DatasetParts({"datasets": {sm.wildcards.dataset: sm.params.block}})
    listing = datasets.listing(sm.wildcards.dataset)
    parts = datasets.parts(sm.wildcards.dataset)
    write_dataset_index(listing, parts, sm.output[0])
    log.info("%s: %d videos in %d parts", sm.wildcards.dataset, len(listing.videos), len(parts))
