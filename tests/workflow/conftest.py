from __future__ import annotations

import pytest

from tests.conftest import run_snakemake, write_config


def reduced_demo_config(workdir) -> dict:
    """The demo with fewer, shorter videos: every stage and every awkward case, quickly."""
    return {
        "data_root": str(workdir / "data"),
        "results_dir": str(workdir / "results"),
        "parts": [0, 1],
        "demo": {
            "build": True,
            "videos_per_part": 8,
            "seed": 1,
            "min_seconds": 1.0,
            "max_seconds": 1.5,
        },
        "lists": {"image_stride": 5, "splits": {"demo": {"val": [1], "train": "rest"}}},
    }


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The reduced demo DAG run once, end to end, with the real snakemake."""
    workdir = tmp_path_factory.mktemp("demo_run")
    config = reduced_demo_config(workdir)
    cfg = write_config(workdir / "config.yaml", config)
    out = run_snakemake(["--configfile", str(cfg), "--cores", "2"], workdir)
    return {"workdir": workdir, "config": config, "configfile": cfg, "log": out.stderr}
