# Shared set-up: validated config, part names, paths and input functions.
import os

from rf_models.config import part_names, validate_config
from rf_models.detect.backends import default_weights_path


config.update(validate_config(config))

RESULTS = config["results_dir"]
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
PARTS = part_names(config)
DETECT_WEIGHTS = config["detect"]["weights"] or str(default_weights_path())
LIST_KINDS = ["train_image", "val_image", "train_video", "val_video"]


wildcard_constraints:
    part="[^/]+",
    split="[^/]+",


def part_dir(part):
    return os.path.join(config["data_root"], part)


def part_videos(wildcards):
    """The part's videos by name only: listing, never opening, keeps dry runs fast."""
    folder = part_dir(wildcards.part)
    with os.scandir(folder) as it:
        names = sorted(e.name for e in it if e.name.endswith(".mp4"))
    return [os.path.join(folder, n) for n in names]


def list_outputs(splits):
    return expand(f"{RESULTS}/lists/{{split}}/{{kind}}.txt", split=splits, kind=LIST_KINDS)


def frames_output(path):
    return temp(directory(path)) if config["frames"]["temp"] else directory(path)
