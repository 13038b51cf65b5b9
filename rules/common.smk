# Shared set-up: validated config, part names, paths and input functions.
import os
import re
import sys

from snakemake.logging import logger

from rf_models.config import part_names, split_parts, split_problem, validate_config
from rf_models.train.config import (
    init_chain,
    models_to_train,
    resolve_model_block,
    training_block,
)
from rf_models.data.dfdc import part_signature
from rf_models.paths import DETECTOR_WEIGHTS
from rf_models.report.registry import FIGURE_NAMES, FIGURES
from rf_models.scratch import frames_turn_after

config.update(validate_config(config))

RESULTS = config["results_dir"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
# per-video results kept across failed jobs (rf_models/work_area.py); not declared outputs
WORK = f"{RESULTS}/work"
PARTS = part_names(config)
DETECT_WEIGHTS = config["detect"]["weights"] or str(DETECTOR_WEIGHTS)
# FrameOptions: what the frames hold (temp and max_parts only say where and how many at once)
FRAME_OPTIONS = {
    k: v for k, v in config["frames"].items() if k not in ("temp", "max_parts")
}
LIST_KINDS = ["train_image", "val_image", "train_video", "val_video"]
# train.models, and the blocks they start from (init_model), which are trained but not scored
TRAIN_ORDER = models_to_train(config)


wildcard_constraints:
    part="[^/]+",
    split="[^/]+",
    # only the models this run trains (names [A-Za-z0-9_.-]+, checked by the schema)
    model="|".join(re.escape(m) for m in TRAIN_ORDER) or "(?!)",


def part_dir(part):
    return os.path.join(config["data_root"], part)


def part_metadata(wildcards):
    if config["demo"]["build"]:
        # the demo's videos exist only once the checkpoint ran: re-evaluate the DAG after it
        checkpoints.build_demo_data.get()
    return os.path.join(part_dir(wildcards.part), "metadata.json")


_SIGNATURES = {}


def _signature(part):
    # computed once per part and run; never cached before the demo checkpoint built the folder
    if part not in _SIGNATURES and os.path.isdir(part_dir(part)):
        _SIGNATURES[part] = part_signature(part_dir(part))
    return _SIGNATURES.get(part) or part_signature(part_dir(part))


def videos_signature(wildcards):
    """Names, sizes and mtimes of the part's videos, as a param: a changed video re-runs its
    part, and the DAG needs neither 2,400 inputs per part nor to open any video."""
    return _signature(wildcards.part)


def list_outputs(splits):
    return expand(
        f"{RESULTS}/lists/{{split}}/{{kind}}.txt", split=splits, kind=LIST_KINDS
    )


def frames_output(path):
    return temp(directory(path)) if config["frames"]["temp"] else directory(path)


def work_area(rule):
    """This part's work area for a rule: where its finished videos survive a failed job."""
    return lambda wildcards: f"{WORK}/{rule}/{wildcards.part}"


def frames_turn_input(wildcards):
    """The detection a part's frame extraction waits for (frames.max_parts bounds scratch)."""
    after = frames_turn_after(
        PARTS, wildcards.part, config["frames"]["max_parts"], config["frames"]["temp"]
    )
    return [f"{RESULTS}/detections/{after}"] if after else []


def split_manifests(kind):
    def inputs(wildcards):
        train, val = split_parts(config, wildcards.split)
        parts = train if kind == "train" else val
        return [f"{RESULTS}/manifests/{p}.tsv" for p in parts]

    return inputs


MODEL_BLOCKS = {m: resolve_model_block(config, m) for m in TRAIN_ORDER}
# how many blocks start from each one (directly or through another)
INIT_USERS = {
    m: sum(m in init_chain(config, n)[1:] for n in MODEL_BLOCKS) for m in MODEL_BLOCKS
}

# Subset runs: a split that `parts` cannot form, and the models and ensemble that need it, are
# left out of `all` with a warning; asking for their outputs fails with the reason.
ABSENT_SPLITS = {
    s: why for s in config["lists"]["splits"] if (why := split_problem(config, s))
}
TRAINED = [
    m
    for m in config["train"]["models"]
    if all(MODEL_BLOCKS[s]["split"] not in ABSENT_SPLITS for s in init_chain(config, m))
]
ENSEMBLE_SPLIT = config["ensemble"]["split"]
_unused = []
for _split, _why in ABSENT_SPLITS.items():
    _needs = [
        m
        for m in MODEL_BLOCKS
        if any(MODEL_BLOCKS[s]["split"] == _split for s in init_chain(config, m))
    ]
    _needs += ["the ensemble"] if _split == ENSEMBLE_SPLIT else []
    if _needs:
        logger.warning(
            f"split {_split} is left out: {_why}; left out with it: {', '.join(_needs)}"
        )
    else:
        _unused.append(_split)
if _unused:
    # e.g. the demo's: its models train on splits of their own (train.overrides.splits)
    logger.info(
        f"splits that these parts cannot form, used by nothing: {', '.join(_unused)}"
    )


def model_list(model, subset):
    block = MODEL_BLOCKS[model]
    return f"{RESULTS}/lists/{block['split']}/{subset}_{block['kind']}.txt"


def trained_models():
    return [f"{RESULTS}/models/{m}/best.pt" for m in TRAINED]


def split_faces(split):
    train, val = split_parts(config, split)
    return [f"{RESULTS}/faces/{p}" for p in sorted(set(train) | set(val))]


def ensemble_inputs(kind):
    """Manifests or face folders of the ensemble split's val parts (an input function, so an
    absent split fails only when its outputs are asked for)."""

    def inputs(wildcards):
        val = split_parts(config, ENSEMBLE_SPLIT)[1]
        return [
            f"{RESULTS}/{kind}/{p}{'.tsv' if kind == 'manifests' else ''}" for p in val
        ]

    return inputs


def ensemble_outputs():
    if not TRAINED or ENSEMBLE_SPLIT in ABSENT_SPLITS:
        return []
    return [
        f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/scores.csv",
        *expand(f"{RESULTS}/report/{{figure}}.png", figure=FIGURE_NAMES),
    ]


def predict_inputs(wildcards):
    if not config["predict_dir"]:
        raise ValueError(
            "predict needs a folder of videos: snakemake predict --config predict_dir=<folder>"
        )
    if config["demo"]["build"]:
        checkpoints.build_demo_data.get()
    return {
        "checkpoints": [f"{RESULTS}/models/{m}/best.pt" for m in TRAINED],
        "configs": [f"{RESULTS}/models/{m}/model_config.yaml" for m in TRAINED],
        "weights": DETECT_WEIGHTS,
        "onnx": rules.export_detector.output.onnx,
    }
