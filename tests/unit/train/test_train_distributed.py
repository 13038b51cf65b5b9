import pytest

from rf_models.train.distributed import (
    LaunchError,
    LaunchInfo,
    detect_launch,
    pick_device,
    resolve_init_method,
)


def test_single_process_without_launcher():
    assert detect_launch({}) == LaunchInfo("single", 0, 1, 0)


def test_torchrun_variables():
    env = {
        "RANK": "3",
        "WORLD_SIZE": "4",
        "LOCAL_RANK": "1",
        "SLURM_PROCID": "0",
        "SLURM_NTASKS": "8",
    }
    assert detect_launch(env) == LaunchInfo("torchrun", 3, 4, 1)


def test_srun_variables_prefer_the_step_task_count():
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1"}
    assert detect_launch(env) == LaunchInfo("srun", 5, 16, 1)
    env["SLURM_STEP_NUM_TASKS"] = "8"
    assert detect_launch(env) == LaunchInfo("srun", 5, 8, 1)


def test_one_slurm_task_is_a_single_process():
    assert detect_launch({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}).mode == "single"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK must be an integer"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "expected 0 <= rank < world size"),
        ({"SLURM_PROCID": "0", "SLURM_NTASKS": "0"}, "found rank 0, world size 0"),
    ],
)
def test_bad_launcher_variables(env, message):
    with pytest.raises(LaunchError, match=message):
        detect_launch(env)


SRUN = LaunchInfo("srun", 1, 4, 1)


def test_rendezvous_file_gets_job_and_step_ids():
    env = {"SLURM_JOB_ID": "77", "SLURM_STEP_ID": "2"}
    assert resolve_init_method("file:///shared/rdzv", SRUN, env) == "file:///shared/rdzv.77.2"
    assert resolve_init_method("file:///shared/rdzv", SRUN, {}) == "file:///shared/rdzv"
    assert resolve_init_method("tcp://h:1234", SRUN, env) == "tcp://h:1234"


def test_rendezvous_from_master_variables():
    assert resolve_init_method(None, SRUN, {"MASTER_ADDR": "h", "MASTER_PORT": "1"}) == "env://"


def test_srun_rendezvous_derived_from_the_node_list():
    env = {"SLURM_JOB_ID": "20077", "SLURM_STEP_NODELIST": "gpu[03-04]"}
    seen = []

    def first_host(nodelist):
        seen.append(nodelist)
        return "gpu03"

    assert resolve_init_method(None, SRUN, env, first_host) == "env://"
    assert seen == ["gpu[03-04]"]
    assert env["MASTER_ADDR"] == "gpu03" and env["MASTER_PORT"] == "20077"


def test_missing_rendezvous_is_a_clear_error():
    with pytest.raises(LaunchError, match="needs a rendezvous: export MASTER_ADDR"):
        resolve_init_method(None, LaunchInfo("torchrun", 0, 2, 0), {})


def test_pick_device():
    assert pick_device("cpu", 0).type == "cpu"
    import torch

    if not torch.cuda.is_available():
        assert pick_device("auto", 3).type == "cpu"
        with pytest.raises(LaunchError, match="no CUDA device"):
            pick_device("cuda", 0)
