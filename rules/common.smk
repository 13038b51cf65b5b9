# Shared set-up: the validated config, the run's plan (rf_models/run_plan.py), paths and the
# input functions every rule file uses (get_* names, as the snakemake-workflows catalog does).
import os
import re
import sys
from dataclasses import asdict

from snakemake.logging import logger

from rf_models.config import ConfigError, split_parts, validate_config
from rf_models.data.dfdc import part_signature
from rf_models.data.selection import (
    DatasetParts,
    dataset_of,
    dataset_part_pattern,
    split_part_names,
    uses_selectors,
)
from rf_models.evaluate.grid import (
    CONDITION_PATTERN,
    conditions,
    derived_part,
    split_derived,
)
from rf_models.infer.predict_options import PredictOptions
from rf_models.paths import DETECTOR_WEIGHTS
from rf_models.report.registry import FIGURE_NAMES, FIGURES
from rf_models.run_plan import plan_run
from rf_models.scratch import frames_turn_after
from rf_models.stages.align_options import AlignOptions, FrameEdit
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
# Shell rules run `python3`: the interpreter snakemake runs in comes first on PATH, as in an
# activated venv (--use-conda puts the env's before it). Its path stays out of params, so that
# starting snakemake through another name of it (python, a moved venv) re-runs nothing.
_BIN = os.path.dirname(sys.executable)
# once: a Slurm job's snakemake parses this again with the PATH it inherited
if os.environ.get("PATH", "").split(os.pathsep)[0] != _BIN:
    os.environ["PATH"] = os.pathsep.join([_BIN, os.environ.get("PATH", "")])
DETECT_WEIGHTS = config["detect"]["weights"] or str(DETECTOR_WEIGHTS)
# FrameOptions: what the frames hold (temp and max_parts only say where and how many at once)
FRAME_OPTIONS = {
    k: v for k, v in config["frames"].items() if k not in ("temp", "max_parts")
}
LIST_KINDS = ["train_image", "val_image", "train_video", "val_video"]
# align_faces' options as its param: a box crop's depend on format and quality only
ALIGN_OPTIONS = AlignOptions.from_config(config).record()
EVALUATE = config["evaluate"]
TEST_SETS = EVALUATE["test_sets"]
ROBUSTNESS = EVALUATE["robustness"]
CONDITIONS = conditions(ROBUSTNESS) if ROBUSTNESS["parts"] else []
# the grid's clean scores (level 0), under the same protocol
CLEAN = "clean"
# the evaluation protocol's sampling (evaluate.frames, evaluate.spacing)
EVALUATE_SAMPLING = {
    "max_frames": EVALUATE["frames"],
    "max_faces": config["predict"]["max_faces"],
    "spacing": EVALUATE["spacing"],
}
EVAL_DATA = config["demo"]["evaluation"]


def _one_of(names):
    """A wildcard constraint that matches exactly these names (none: nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def _built_by_demo(dataset):
    """Whether the demo's evaluation build writes this dataset (its root lies under it)."""
    root = os.path.abspath(config["datasets"][dataset]["root"])
    return EVAL_DATA["build"] and root.startswith(
        os.path.abspath(EVAL_DATA["root"]) + os.sep
    )


def _before_listing(dataset):
    if _built_by_demo(dataset):
        # the dataset exists only once the checkpoint ran: the DAG is re-evaluated after it
        checkpoints.build_eval_data.get()


# the configured datasets, listed and dealt into parts on first use (rf_models/data/selection.py)
DATASETS = DatasetParts(config, _before_listing)
_PART_PATTERNS = [re.escape(p) for p in PLAN.parts] + [
    dataset_part_pattern(d) for d in config["datasets"]
]


wildcard_constraints:
    # DFDC parts, dataset parts, and either under a perturbation (redetect robustness)
    part=f"(?:{'|'.join(_PART_PATTERNS) or '(?!)'})(?:~{CONDITION_PATTERN})?",
    split=_one_of(PLAN.splits),
    model=_one_of(PLAN.train_order),
    dataset=_one_of(config["datasets"]),
    test_set=_one_of(TEST_SETS),
    condition=_one_of(CONDITIONS),


