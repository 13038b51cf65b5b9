# Shared set-up: the validated config, the run's plan (rf_models/run_plan.py), paths and the
# input functions every rule file uses (get_* names, as the snakemake-workflows catalog does).
import os
import re
import sys
from dataclasses import asdict

from snakemake.logging import logger

from rf_models.config import split_parts, validate_config
from rf_models.data.dfdc import part_signature
from rf_models.infer.predict_options import PredictOptions
from rf_models.paths import DETECTOR_WEIGHTS
from rf_models.report.registry import FIGURE_NAMES, FIGURES
from rf_models.run_plan import plan_run
from rf_models.scratch import frames_turn_after
from rf_models.train.config import training_block

config.update(validate_config(config))
PLAN = plan_run(config)
for _message in PLAN.warnings:
    logger.warning(_message)
for _message in PLAN.notes:
    logger.info(_message)

RESULTS = config["results_dir"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
# per-video results kept across failed jobs (rf_models/work_area.py); not declared outputs
WORK = f"{RESULTS}/work"
# The interpreter snakemake runs in, for shell rules: kept out of params, so that starting
# snakemake through another name of it (python or python3, a moved venv) re-runs nothing.
PYTHON = sys.executable
DETECT_WEIGHTS = config["detect"]["weights"] or str(DETECTOR_WEIGHTS)
# FrameOptions: what the frames hold (temp and max_parts only say where and how many at once)
FRAME_OPTIONS = {
    k: v for k, v in config["frames"].items() if k not in ("temp", "max_parts")
}
LIST_KINDS = ["train_image", "val_image", "train_video", "val_video"]


def _one_of(names):
    """A wildcard constraint that matches exactly these names (none: nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    part=_one_of(PLAN.parts),
    split=_one_of(PLAN.splits),
    model=_one_of(PLAN.train_order),


def part_dir(part):
    return os.path.join(config["data_root"], part)


def get_part_metadata(wildcards):
    if config["demo"]["build"]:
        # the demo's videos exist only once the checkpoint ran: re-evaluate the DAG after it
        checkpoints.build_demo_data.get()
    return os.path.join(part_dir(wildcards.part), "metadata.json")


_SIGNATURES = {}


def get_videos_signature(wildcards):
    """Names, sizes and mtimes of the part's videos, as a param: a changed video re-runs its
    part, and the DAG needs neither 2,400 inputs per part nor to open any video. Computed once
    per part and run, never cached before the demo checkpoint built the folder."""
    part = wildcards.part
    if part not in _SIGNATURES and os.path.isdir(part_dir(part)):
        _SIGNATURES[part] = part_signature(part_dir(part))
    return _SIGNATURES.get(part) or part_signature(part_dir(part))


def get_work_area(rule, wildcards):
    """This part's work area for a rule: where its finished videos survive a failed job."""
    return f"{WORK}/{rule}/{wildcards.part}"


def get_frames_turn(wildcards):
    """The detection a part's frame extraction waits for (frames.max_parts bounds scratch)."""
    after = frames_turn_after(
        PLAN.parts,
        wildcards.part,
        config["frames"]["max_parts"],
        config["frames"]["temp"],
    )
    return [f"{RESULTS}/detections/{after}"] if after else []


def frames_output(path):
    return temp(directory(path)) if config["frames"]["temp"] else directory(path)


def list_files(splits):
    return expand(
        f"{RESULTS}/lists/{{split}}/{{kind}}.txt", split=splits, kind=LIST_KINDS
    )


def get_split_manifests(wildcards):
    """The manifests of a split's train and val parts (an error naming the missing parts when
    the configured parts cannot form it)."""
    train, val = split_parts(config, wildcards.split)
    return {
        "train": [f"{RESULTS}/manifests/{p}.tsv" for p in train],
        "val": [f"{RESULTS}/manifests/{p}.tsv" for p in val],
    }


def split_faces(split):
    train, val = split_parts(config, split)
    return [f"{RESULTS}/faces/{p}" for p in sorted(set(train) | set(val))]


def get_train_inputs(wildcards):
    """Everything train_model reads for one block: its config file, lists, the crops of its
    split's parts, and the checkpoint it starts from (init / init_model)."""
    block = PLAN.blocks[wildcards.model]
    lists = f"{RESULTS}/lists/{block['split']}"
    return {
        "config": f"{RESULTS}/models/{wildcards.model}/model_config.yaml",
        "train_list": f"{lists}/train_{block['kind']}.txt",
        "val_list": f"{lists}/val_{block['kind']}.txt",
        "faces": split_faces(block["split"]),
        "init": [block["init"]] if block["init"] else [],
    }


def get_block(wildcards):
    return PLAN.blocks[wildcards.model]


def get_training_block(wildcards):
    return training_block(PLAN.blocks[wildcards.model])


def get_gpus(wildcards):
    return PLAN.blocks[wildcards.model]["gpus"]


def get_ensemble_inputs(wildcards):
    """Manifests and face folders of the ensemble split's val parts (an input function, so an
    absent split fails only when its outputs are asked for)."""
    val = split_parts(config, PLAN.ensemble_split)[1]
    return {
        "manifests": [f"{RESULTS}/manifests/{p}.tsv" for p in val],
        "faces": [f"{RESULTS}/faces/{p}" for p in val],
    }


_PREDICT_CHECKPOINTS = {}


def predict_checkpoints():
    """{model: (best.pt, block)} that predict scores with: the run's trained models, or those
    of the folder `predict_models` names (e.g. the seed's imported checkpoints)."""
    if not _PREDICT_CHECKPOINTS:
        if config["predict_models"]:
            from rf_models.predict import find_models  # loads PyTorch: only when asked

            _PREDICT_CHECKPOINTS.update(find_models(config["predict_models"], config))
        else:
            _PREDICT_CHECKPOINTS.update(
                {
                    m: (f"{RESULTS}/models/{m}/best.pt", PLAN.blocks[m])
                    for m in PLAN.trained
                }
            )
    return _PREDICT_CHECKPOINTS


def get_predict_inputs(wildcards):
    if not config["predict_dir"]:
        raise ValueError(
            "predict needs a folder of videos: snakemake predict --config predict_dir=<folder>"
        )
    if config["demo"]["build"]:
        checkpoints.build_demo_data.get()
    found = predict_checkpoints()
    configs = [
        os.path.join(os.path.dirname(p), "model_config.yaml") for p, _ in found.values()
    ]
    # a model of a `predict_models` folder without a model_config.yaml takes the config's block
    if config["predict_models"]:
        configs = [c for c in configs if os.path.exists(c)]
    return {
        "checkpoints": [str(path) for path, _ in found.values()],
        "configs": configs,
        "weights": DETECT_WEIGHTS,
        "onnx": rules.export_detector.output.onnx,
    }


def get_final_output():
    """What `all` builds: every part's manifest, the lists, the trained models, the ensemble
    and its report figures, and the predict folder's submission when one is set."""
    out = expand(f"{RESULTS}/manifests/{{part}}.tsv", part=PLAN.parts)
    out += list_files(PLAN.list_splits)
    out += [f"{RESULTS}/models/{m}/best.pt" for m in PLAN.trained]
    if PLAN.ensemble:
        out += [f"{RESULTS}/ensemble/{PLAN.ensemble_split}/scores.csv"]
        out += expand(f"{RESULTS}/report/{{figure}}.png", figure=FIGURE_NAMES)
    if config["predict_dir"]:
        out.append(f"{RESULTS}/predict/submission.csv")
    return out
