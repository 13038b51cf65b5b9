# train_<model>: one rule per model block in train.models (docs/reproduction.md §6).


rule model_config:
    output:
        f"{RESULTS}/models/{{model}}/model_config.yaml",
    log:
        f"{LOGS}/model_config/{{model}}.log",
    benchmark:
        f"{BENCH}/model_config/{{model}}.tsv"
    localrule: True
    conda:
        "envs/rf-workflow.yaml"
    params:
        block=lambda wc: training_block(MODEL_BLOCKS[wc.model]),
    script:
        "../workflow_scripts/model_config.py"


# Checkpoints (last.pt) are deliberately not declared outputs: Snakemake deletes the outputs
# of a failed job, and a re-run must resume from last.pt.
rule train_model:
    input:
        config=f"{RESULTS}/models/{{model}}/model_config.yaml",
        train_list=lambda wc: model_list(wc.model, "train"),
        val_list=lambda wc: model_list(wc.model, "val"),
        faces=lambda wc: split_faces(MODEL_BLOCKS[wc.model]["split"]),
        init=lambda wc: (
            [MODEL_BLOCKS[wc.model]["init"]] if MODEL_BLOCKS[wc.model]["init"] else []
        ),
    output:
        best=f"{RESULTS}/models/{{model}}/best.pt",
        metrics=f"{RESULTS}/models/{{model}}/metrics.csv",
        curves=f"{RESULTS}/models/{{model}}/curves.png",
    log:
        f"{LOGS}/train/{{model}}.log",
    benchmark:
        f"{BENCH}/train/{{model}}.tsv"
    # a block that others start from (init_model) holds them up: it goes first
    priority: lambda wc: INIT_USERS[wc.model]
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        # One task per GPU, the block's gpus (the seed's world size); on fewer processes
        # training accumulates. profiles/slurm sets mpi: srun.
        gpu=lambda wc: MODEL_BLOCKS[wc.model]["gpus"],
        tasks=lambda wc: MODEL_BLOCKS[wc.model]["gpus"],
        tasks_per_gpu=1,
        mpi="none",
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 2880 * attempt,
    params:
        model="{model}",
        block=lambda wc: training_block(MODEL_BLOCKS[wc.model]),
        out_dir=lambda wc, output: os.path.dirname(output.best),
        crops=lambda wc, input: os.path.dirname(input.faces[0]),
        device=config["train"]["device"],
        python=sys.executable,
    shell:
        "launch=''; "
        "if [ {resources.mpi:q} != none ]; then launch={resources.mpi:q}' -n '{resources.tasks:q}; fi; "
        "$launch {params.python:q} -m rf_models.train --config {input.config:q} "
        "--model {params.model:q} --train-list {input.train_list:q} --val-list {input.val_list:q} "
        "--crops {params.crops:q} --out {params.out_dir:q} --device {params.device:q} "
        ">> {log:q} 2>&1"
