# Per-part preprocessing: frames -> RetinaFace txt -> tubes -> aligned face crops.
# Each job keeps its finished videos in results/work/<rule>/<part> (params.work), so a retry
# or re-run redoes only the videos whose inputs changed (rf_models/work_area.py).


# At most frames.max_parts parts' frames on disk at once (rf_models/scratch.py).
rule frames_turn:
    input:
        get_frames_turn,
    output:
        f"{RESULTS}/frames_turn/{{part}}.txt",
    log:
        f"{LOGS}/frames_turn/{{part}}.log",
    benchmark:
        f"{BENCH}/frames_turn/{{part}}.tsv"
    localrule: True
    params:
        after=lambda wc, input: os.path.basename(input[0]) if input else None,
    run:
        from rf_models.scratch import write_frames_turn

        write_frames_turn(output[0], wildcards.part, params.after, log[0])


rule extract_frames:
    input:
        metadata=get_part_metadata,
        # ancient: an earlier part's re-detection orders this extraction, never re-runs it
        turn=ancient(f"{RESULTS}/frames_turn/{{part}}.txt"),
    output:
        frames=frames_output(f"{RESULTS}/frames/{{part}}"),
        manifest=f"{RESULTS}/extract/{{part}}.tsv",
    log:
        f"{LOGS}/extract_frames/{{part}}.log",
    benchmark:
        f"{BENCH}/extract_frames/{{part}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        source=get_part_source,
        videos=get_videos_signature,
        frames=FRAME_OPTIONS,
        work=lambda wc: get_work_area("extract_frames", wc),
        downstream_work=lambda wc: get_work_area("detect_faces", wc),
    script:
        "../workflow_scripts/extract_frames.py"


rule export_detector:
    input:
        weights=DETECT_WEIGHTS,
    output:
        onnx=f"{RESULTS}/detector/retinaface_mobilenet0.25.onnx",
    log:
        f"{LOGS}/export_detector.log",
    benchmark:
        f"{BENCH}/export_detector.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/export_detector.py"


rule detect_faces:
    input:
        frames=f"{RESULTS}/frames/{{part}}",
        manifest=f"{RESULTS}/extract/{{part}}.tsv",
        weights=DETECT_WEIGHTS,
        onnx=rules.export_detector.output.onnx,
    output:
        detections=directory(f"{RESULTS}/detections/{{part}}"),
    log:
        f"{LOGS}/detect_faces/{{part}}.log",
    benchmark:
        f"{BENCH}/detect_faces/{{part}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 3000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    params:
        detect={k: v for k, v in config["detect"].items() if k != "weights"},
        frames=FRAME_OPTIONS,
        source=get_part_source,
        work=lambda wc: get_work_area("detect_faces", wc),
        upstream_work=lambda wc: get_work_area("extract_frames", wc),
    script:
        "../workflow_scripts/detect_faces.py"


rule track_faces:
    input:
        detections=f"{RESULTS}/detections/{{part}}",
        manifest=f"{RESULTS}/extract/{{part}}.tsv",
    output:
        tracks=directory(f"{RESULTS}/tracks/{{part}}"),
        manifest=f"{RESULTS}/tracks/{{part}}.tsv",
    log:
        f"{LOGS}/track_faces/{{part}}.log",
    benchmark:
        f"{BENCH}/track_faces/{{part}}.tsv"
    conda:
        "envs/rf-workflow.yaml"
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        track=config["track"],
        frame_stride=config["frames"]["stride"],
        work=lambda wc: get_work_area("track_faces", wc),
        upstream_work=lambda wc: get_work_area("detect_faces", wc),
    script:
        "../workflow_scripts/track_faces.py"


rule align_faces:
    input:
        unpack(get_align_inputs),
        metadata=get_part_metadata,
        tracks=f"{RESULTS}/tracks/{{part}}",
        manifest=f"{RESULTS}/tracks/{{part}}.tsv",
    output:
        faces=directory(f"{RESULTS}/faces/{{part}}"),
        manifest=f"{RESULTS}/manifests/{{part}}.tsv",
    log:
        f"{LOGS}/align_faces/{{part}}.log",
    benchmark:
        f"{BENCH}/align_faces/{{part}}.tsv"
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
        work=lambda wc: get_work_area("align_faces", wc),
        upstream_work=lambda wc: get_work_area("track_faces", wc),
    script:
        "../workflow_scripts/align_faces.py"
