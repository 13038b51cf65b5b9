# Evaluation: every trained model, the seed's ensemble and the combiners on every test set
# (evaluate.test_sets), and the robustness grid (evaluate.robustness); docs/evaluation.md.


# Every video of a configured dataset: its set, group, part and status before decoding.
rule index_dataset:
    input:
        lambda wc: [EVAL_DATA["root"]] if _built_by_demo(wc.dataset) else [],
    output:
        f"{RESULTS}/datasets/{{dataset}}.tsv",
    log:
        f"{LOGS}/index_dataset/{{dataset}}.log",
    benchmark:
        f"{BENCH}/index_dataset/{{dataset}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        block=lambda wc: config["datasets"][wc.dataset],
        videos=lambda wc: [DATASETS.signature(p) for p in DATASETS.parts(wc.dataset)],
    script:
        "../workflow_scripts/index_dataset.py"


# One model on one test set, with the evaluation protocol's frames.
use rule predict_model as predict_test_set with:
    input:
        unpack(get_test_set_inputs),
        best=f"{RESULTS}/models/{{model}}/best.pt",
        config=f"{RESULTS}/models/{{model}}/model_config.yaml",
    output:
        f"{RESULTS}/evaluate/{{test_set}}/predictions/{{model}}.npz",
    log:
        f"{LOGS}/evaluate/{{test_set}}/{{model}}.log",
    benchmark:
        f"{BENCH}/evaluate/{{test_set}}/{{model}}.tsv"
    params:
        model="{model}",
        block=get_block,
        crops=f"{RESULTS}/faces",
        ext=config["align"]["format"],
        frame_stride=config["frames"]["stride"],
        sampling=EVALUATE_SAMPLING,
        device=config["train"]["device"],


use rule ensemble as ensemble_test_set with:
    input:
        unpack(get_fitted_combiners),
        predictions=expand(
            f"{RESULTS}/evaluate/{{{{test_set}}}}/predictions/{{model}}.npz",
            model=PLAN.trained,
        ),
        manifests=lambda wc: get_test_set_inputs(wc)["manifests"],
    output:
        scores=f"{RESULTS}/evaluate/{{test_set}}/scores.csv",
        metrics=f"{RESULTS}/evaluate/{{test_set}}/metrics.csv",
        metrics_json=f"{RESULTS}/evaluate/{{test_set}}/metrics.json",
        combiners=f"{RESULTS}/evaluate/{{test_set}}/combiners.json",
    log:
        f"{LOGS}/evaluate/{{test_set}}/ensemble.log",
    benchmark:
        f"{BENCH}/evaluate/{{test_set}}/ensemble.tsv"


rule evaluate_table:
    input:
        metrics=expand(
            f"{RESULTS}/evaluate/{{test_set}}/metrics.csv", test_set=TEST_SETS
        ),
    output:
        table=f"{RESULTS}/evaluate/table.csv",
        metrics=f"{RESULTS}/evaluate/metrics.csv",
        heatmap=report(
            f"{RESULTS}/evaluate/heatmap.png",
            caption="report/evaluate_heatmap.rst",
            category="Evaluation",
        ),
    log:
        f"{LOGS}/evaluate/table.log",
    benchmark:
        f"{BENCH}/evaluate/table.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        test_sets=list(TEST_SETS),
    script:
        "../workflow_scripts/evaluate_table.py"