def part_dir(part):
    return os.path.join(config["data_root"], part)


def perturbed_videos(condition, part):
    """The folder of a part's videos under a perturbation (redetect robustness)."""
    return f"{RESULTS}/robustness/{condition}/videos/{part}"


def get_part_metadata(wildcards):
    """What a part's jobs wait for: its DFDC metadata.json, the demo's built datasets, or the
    folder of its perturbed videos."""
    derived = split_derived(wildcards.part)
    if derived:
        return perturbed_videos(derived[1], derived[0])
    dataset = dataset_of(wildcards.part)
    if dataset is not None:
        DATASETS.parts(dataset)  # lists it (once the demo built it)
        return [EVAL_DATA["root"]] if _built_by_demo(dataset) else []
    if config["demo"]["build"]:
        # the demo's videos exist only once the checkpoint ran: re-evaluate the DAG after it
        checkpoints.build_demo_data.get()
    return os.path.join(part_dir(wildcards.part), "metadata.json")


def get_part_source(wildcards):
    """A part as its jobs read it: a DFDC-style folder, or a dataset part's videos as data."""
    derived = split_derived(wildcards.part)
    if derived:
        return perturbed_videos(derived[1], derived[0])
    if dataset_of(wildcards.part) is not None:
        return DATASETS.source(wildcards.part)
    return part_dir(wildcards.part)


_SIGNATURES = {}


def get_videos_signature(wildcards):
    """Names, sizes and mtimes of the part's videos, as a param: a changed video re-runs its
    part, and the DAG needs neither 2,400 inputs per part nor to open any video. Computed once
    per part and run, never cached before the demo checkpoint built the folder. A part of
    perturbed videos has its folder as an input instead."""
    part = wildcards.part
    if split_derived(part):
        return split_derived(part)[1]
    if dataset_of(part) is not None:
        return DATASETS.signature(part)
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


def get_align_inputs(wildcards):
    """Landmark crops read the part's detections (each video's landmarks file) too."""
    if ALIGN_OPTIONS.get("method") == "landmarks":
        return {"detections": f"{RESULTS}/detections/{wildcards.part}"}
    return {}


def frames_output(path):
    return temp(directory(path)) if config["frames"]["temp"] else directory(path)


def list_files(splits):
    return expand(
        f"{RESULTS}/lists/{{split}}/{{kind}}.txt", split=splits, kind=LIST_KINDS
    )


def get_split_parts(split):
    """(train parts, val parts) of a split: DFDC part numbers, or selectors of any dataset
    (an error naming the missing parts when the configured parts cannot form it)."""
    if uses_selectors(config, split):
        return split_part_names(config, split, DATASETS)
    return split_parts(config, split)


def get_split_manifests(wildcards):
    """The manifests of a split's train and val parts."""
    train, val = get_split_parts(wildcards.split)
    return {
        "train": [f"{RESULTS}/manifests/{p}.tsv" for p in train],
        "val": [f"{RESULTS}/manifests/{p}.tsv" for p in val],
    }


def split_faces(split):
    train, val = get_split_parts(split)
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
    val = get_split_parts(PLAN.ensemble_split)[1]
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


def get_fitted_combiners(wildcards):
    """An evaluation's ensembles score with the learned combiners the ensemble split fitted
    (never fitted on a test set's labels): its combiners.json and manifests; with no ensemble
    split, none (the learned combiners are skipped)."""
    if not PLAN.ensemble:
        return {"fitted_on": []}
    return {
        "fitted": f"{RESULTS}/ensemble/{PLAN.ensemble_split}/combiners.json",
        "fitted_on": get_ensemble_inputs(wildcards)["manifests"],
    }


_HELD_OUT = set()


