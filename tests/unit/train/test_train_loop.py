import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rf_models.train.checkpoint import CheckpointError, load_checkpoint
from rf_models.train.datasets import BadSampleError
from rf_models.train.loop import train_model
from tests.support.train_data import make_data, tiny_image_cfg, tiny_video_cfg

SCRIPT = Path(__file__).with_name("tiny_train_script.py")
REPO = Path(__file__).parents[3]


def run_image(cfg, data, out, **kwargs):
    return train_model(
        cfg, data["image_train"], data["image_val"], data["crops"], out, device="cpu", **kwargs
    )


def read_metrics(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_image_run_writes_outputs_and_resumes_when_done(data, tmp_path):
    out = tmp_path / "out"
    result = run_image(tiny_image_cfg(), data, out)
    for name in ("best.pt", "last.pt", "metrics.csv", "curves.png"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob(".*tmp*"))
    last = load_checkpoint(out / "last.pt")
    assert last["iteration"] == 11 and last["scheduler"]["iteration"] == 11
    rows = read_metrics(out / "metrics.csv")
    val_rows = {int(r["iteration"]): float(r["val_loss"]) for r in rows if r["val_loss"]}
    assert sorted(val_rows) == [4, 8, 11]
    best_it = min(val_rows, key=val_rows.get)
    assert result.best_iteration == best_it == load_checkpoint(out / "best.pt")["iteration"]
    assert result.best_val_loss == pytest.approx(val_rows[best_it])
    assert all(0 <= float(r["val_auc"]) <= 1 for r in rows if r["val_auc"])
    assert [float(r["lr"]) for r in rows][:2] == pytest.approx([0.01 + (0.04 / 3), 0.05])
    # A finished run re-run does nothing and keeps the weights.
    again = run_image(tiny_image_cfg(), data, out)
    assert again.resumed_from == 11 and again.best_iteration == best_it
    reloaded = load_checkpoint(out / "last.pt")["model"]
    assert all(torch.equal(reloaded[k], v) for k, v in last["model"].items())


def test_video_run(data, tmp_path):
    result = train_model(
        tiny_video_cfg(),
        data["video_train"],
        data["video_val"],
        data["crops"],
        tmp_path / "vid",
        device="cpu",
    )
    assert result.best_checkpoint.exists() and result.last_iteration == 3
    assert load_checkpoint(result.last_checkpoint)["kind"] == "video"


def test_changed_settings_start_over_instead_of_resuming(data, tmp_path, caplog):
    out = tmp_path / "out"
    run_image(tiny_image_cfg(max_iter=4, val_every=2), data, out)
    first_last = load_checkpoint(out / "last.pt")
    result = run_image(tiny_image_cfg(max_iter=4, val_every=2), data, out, max_iter_override=6)
    assert result.resumed_from is None and result.last_iteration == 5
    assert "differ in" in caplog.text and "max_iter" in caplog.text
    stale = load_checkpoint(out / "last.stale.pt")
    assert stale["iteration"] == first_last["iteration"] == 3
    # a runtime-only setting (log_every) does not prevent a resume
    again = run_image(tiny_image_cfg(max_iter=6, val_every=2, log_every=1), data, out)
    assert again.resumed_from == 5


def test_missing_crop_fails_naming_the_file(data, tmp_path):
    (data["crops"] / "part0/vid3/frame5_face1.jpg").unlink()
    with pytest.raises(BadSampleError, match="part0/vid3/frame5_face1.jpg"):
        run_image(tiny_image_cfg(max_iter=8, val_every=4), data, tmp_path / "out")
    assert not (tmp_path / "out" / "best.pt").exists()


def test_skip_bad_counts_in_result_and_metrics(data, tmp_path):
    (data["crops"] / "part0/vid3/frame5_face1.jpg").write_bytes(b"\xff\xd8 broken")
    (data["crops"] / "part0/vid0/frame2_face1.jpg").unlink()  # only in the validation list
    result = run_image(tiny_image_cfg(skip_bad=True), data, tmp_path / "out")
    # vid3 frame 5 is in both lists: replaced whenever sampled, left out of each validation.
    assert result.skipped_train > 0 and result.skipped_val == 2
    rows = read_metrics(tmp_path / "out" / "metrics.csv")
    assert int(rows[-1]["skipped_train"]) == result.skipped_train
    assert int(rows[-1]["skipped_val"]) == 2


def test_empty_train_list_is_an_error(data, tmp_path):
    data["image_train"].write_text("")
    with pytest.raises(ValueError, match="image_train.txt: the list has no usable line"):
        run_image(tiny_image_cfg(), data, tmp_path / "out")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS"):
        env.pop(key, None)
    return env


def _run_until_paused_then_kill(cmd: list[str], out: Path, flag: str, at: int) -> None:
    """Start tiny_train_script ``cmd`` with ``flag at``, SIGKILL it once it writes out/paused."""
    out.mkdir()
    proc = subprocess.Popen([*cmd, flag, str(at)], env=_env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not (out / "paused").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the run never reached the pause"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_kill_and_resume_is_bit_identical(data, tmp_path):
    # BN buffers, dropout, momentum, a worker process and a checkpoint between validations.
    sets = {"ckpt_every": 3, "num_workers": 1}
    args = [f"--set={k}={json.dumps(v)}" for k, v in sets.items()]
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(SCRIPT), str(tmp_path), str(killed), *args]
    _run_until_paused_then_kill(cmd, killed, "--pause-at", 6)
    # Killed after iteration 6: the last checkpoint is from iteration 5 (ckpt_every 3).
    assert load_checkpoint(killed / "last.pt")["iteration"] == 5
    resumed = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr

    reference = run_image(
        tiny_image_cfg(**sets), make_data(tmp_path / "ref_data"), tmp_path / "reference"
    )
    a, b = load_checkpoint(killed / "last.pt"), load_checkpoint(reference.last_checkpoint)
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for sa, sb in zip(
        a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True
    ):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])
    assert a["best_iteration"] == b["best_iteration"]
    assert (killed / "metrics.csv").read_text() == (
        tmp_path / "reference" / "metrics.csv"
    ).read_text()


