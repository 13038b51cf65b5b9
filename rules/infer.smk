# Inference: predict_<model> on the ensemble split, the seed's ensemble, report figures, and
# `predict`: a folder of new videos end to end into submission.csv (docs/reproduction.md §4, 7).


rule predict_model:
    input:
        best=f"{RESULTS}/models/{{model}}/best.pt",
        config=f"{RESULTS}/models/{{model}}/model_config.yaml",
        manifests=ensemble_inputs("manifests"),
        faces=ensemble_inputs("faces"),
    output:
        f"{RESULTS}/predictions/{ENSEMBLE_SPLIT}/{{model}}.npz",
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
        block=lambda wc: MODEL_BLOCKS[wc.model],
        crops=lambda wc, input: os.path.dirname(input.faces[0]),
        ext=config["align"]["format"],
        frame_stride=config["frames"]["stride"],
        sampling=config["predict"],
        device=config["train"]["device"],
    script:
        "../workflow_scripts/predict_split.py"


rule ensemble:
    input:
        predictions=expand(
            f"{RESULTS}/predictions/{{split}}/{{model}}.npz",
            split=ENSEMBLE_SPLIT,
            model=TRAINED,
        ),
        manifests=ensemble_inputs("manifests"),
    output:
        scores=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/scores.csv",
        metrics=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/metrics.csv",
        metrics_json=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/metrics.json",
        combiners=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/combiners.json",
    log:
        f"{LOGS}/ensemble/{ENSEMBLE_SPLIT}.log",
    benchmark:
        f"{BENCH}/ensemble/{ENSEMBLE_SPLIT}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        models=TRAINED,
        policy=config["ensemble"]["policy"],
        combiners=config["ensemble"]["combiners"],
        primary=config["ensemble"]["primary"],
    script:
        "../workflow_scripts/ensemble.py"


rule report_figures:
    input:
        scores=rules.ensemble.output.scores,
        metrics=rules.ensemble.output.metrics,
        train_metrics=expand(f"{RESULTS}/models/{{model}}/metrics.csv", model=TRAINED),
        manifests=expand(f"{RESULTS}/manifests/{{part}}.tsv", part=PARTS),
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
        models=TRAINED,
    script:
        "../workflow_scripts/report_figures.py"


rule predict_videos:
    input:
        unpack(predict_inputs),
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
        models=TRAINED,
        blocks={m: MODEL_BLOCKS[m] for m in TRAINED},
        policy=config["ensemble"]["policy"],
        sampling=config["predict"],
        detect=config["detect"],
        device=config["train"]["device"],
        # each video's result survives a failed job here (rf_models/work_area.py)
        work=f"{WORK}/predict_videos",
    script:
        "../workflow_scripts/predict_videos.py"


rule predict:
    input:
        rules.predict_videos.output.submission,
        rules.predict_videos.output.pictures,
