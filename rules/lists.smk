# Training/validation lists per split (docs/reproduction.md §5).


rule make_lists:
    input:
        unpack(get_split_manifests),
    output:
        **{kind: f"{RESULTS}/lists/{{split}}/{kind}.txt" for kind in LIST_KINDS},
    log:
        f"{LOGS}/make_lists/{{split}}.log",
    benchmark:
        f"{BENCH}/make_lists/{{split}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        image_stride=config["lists"]["image_stride"],
        video_stride=config["lists"]["video_stride"],
        frame_stride=config["frames"]["stride"],
        ext=config["align"]["format"],
    script:
        "../workflow_scripts/make_lists.py"
