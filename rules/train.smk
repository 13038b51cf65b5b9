# train_<model>: one rule per model block in train.models (seed-facts section 6).


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


for _model, _block in MODEL_BLOCKS.items():

    # Checkpoints (last.pt) are deliberately not declared outputs: Snakemake deletes the
    # outputs of a failed job, and a re-run must resume from last.pt.
    rule:
        name:
            f"train_{_model}"
        input:
            config=f"{RESULTS}/models/{_model}/model_config.yaml",
            train_list=f"{RESULTS}/lists/{_block['split']}/train_{_block['kind']}.txt",
            val_list=f"{RESULTS}/lists/{_block['split']}/val_{_block['kind']}.txt",
            faces=split_faces(_block["split"]),
            init=[_block["init"]] if _block["init"] else [],
        output:
            best=f"{RESULTS}/models/{_model}/best.pt",
            metrics=f"{RESULTS}/models/{_model}/metrics.csv",
            curves=f"{RESULTS}/models/{_model}/curves.png",
        log:
            f"{LOGS}/train/{_model}.log",
        benchmark:
            f"{BENCH}/train/{_model}.tsv"
        conda:
            "envs/rf-workflow.yaml"
        threads: 2
        resources:
            # one task per GPU on a cluster; profiles/slurm sets mpi: srun for these rules
            gpu=_block["gpus"],
            tasks=_block["gpus"],
            tasks_per_gpu=1,
            mpi="none",
            mem_mb=lambda wc, attempt: 8000 * attempt,
            runtime=lambda wc, attempt: 2880 * attempt,
        params:
            model=_model,
            block=training_block(_block),
            out_dir=lambda wc, output: os.path.dirname(output.best),
            crops=lambda wc, input: os.path.dirname(input.faces[0]),
            device=config["train"]["device"],
            python=sys.executable,
        shell:
            "launch=''; "
            "if [ '{resources.mpi}' != none ]; then launch='{resources.mpi} -n {resources.tasks}'; fi; "
            "$launch {params.python} -m rf_models.train --config {input.config} "
            "--model {params.model} --train-list {input.train_list} --val-list {input.val_list} "
            "--crops {params.crops} --out {params.out_dir} --device {params.device} "
            ">> {log} 2>&1"