def test_kill_between_accumulated_micro_batches_resumes_bit_identical(data, tmp_path):
    # gpus 2 on one process: two micro-batches per step. Killed after the first micro-batch of
    # iteration 7 (forward 15 is its second), the run resumes from iteration 5's checkpoint.
    sets = {"gpus": 2, "ckpt_every": 3, "max_iter": 9}
    args = [f"--set={k}={json.dumps(v)}" for k, v in sets.items()]
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(SCRIPT), str(tmp_path), str(killed), *args]
    _run_until_paused_then_kill(cmd, killed, "--pause-at-forward", 16)
    assert load_checkpoint(killed / "last.pt")["iteration"] == 5
    resumed = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr
    assert "global batch 8 = 4 per micro-batch x 2 micro-batches" in resumed.stderr

    reference = run_image(
        tiny_image_cfg(**sets), make_data(tmp_path / "ref_data"), tmp_path / "reference"
    )
    a, b = load_checkpoint(killed / "last.pt"), load_checkpoint(reference.last_checkpoint)
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for sa, sb in zip(
        a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True
    ):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])
    assert (killed / "metrics.csv").read_text() == (
        tmp_path / "reference" / "metrics.csv"
    ).read_text()


def test_torchrun_two_processes_match_one_process_accumulating(data, tmp_path):
    """The seed's recipe for gpus 2: 2 ranks (gloo, CPU) == 1 process accumulating 2
    micro-batches, with BatchNorm, dropout, the seed's class weights, its loss division and
    its contiguous sampler: each micro-batch is one of the seed's ranks in both runs."""
    sets = {"gpus": 2, "max_iter": 6, "val_every": 3, "batch_size": 2}
    args = [f"--set={k}={json.dumps(v)}" for k, v in sets.items()]
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    done = subprocess.run(
        [*cmd, str(SCRIPT), str(tmp_path), str(out), *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "global batch 4 = 2 per micro-batch x 2 micro-batches (2 process(es)" in done.stderr
    cfg = tiny_image_cfg(**sets)
    assert cfg.arch == "tiny_bn_drop" and cfg.class_weights == (1.8, 0.2)
    assert cfg.loss_world_size_division
    single = run_image(cfg, data, tmp_path / "single")
    a, b = load_checkpoint(out / "last.pt"), load_checkpoint(single.last_checkpoint)
    assert a["run"] == b["run"] and a["run"]["micro_batches"] == 2
    for key in b["model"]:  # weights and BatchNorm running statistics
        assert torch.allclose(
            a["model"][key].double(), b["model"][key].double(), rtol=1e-5, atol=1e-6
        ), key
    moved = sum(
        (b["model"][k] - load_checkpoint(out / "best.pt")["model"][k]).abs().sum()
        for k in b["model"]
    )
    assert moved > 0 or a["best_iteration"] == 5
    va = [r for r in read_metrics(out / "metrics.csv") if r["val_loss"]]
    vb = [r for r in read_metrics(single.metrics_csv) if r["val_loss"]]
    assert [r["iteration"] for r in va] == [r["iteration"] for r in vb] == ["3", "5"]
    for ra, rb in zip(va, vb, strict=True):
        assert math.isclose(float(ra["val_loss"]), float(rb["val_loss"]), rel_tol=1e-5)
        assert math.isclose(float(ra["train_loss"]), float(rb["train_loss"]), rel_tol=1e-5)


def test_a_factory_arch_trains(data, tmp_path):
    # The real EfficientNet-B0 (drop-path, "same" padding) through rf_models.models.
    cfg = tiny_image_cfg(arch="tf_efficientnet_b0", input_size=32, batch_size=2, max_iter=2)
    result = run_image(cfg, data, tmp_path / "b0")
    state = load_checkpoint(result.best_checkpoint)
    assert state["arch"] == "tf_efficientnet_b0" and state["model"]["classifier.weight"].shape == (
        2,
        1280,
    )


def test_corrupt_last_checkpoint_is_a_clear_error(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "last.pt").write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="last.pt: cannot load the checkpoint"):
        run_image(tiny_image_cfg(), data, out)


def test_stale_temporaries_are_removed(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".last.pt.x1y2.tmp.pt").write_bytes(b"half written")
    run_image(tiny_image_cfg(max_iter=2, val_every=1), data, out)
    assert not (out / ".last.pt.x1y2.tmp.pt").exists()


def test_missing_best_after_a_failed_job(data, tmp_path, caplog):
    # Snakemake removes a failed job's outputs (best.pt, metrics.csv) but not last.pt.
    out = tmp_path / "out"
    cfg = tiny_image_cfg(max_iter=6, val_every=2)
    run_image(cfg, data, out, max_iter_override=None)
    (out / "best.pt").unlink()
    (out / "metrics.csv").unlink()
    result = run_image(cfg, data, out)
    assert "writing the final weights as best" in caplog.text
    assert result.best_iteration == 5 and load_checkpoint(out / "best.pt")["iteration"] == 5
    assert (out / "metrics.csv").exists()


def test_missing_best_mid_run_restarts_best_tracking(data, tmp_path, caplog):
    out = tmp_path / "out"
    cfg = tiny_image_cfg(max_iter=6, val_every=2)

    def crash(it, path):
        if it == 2:
            raise RuntimeError("node failure")

    with pytest.raises(RuntimeError, match="node failure"):
        run_image(cfg, data, out, on_checkpoint=crash)
    (out / "best.pt").unlink()
    result = run_image(cfg, data, out)
    assert result.resumed_from == 2
    assert "best-by-validation tracking restarts at iteration 3" in caplog.text
    assert result.best_iteration in (4, 5) and (out / "best.pt").exists()
