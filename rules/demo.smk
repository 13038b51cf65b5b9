# The demo dataset: real face photos from installed packages composed into DFDC-like parts,
# and (make evaluate) two more datasets in FaceForensics++'s and Celeb-DF's layouts.


if config["demo"]["build"]:

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
                if k not in ("build", "heldout_parts", "evaluation")
            },
        script:
            "../workflow_scripts/build_demo_data.py"


if config["demo"]["evaluation"]["build"]:

    checkpoint build_eval_data:
        output:
            data=directory(config["demo"]["evaluation"]["root"]),
        log:
            f"{LOGS}/build_eval_data.log",
        benchmark:
            f"{BENCH}/build_eval_data.tsv"
        conda:
            "envs/rf-workflow.yaml"
        resources:
            mem_mb=2000,
            runtime=30,
        params:
            root=config["demo"]["evaluation"]["root"],
            options={
                k: v
                for k, v in config["demo"]["evaluation"].items()
                if k not in ("build", "root")
            },
        script:
            "../workflow_scripts/build_eval_data.py"