def held_out(parts, where):
    """``parts``, checked once to share no part or video with a split that a scored model (or
    the model it starts from) trains or validates on."""
    if where not in _HELD_OUT:
        learned = {}
        for model in PLAN.train_order:
            split = PLAN.blocks[model]["split"]
            if split not in learned and split not in PLAN.absent_splits:
                learned[split] = [p for ps in get_split_parts(split) for p in ps]
        problem = DATASETS.training_overlap(parts, learned, part_dir)
        if problem:
            raise ConfigError(
                f"config key {where}: {problem}; a test set (and the robustness grid) must "
                "be held out from every split the models learn from"
            )
        _HELD_OUT.add(where)
    return parts


def test_set_parts(test_set):
    where = f"evaluate.test_sets.{test_set}"
    return held_out(DATASETS.select(TEST_SETS[test_set], where), where)


def get_test_set_inputs(wildcards):
    """The manifests and face folders of a test set's parts."""
    parts = test_set_parts(wildcards.test_set)
    return {
        "manifests": [f"{RESULTS}/manifests/{p}.tsv" for p in parts],
        "faces": [f"{RESULTS}/faces/{p}" for p in parts],
    }


def robustness_parts():
    where = "evaluate.robustness.parts"
    return held_out(DATASETS.select(ROBUSTNESS["parts"], where), where)


def _robustness_part_files(condition, part):
    """(manifest, face folder) of a part under a condition, in the grid's mode (clean: the
    part's own)."""
    if condition == CLEAN:
        return f"{RESULTS}/manifests/{part}.tsv", f"{RESULTS}/faces/{part}"
    if ROBUSTNESS["mode"] == "crops":
        where = f"{RESULTS}/robustness/{condition}"
        return f"{where}/manifests/{part}.tsv", f"{where}/faces/{part}"
    derived = derived_part(part, condition)
    return f"{RESULTS}/manifests/{derived}.tsv", f"{RESULTS}/faces/{derived}"


def get_robustness_inputs(wildcards):
    """Every condition's (and the clean) manifests and face folders of the grid's parts."""
    parts = robustness_parts()
    files = [_robustness_part_files(c, p) for c in [CLEAN, *CONDITIONS] for p in parts]
    return {"manifests": [m for m, _ in files], "faces": [f for _, f in files]}


def get_robustness_plan(wildcards):
    """{condition: {manifests, crops root}} for the robustness scoring and ensembles."""
    parts = robustness_parts()
    plan = {}
    for condition in [CLEAN, *CONDITIONS]:
        files = [_robustness_part_files(condition, p) for p in parts]
        plan[condition] = {
            "manifests": [m for m, _ in files],
            "crops": os.path.dirname(files[0][1]),
        }
    return plan


def get_frame_edit(wildcards):
    """The perturbation and the frames the evaluation samples, for a condition's crops."""
    edit = FrameEdit(
        perturbation=wildcards.condition,
        seed=ROBUSTNESS["seed"],
        max_frames=EVALUATE["frames"],
        spacing=EVALUATE["spacing"],
        frame_stride=config["frames"]["stride"],
    )
    return asdict(edit)


def get_evaluate_output():
    """What `evaluate` builds: the cross-dataset table and heat map, the robustness table and
    figure when a grid is configured, and the index of every configured dataset."""
    if not TEST_SETS:
        raise ValueError(
            "evaluate needs test sets: evaluate.test_sets in a configfile (docs/evaluation.md)"
        )
    if not PLAN.trained:
        raise ValueError("evaluate scores the trained models, and this run trains none")
    out = [f"{RESULTS}/evaluate/table.csv", f"{RESULTS}/evaluate/heatmap.png"]
    if CONDITIONS:
        out += [
            f"{RESULTS}/robustness/table.csv",
            f"{RESULTS}/robustness/auc_vs_level.png",
        ]
    out += [f"{RESULTS}/datasets/{d}.tsv" for d in config["datasets"]]
    return out
