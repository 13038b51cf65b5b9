# rf-workflow: RobustForensics (DFDC 4th place) as file targets, per DFDC part.
# Stages: extract_frames -> detect_faces -> track_faces -> align_faces -> make_lists.
from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces config.yaml instead of merging into it (the demo's parts and splits
# must not inherit the full run's).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"


if config["demo"]["build"]:

    include: "rules/demo.smk"


include: "rules/preprocess.smk"
include: "rules/lists.smk"


rule all:
    input:
        expand(f"{RESULTS}/manifests/{{part}}.tsv", part=PARTS),
        list_outputs(config["lists"]["splits"]),
    default_target: True
