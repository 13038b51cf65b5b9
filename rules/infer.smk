# Inference: predict_model ({model}) on the ensemble split, the seed's ensemble, report
# figures, and `predict`: a folder of new videos end to end into submission.csv
# (docs/reproduction.md §4, 7).


rule predict_model:
    input:
        unpack(get_ensemble_inputs),
        best=f"{RESULTS}/models/{{model}}/best.pt",
        config=f"{RESULTS}/models/{{model}}/model_config.yaml",
    output:
        f"{RESULTS}/predictions/{PLAN.ensemble_split}/{{model}}.npz",
    log:
        f"{LOGS}/predict/{{model}}.log",
    benchmark:
        f"{BENCH}/predict/{{model}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        model="{model}",
        block=get_block,
        crops=f"{RESULTS}/faces",
        ext=config["align"]["format"],
        frame_stride=config["frames"]["stride"],
        sampling=config["predict"],
        device=config["train"]["device"],
    script:
        "../workflow_scripts/predict_split.py"


rule ensemble:
    input:
        predictions=expand(
            f"{RESULTS}/predictions/{PLAN.ensemble_split}/{{model}}.npz",
            model=PLAN.trained,
        ),
        manifests=lambda wc: get_ensemble_inputs(wc)["manifests"],
    output:
        scores=f"{RESULTS}/ensemble/{PLAN.ensemble_split}/scores.csv",
        metrics=f"{RESULTS}/ensemble/{PLAN.ensemble_split}/metrics.csv",
        metrics_json=f"{RESULTS}/ensemble/{PLAN.ensemble_split}/metrics.json",
        combiners=f"{RESULTS}/ensemble/{PLAN.ensemble_split}/combiners.json",
    log:
        f"{LOGS}/ensemble/{PLAN.ensemble_split}.log",
    benchmark:
        f"{BENCH}/ensemble/{PLAN.ensemble_split}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        models=PLAN.trained,
        policy=config["ensemble"]["policy"],
        combiners=config["ensemble"]["combiners"],
        primary=config["ensemble"]["primary"],
    script:
        "../workflow_scripts/ensemble.py"


rule report_figures:
    input:
        scores=rules.ensemble.output.scores,
        metrics=rules.ensemble.output.metrics,
        train_metrics=expand(
            f"{RESULTS}/models/{{model}}/metrics.csv", model=PLAN.trained
        ),
        manifests=expand(f"{RESULTS}/manifests/{{part}}.tsv", part=PLAN.parts),
    output:
        **{
            f.name: report(
                f"{RESULTS}/report/{f.name}.png",
                caption=f"report/{f.name}.rst",
                category=f.category,
            )
            for f in FIGURES
        },
    log:
        f"{LOGS}/report_figures.log",
    benchmark:
        f"{BENCH}/report_figures.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=PLAN.trained,
    script:
        "../workflow_scripts/report_figures.py"


rule predict_videos:
    input:
        unpack(get_predict_inputs),
    output:
        submission=f"{RESULTS}/predict/submission.csv",
        details=f"{RESULTS}/predict/details.csv",
        predictions=f"{RESULTS}/predict/predictions.json",
        pictures=report(
            directory(f"{RESULTS}/predict/pictures"),
            patterns=["{name}.png"],
            caption="report/predict_pictures.rst",
            category="Predict",
        ),
    log:
        f"{LOGS}/predict_videos.log",
    benchmark:
        f"{BENCH}/predict_videos.tsv"
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    params:
        folder=config["predict_dir"],
        videos=lambda wc: part_signature(config["predict_dir"]),
        models=lambda wc: list(predict_checkpoints()),
        blocks=lambda wc: {m: block for m, (_, block) in predict_checkpoints().items()},
        policy=config["ensemble"]["policy"],
        # rf_models/infer/predict_options.py: the detector's and the sampling's settings
        options=asdict(PredictOptions.from_config(config)),
        # each video's result survives a failed job here (rf_models/work_area.py)
        work=f"{WORK}/predict_videos",
    script:
        "../workflow_scripts/predict_videos.py"


rule predict:
    input:
        rules.predict_videos.output.submission,
        rules.predict_videos.output.pictures,
