# rf-workflow: RobustForensics (DFDC 4th place) as file targets, per DFDC part.
# Stages: extract_frames -> detect_faces -> track_faces -> align_faces -> make_lists
# -> train_model -> predict_model -> ensemble -> report; predict: new videos -> submission.csv.
import os

from snakemake.utils import min_version

min_version("9.0")


# the repository's config.yaml wherever the working directory (-d) is; --configfile merges over it
configfile: os.path.join(workflow.basedir, "config.yaml")


report: "rules/report/workflow.rst"


# rules/common.smk puts snakemake's interpreter first on it for shell rules
envvars:
    "PATH",


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/preprocess.smk"
include: "rules/lists.smk"
include: "rules/train.smk"
include: "rules/infer.smk"
include: "rules/evaluate.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