if CONDITIONS:

    # crops mode: the clean tracks, the crops cut from perturbed frames (the sampled ones only).
    rule perturb_crops:
        input:
            unpack(get_align_inputs),
            metadata=get_part_metadata,
            tracks=f"{RESULTS}/tracks/{{part}}",
            manifest=f"{RESULTS}/tracks/{{part}}.tsv",
        output:
            faces=directory(f"{RESULTS}/robustness/{{condition}}/faces/{{part}}"),
            manifest=f"{RESULTS}/robustness/{{condition}}/manifests/{{part}}.tsv",
        log:
            f"{LOGS}/perturb_crops/{{condition}}/{{part}}.log",
        benchmark:
            f"{BENCH}/perturb_crops/{{condition}}/{{part}}.tsv"
        conda:
            "envs/rf-workflow.yaml"
        threads: 2
        resources:
            mem_mb=lambda wc, attempt: 2000 * attempt,
            runtime=lambda wc, attempt: 120 * attempt,
        params:
            source=get_part_source,
            videos=get_videos_signature,
            align=ALIGN_OPTIONS,
            edit=get_frame_edit,
            work=lambda wc: f"{WORK}/perturb_crops/{wc.condition}/{wc.part}",
            upstream_work=lambda wc: get_work_area("track_faces", wc),
        script:
            "../workflow_scripts/align_faces.py"

    # redetect mode: a part's videos under a perturbation, the source of the part <part>~<condition>.
    rule perturb_videos:
        input:
            get_part_metadata,
        output:
            videos=directory(f"{RESULTS}/robustness/{{condition}}/videos/{{part}}"),
        log:
            f"{LOGS}/perturb_videos/{{condition}}/{{part}}.log",
        benchmark:
            f"{BENCH}/perturb_videos/{{condition}}/{{part}}.tsv"
        conda:
            "envs/rf-workflow.yaml"
        resources:
            mem_mb=lambda wc, attempt: 2000 * attempt,
            runtime=lambda wc, attempt: 120 * attempt,
        params:
            source=get_part_source,
            videos=get_videos_signature,
            seed=ROBUSTNESS["seed"],
        script:
            "../workflow_scripts/perturb_videos.py"

    # One model on every condition of the grid (one job per model: a new model adds one job).
    rule predict_robustness:
        input:
            unpack(get_robustness_inputs),
            best=f"{RESULTS}/models/{{model}}/best.pt",
            config=f"{RESULTS}/models/{{model}}/model_config.yaml",
        output:
            expand(
                f"{RESULTS}/robustness/{{condition}}/predictions/{{{{model}}}}.npz",
                condition=[CLEAN, *CONDITIONS],
            ),
        log:
            f"{LOGS}/robustness/predict/{{model}}.log",
        benchmark:
            f"{BENCH}/robustness/predict/{{model}}.tsv"
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
            plan=get_robustness_plan,
            ext=config["align"]["format"],
            frame_stride=config["frames"]["stride"],
            sampling=EVALUATE_SAMPLING,
            device=config["train"]["device"],
        script:
            "../workflow_scripts/predict_robustness.py"

    # The seed's ensemble and the combiners under one condition (or the clean grid).
    use rule ensemble as ensemble_robustness with:
        input:
            unpack(get_fitted_combiners),
            predictions=expand(
                f"{RESULTS}/robustness/{{{{condition}}}}/predictions/{{model}}.npz",
                model=PLAN.trained,
            ),
            manifests=lambda wc: get_robustness_plan(wc)[wc.condition]["manifests"],
        output:
            scores=f"{RESULTS}/robustness/{{condition}}/scores.csv",
            metrics=f"{RESULTS}/robustness/{{condition}}/metrics.csv",
            metrics_json=f"{RESULTS}/robustness/{{condition}}/metrics.json",
            combiners=f"{RESULTS}/robustness/{{condition}}/combiners.json",
        log:
            f"{LOGS}/robustness/{{condition}}/ensemble.log",
        benchmark:
            f"{BENCH}/robustness/{{condition}}/ensemble.tsv"
        wildcard_constraints:
            condition=_one_of([CLEAN, *CONDITIONS]),

    # Its outputs do not depend on the grid, so that a condition added to the grid (a new
    # input) reruns it: a job whose output set grew has no provenance to compare with.
    rule robustness_table:
        input:
            metrics=expand(
                f"{RESULTS}/robustness/{{condition}}/metrics.csv",
                condition=[CLEAN, *CONDITIONS],
            ),
        output:
            table=f"{RESULTS}/robustness/table.csv",
            figure=report(
                f"{RESULTS}/robustness/auc_vs_level.png",
                caption="report/robustness.rst",
                category="Evaluation",
            ),
        log:
            f"{LOGS}/robustness/table.log",
        benchmark:
            f"{BENCH}/robustness/table.tsv"
        conda:
            "envs/rf-workflow.yaml"
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            conditions=[CLEAN, *CONDITIONS],
        script:
            "../workflow_scripts/robustness_table.py"


rule evaluate:
    input:
        lambda wc: get_evaluate_output(),
