# Training/validation lists per split (seed-facts section 5).
from rf_models.config import split_parts


def split_manifests(kind):
    def inputs(wildcards):
        train, val = split_parts(config, wildcards.split)
        parts = train if kind == "train" else val
        return [f"{RESULTS}/manifests/{p}.tsv" for p in parts]

    return inputs


rule make_lists:
    input:
        train=split_manifests("train"),
        val=split_manifests("val"),
    output:
        **{kind: f"{RESULTS}/lists/{{split}}/{kind}.txt" for kind in LIST_KINDS},
    params:
        image_stride=config["lists"]["image_stride"],
        video_stride=config["lists"]["video_stride"],
        frame_stride=config["frames"]["stride"],
        ext=config["align"]["format"],
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{LOGS}/make_lists/{{split}}.log",
    benchmark:
        f"{BENCH}/make_lists/{{split}}.tsv"
    script:
        "../workflow_scripts/make_lists.py"
