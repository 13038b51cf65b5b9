# train_model: one job per model block ({model}: train.models and the blocks they start
# from), docs/reproduction.md §6.


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
        block=get_training_block,
    script:
        "../workflow_scripts/model_config.py"


# Checkpoints (last.pt) are deliberately not declared outputs: Snakemake deletes the outputs
# of a failed job, and a re-run must resume from last.pt.
rule train_model:
    input:
        unpack(get_train_inputs),
    output:
        best=f"{RESULTS}/models/{{model}}/best.pt",
        metrics=f"{RESULTS}/models/{{model}}/metrics.csv",
        curves=f"{RESULTS}/models/{{model}}/curves.png",
    log:
        f"{LOGS}/train/{{model}}.log",
    benchmark:
        f"{BENCH}/train/{{model}}.tsv"
    # a block that others start from (init_model) holds them up: it goes first
    priority: lambda wc: PLAN.init_users[wc.model]
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        # One task per GPU, the block's gpus (the seed's world size); on fewer processes
        # training accumulates. profiles/slurm sets mpi: srun.
        gpu=get_gpus,
        tasks=get_gpus,
        tasks_per_gpu=1,
        mpi="none",
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 2880 * attempt,
    params:
        model="{model}",
        block=get_training_block,
        out_dir=lambda wc, output: os.path.dirname(output.best),
        crops=lambda wc, input: os.path.dirname(input.faces[0]),
        device=config["train"]["device"],
    shell:
        # --launcher: srun -n <tasks> under the Slurm profile's mpi, one process otherwise
        "python3 -m rf_models.train --launcher {resources.mpi:q} "
        "--tasks {resources.tasks:q} --config {input.config:q} "
        "--model {params.model:q} --train-list {input.train_list:q} --val-list {input.val_list:q} "
        "--crops {params.crops:q} --out {params.out_dir:q} --device {params.device:q} "
        ">> {log:q} 2>&1"
