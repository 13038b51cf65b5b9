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
        # part 2 is held out from the split: the test set and robustness grid's part, and
        # the folder predict scores
        "parts": [0, 1, 2],
        "demo": {
            "build": True,
            "videos_per_part": 8,
            "seed": 1,
            "min_seconds": 1.0,
            "max_seconds": 1.5,
            "heldout_parts": 0,
            "evaluation": {**TINY_EVAL_DATA, "root": str(workdir / "eval_data")},
        },
        "lists": {
            "image_stride": 5,
            "build": ["demo"],
            "splits": {"demo": {"val": [1], "train": [0]}},
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
        **evaluation_config(workdir),
    }


def evaluation_config(workdir) -> dict:
    """The evaluate target at a tiny scale: the demo's FF++- and Celeb-DF-layout datasets
    (one test pair, a few Celeb-DF videos), the held-out DFDC part (a test set must be held
    out from every split), the evaluation protocol's even frames, and a robustness grid of two
    perturbations in crops mode."""
    root = workdir / "eval_data"
    return {
        "datasets": {
            "tiny_ffpp": {
                "layout": "ffpp",
                "root": str(root / "ffpp"),
                "methods": ["Deepfakes", "NeuralTextures"],
                "part_size": 4,
            },
            "tiny_celebdf": {"layout": "celebdf", "root": str(root / "celebdf")},
        },
        "evaluate": {
            "frames": 8,
            "spacing": "even",
            "test_sets": {
                "dfdc_heldout": [{"parts": [2]}],
                "ffpp_test": [{"dataset": "tiny_ffpp", "set": "test"}],
                "celebdf_test": [{"dataset": "tiny_celebdf", "set": "test"}],
            },
            "robustness": {
                "parts": [{"parts": [2]}],
                "mode": "crops",
                "types": ["GB", "VC"],
                "levels": [5],
            },
        },
    }


TINY_EVAL_DATA = {
    "build": True,
    "seed": 2,
    "width": 160,
    "height": 128,
    "fps": 8,
    "min_seconds": 1.0,
    "max_seconds": 1.0,
    "ffpp": {"train": 1, "val": 1, "test": 1},
    "celebdf": {
        "test_celeb": 2,
        "test_youtube": 1,
        "test_fake": 2,
        "train_celeb": 1,
        "train_youtube": 0,
        "train_fake": 1,
    },
}


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The reduced demo DAG run once, end to end, with the real snakemake."""
    workdir = tmp_path_factory.mktemp("demo_run")
    config = reduced_demo_config(workdir)
    cfg = write_config(workdir / "config.yaml", config)
    out = run_snakemake(["--configfile", str(cfg), "--cores", "2"], workdir)
    evaluation = run_snakemake(["--configfile", str(cfg), "--cores", "2", "evaluate"], workdir)
    return {
        "workdir": workdir,
        "config": config,
        "configfile": cfg,
        "log": out.stderr,
        "evaluate_log": evaluation.stderr,
    }
