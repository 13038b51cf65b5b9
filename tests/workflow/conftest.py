from __future__ import annotations

import pytest

from tests.support.snakemake import run_snakemake, write_config

TINY_IMAGE = {
    "split": "demo",
    "input_size": 32,
    "batch_size": 4,
    "gpus": 1,
    "max_iter": 8,
    "warmup_iters": 2,
    "lr_steps": [6],
    "val_every": 4,
    "bn_momentum": 0.1,
    "init": None,
    "num_workers": 0,
    "infer_size": 32,
}
TINY_VIDEO = {
    **TINY_IMAGE,
    "batch_size": 2,
    "max_iter": 4,
    "lr_steps": [3],
    "val_every": 2,
    "clip_frames": 4,
    "sample_step": 1,
}


def reduced_demo_config(workdir) -> dict:
    """The demo with fewer, shorter videos and two tiny models: every stage, every awkward
    case, training, the ensemble, the report and predict on a held-out folder, quickly."""
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
            "heldout_parts": 1,
        },
        "lists": {
            "image_stride": 5,
            "build": ["demo"],
            "splits": {"demo": {"val": [1], "train": "rest"}},
        },
        # sf starts from another SlowFast trained first, as the demo's four do
        "models": {"sf_pretrain": {"kind": "video"}, "sf": {"init_model": "sf_pretrain"}},
        "train": {
            "models": ["b0", "sf"],
            "device": "cpu",
            "overrides": {"image": TINY_IMAGE, "video": TINY_VIDEO},
        },
        "ensemble": {"split": "demo"},
        "predict_dir": str(workdir / "data" / "dfdc_train_part_2"),
    }


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The reduced demo DAG run once, end to end, with the real snakemake."""
    workdir = tmp_path_factory.mktemp("demo_run")
    config = reduced_demo_config(workdir)
    cfg = write_config(workdir / "config.yaml", config)
    out = run_snakemake(["--configfile", str(cfg), "--cores", "2"], workdir)
    return {"workdir": workdir, "config": config, "configfile": cfg, "log": out.stderr}
