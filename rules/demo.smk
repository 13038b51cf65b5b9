# The demo dataset: real face photos from installed packages composed into DFDC-like parts.


checkpoint build_demo_data:
    output:
        data=directory(config["data_root"]),
    log:
        f"{LOGS}/build_demo_data.log",
    benchmark:
        f"{BENCH}/build_demo_data.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        root=config["data_root"],
        n_parts=len(PLAN.parts) + config["demo"]["heldout_parts"],
        demo={
            k: v
            for k, v in config["demo"].items()
            if k not in ("build", "heldout_parts")
        },
    script:
        "../workflow_scripts/build_demo_data.py"
