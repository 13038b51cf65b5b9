from rf_models.demo.eval_sets import CelebDFCounts, FFppCounts, build_eval_datasets
from rf_models.workflow import rule_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_logging(sm.log[0]) as log:
    options = dict(sm.params.options)
    ffpp, celebdf = FFppCounts(**options.pop("ffpp")), CelebDFCounts(**options.pop("celebdf"))
    summary = build_eval_datasets(sm.params.root, ffpp=ffpp, celebdf=celebdf, **options)
    log.info("evaluation datasets: %d videos in %s", len(summary.videos), sm.params.root)
