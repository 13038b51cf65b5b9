"""write_report and ``python -m rf_models.report``: every output from every input, the real
ensemble stage's files included, and the rst captions Snakemake renders beside them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import jinja2
import numpy as np
import pytest
from docutils.core import publish_parts

from rf_models.data.manifest import ManifestRow, write_manifest
from rf_models.infer.ensemble_stage import run_ensemble
from rf_models.infer.predictions import FORMAT
from rf_models.report.__main__ import main
from rf_models.report.build import TABLES, write_report
from rf_models.report.inputs import read_scores
from rf_models.report.registry import FIGURE_NAMES, FIGURES
from tests.support.seed_config import policy_config

REPO = Path(__file__).resolve().parents[3]
ALL_OUTPUTS = {**{f: f"{f}.png" for f in FIGURE_NAMES}, **{k: v[1] for k, v in TABLES.items()}}


def outputs_of(*sources: str) -> dict[str, str]:
    """key -> file name of what the report writes from these sources."""
    figures = {f.name: f"{f.name}.png" for f in FIGURES if f.source in sources}
    return {**figures, **{k: name for k, (src, name) in TABLES.items() if src in sources}}


def _args(scores_csv, metrics_csv, training_csvs, manifests, out) -> list[str]:
    return [
        "--scores", str(scores_csv),
        "--metrics", str(metrics_csv),
        "--train-metrics", *(f"{k}={v}" for k, v in training_csvs.items()),
        "--manifests", *map(str, manifests),
        "--out", str(out),
    ]  # fmt: skip


def test_cli_writes_every_output(
    scores_csv, metrics_csv, training_csvs, manifests, tmp_path, capsys
):
    out = tmp_path / "report"
    assert main(_args(scores_csv, metrics_csv, training_csvs, manifests, out)) == 0
    printed = capsys.readouterr().out
    expected = {*ALL_OUTPUTS.values(), "index.html"}
    assert {p.name for p in out.iterdir()} == expected  # no temporary files left behind
    for name in expected:
        path = out / name
        assert path.stat().st_size > 0
        if name.endswith(".png"):
            assert cv2.imread(str(path)) is not None
        assert str(path) in printed
    index = (out / "index.html").read_text()
    for name in (n for n in expected if n.endswith(".png")):
        assert f'<img src="{name}"' in index
    assert '<table class="rf-metrics">' in index and '<table class="rf-manifests">' in index


def test_python_dash_m_entry_point(manifests, tmp_path):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "rf_models.report", "--manifests", *map(str, manifests)]
    done = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} == {*outputs_of("manifests").values(), "index.html"}


def test_only_what_the_inputs_allow(manifests, training_csvs, tmp_path):
    written = write_report(tmp_path / "r", manifests=manifests, train_metrics=training_csvs)
    assert set(written) == {*outputs_of("manifests", "train_metrics"), "index"}
    assert {p.name for p in (tmp_path / "r").iterdir()} == {p.name for p in written.values()}
    with pytest.raises(ValueError, match="at least one input"):
        write_report(tmp_path / "none")


def test_cli_bad_arguments(tmp_path, scores_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "expected at least one of --scores" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--train-metrics", "b1", "--out", str(tmp_path / "o")])
    assert "expected NAME=PATH" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--train-metrics", "a=x.csv", "a=y.csv", "--out", str(tmp_path / "o")])
    assert "expected each model once" in capsys.readouterr().err
    assert main(["--scores", str(tmp_path / "gone.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "gone.csv" in capsys.readouterr().err
    assert main(["--scores", str(scores_csv), "--out", str(tmp_path / "o")]) == 0


def _write_predictions(path: Path, model: str, kind: str, faces: dict) -> Path:
    """A predictions file in predict_split's layout from ``video -> per-face logits``."""
    video, face, frame, logits = [], [], [], []
    for vid, per_face in faces.items():
        for k, arr in enumerate(per_face, 1):
            arr = np.asarray(arr, np.float32).reshape(-1, 2)
            video += [vid] * len(arr)
            face += [k] * len(arr)
            frame += list(range(1, len(arr) + 1)) if kind == "image" else [-1]
            logits.append(arr)
    logits = np.concatenate(logits)
    np.savez(
        path,
        video=np.array(video, dtype=str),
        face=np.array(face, np.int32),
        frame=np.array(frame, np.int32),
        logit_real=logits[:, 0],
        logit_fake=logits[:, 1],
        skipped_video=np.array([], dtype=str),
        skipped_reason=np.array([], dtype=str),
        model=np.array(model),
        kind=np.array(kind),
        format=np.array(FORMAT),
    )
    return path


