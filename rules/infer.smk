# Inference: predict_<model> on the ensemble split, the seed's ensemble, report figures, and
# `predict`: a folder of new videos end to end into submission.csv (seed-facts sections 4, 7).

ENSEMBLE_SPLIT = config["ensemble"]["split"]
FIGURES = [
    "roc",
    "reliability",
    "histograms",
    "metrics_table",
    "combiners",
    "training_curves",
    "manifest_summary",
]


def val_parts(split):
    return split_parts(config, split)[1]


def ensemble_outputs():
    if not MODEL_BLOCKS:
        return []
    return [
        f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/scores.csv",
        *expand(f"{RESULTS}/report/{{figure}}.png", figure=FIGURES),
    ]


for _model, _block in MODEL_BLOCKS.items():

    rule:
        name:
            f"predict_{_model}"
        input:
            best=f"{RESULTS}/models/{_model}/best.pt",
            config=f"{RESULTS}/models/{_model}/model_config.yaml",
            manifests=[f"{RESULTS}/manifests/{p}.tsv" for p in val_parts(ENSEMBLE_SPLIT)],
            faces=[f"{RESULTS}/faces/{p}" for p in val_parts(ENSEMBLE_SPLIT)],
        output:
            f"{RESULTS}/predictions/{ENSEMBLE_SPLIT}/{_model}.npz",
        params:
            model=_model,
            block=_block,
            crops=f"{RESULTS}/faces",
            ext=config["align"]["format"],
            frame_stride=config["frames"]["stride"],
            sampling=config["predict"],
            device=config["train"]["device"],
        threads: 2
        resources:
            gpu=1,
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 120 * attempt,
        log:
            f"{LOGS}/predict/{_model}.log",
        benchmark:
            f"{BENCH}/predict/{_model}.tsv"
        script:
            "../workflow_scripts/predict_split.py"


rule ensemble:
    input:
        predictions=expand(
            f"{RESULTS}/predictions/{{split}}/{{model}}.npz",
            split=ENSEMBLE_SPLIT,
            model=MODEL_BLOCKS,
        ),
        manifests=[f"{RESULTS}/manifests/{p}.tsv" for p in val_parts(ENSEMBLE_SPLIT)],
    output:
        scores=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/scores.csv",
        metrics=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/metrics.csv",
        metrics_json=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/metrics.json",
        combiners=f"{RESULTS}/ensemble/{ENSEMBLE_SPLIT}/combiners.json",
    params:
        models=list(MODEL_BLOCKS),
        policy=config["ensemble"]["policy"],
        combiners=config["ensemble"]["combiners"],
        primary=config["ensemble"]["primary"],
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    log:
        f"{LOGS}/ensemble/{ENSEMBLE_SPLIT}.log",
    benchmark:
        f"{BENCH}/ensemble/{ENSEMBLE_SPLIT}.tsv"
    script:
        "../workflow_scripts/ensemble.py"


rule report_figures:
    input:
        scores=rules.ensemble.output.scores,
        metrics=rules.ensemble.output.metrics,
        train_metrics=expand(f"{RESULTS}/models/{{model}}/metrics.csv", model=MODEL_BLOCKS),
        manifests=expand(f"{RESULTS}/manifests/{{part}}.tsv", part=PARTS),
    output:
        **{
            figure: report(
                f"{RESULTS}/report/{figure}.png",
                caption=f"report/{figure}.rst",
                category="Results" if figure not in ("training_curves", "manifest_summary")
                else "Training and data",
            )
            for figure in FIGURES
        },
    params:
        models=list(MODEL_BLOCKS),
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{LOGS}/report_figures.log",
    benchmark:
        f"{BENCH}/report_figures.tsv"
    script:
        "../workflow_scripts/report_figures.py"


def predict_inputs(wildcards):
    if not config["predict_dir"]:
        raise ValueError(
            "predict needs a folder of videos: snakemake predict --config predict_dir=<folder>"
        )
    if config["demo"]["build"]:
        checkpoints.build_demo_data.get()
    return {
        "checkpoints": [f"{RESULTS}/models/{m}/best.pt" for m in MODEL_BLOCKS],
        "configs": [f"{RESULTS}/models/{m}/model_config.yaml" for m in MODEL_BLOCKS],
        "weights": DETECT_WEIGHTS,
        "onnx": rules.export_detector.output.onnx,
    }


rule predict_videos:
    input:
        unpack(predict_inputs),
    output:
        submission=f"{RESULTS}/predict/submission.csv",
        details=f"{RESULTS}/predict/details.csv",
    params:
        folder=config["predict_dir"],
        videos=lambda wc: part_signature(config["predict_dir"]),
        models=list(MODEL_BLOCKS),
        blocks=MODEL_BLOCKS,
        policy=config["ensemble"]["policy"],
        sampling=config["predict"],
        detect=config["detect"],
        device=config["train"]["device"],
    threads: 2
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    log:
        f"{LOGS}/predict_videos.log",
    benchmark:
        f"{BENCH}/predict_videos.tsv"
    script:
        "../workflow_scripts/predict_videos.py"


rule predict:
    input:
        rules.predict_videos.output.submission,