def test_report_from_the_ensemble_stage(tmp_path, manifests):
    """The figures read what rf_models.infer.ensemble_stage really writes."""
    rng = np.random.default_rng(0)
    part = "dfdc_train_part_3"
    rows = [
        ManifestRow(part, f"v{i:02d}.mp4", i % 2, "ok", n_frames=10, num_faces=1) for i in range(30)
    ]
    rows.append(ManifestRow(part, "noface.mp4", 1, "no_face", reason="no face", n_frames=10))
    rows.append(ManifestRow(part, "unlabelled.mp4", None, "ok", n_frames=10, num_faces=1))
    manifest = tmp_path / f"{part}.tsv"
    write_manifest(manifest, rows)
    faces = {"xcep": {}, "sf": {}}
    for r in rows:
        if r.status != "ok":
            continue
        y = 1 if r.label is None else r.label
        d = rng.normal((2 * y - 1) * 1.5, 1.5, size=10)
        faces["xcep"][f"{part}/{r.video}"] = [np.stack([-d / 2, d / 2], axis=1)]
        faces["sf"][f"{part}/{r.video}"] = [np.array([-d[0], d[0]])]
    preds = {
        "xcep": _write_predictions(tmp_path / "xcep.npz", "xcep", "image", faces["xcep"]),
        "sf": _write_predictions(tmp_path / "sf.npz", "sf", "video", faces["sf"]),
    }
    combiners = {
        "mean": {"type": "mean"},
        "stacking": {"type": "stacking", "cv_folds": 3},
        "stacking_temperature": {"type": "stacking", "cv_folds": 3, "calibration": "temperature"},
    }
    ens = tmp_path / "ensemble"
    run_ensemble(preds, [manifest], policy_config(), combiners, ens)
    written = write_report(
        tmp_path / "report", scores=ens / "scores.csv", metrics=ens / "metrics.csv",
        manifests=[manifest],
    )  # fmt: skip
    for key in (f.name for f in FIGURES if f.source != "train_metrics"):
        assert cv2.imread(str(written[key])) is not None
    scores = read_scores(ens / "scores.csv")
    assert set(scores.models) == {"xcep", "sf"}  # the policy's models that have predictions
    assert scores.combiners == ("seed_policy", *combiners)
    html = written["metrics_html"].read_text()
    assert "stacking_temperature" in html and "frame" in html


# the report's captions beyond the run's figures: predict's pictures, the workflow page and
# the evaluate target's heat map and robustness curves
OTHER_CAPTIONS = ("predict_pictures", "workflow", "evaluate_heatmap", "robustness")


@pytest.mark.parametrize("name", [*FIGURE_NAMES, *OTHER_CAPTIONS])
def test_captions_render_as_snakemake_does(name):
    """Each caption goes through Jinja and docutils (what snakemake --report does) without
    a warning."""
    path = REPO / "rules" / "report" / f"{name}.rst"
    text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(path.read_text())
    rendered = text.render(snakemake=None, categories={}, files={})
    parts = publish_parts(
        rendered, writer="html", settings_overrides={"halt_level": 2, "report_level": 2}
    )
    assert len(parts["body"]) > 200


def test_every_figure_has_a_caption():
    captions = {p.stem for p in (REPO / "rules" / "report").glob("*.rst")}
    assert captions == {*FIGURE_NAMES, *OTHER_CAPTIONS}
