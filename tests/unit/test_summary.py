"""The summary printed after `make demo`: manifest counts, paths, metrics with intervals."""

from rf_models.metrics import video_and_frame_metrics, write_metrics_csv
from rf_models.summary import main, metrics_lines, summarize


def _metrics(path):
    labels = {f"v{i}": i % 2 for i in range(12)}
    scores = {v: 0.3 + 0.4 * y + 0.05 * (int(v[1:]) % 3) for v, y in labels.items()}
    rows = video_and_frame_metrics(labels, scores, {v: [s] for v, s in scores.items()})
    write_metrics_csv(path, [{"name": "b0", **r} for r in rows])
    return rows[0]


def test_metrics_lines_show_video_rows_with_their_intervals(tmp_path):
    video = _metrics(tmp_path / "metrics.csv")
    lines = metrics_lines(tmp_path / "metrics.csv")
    assert len(lines) == 3 and "roc_auc" in lines[0]  # header, the video row, the note
    expected = f"{video['log_loss']:.3f} [{video['log_loss_ci_low']:.2f}, "
    assert lines[1].split()[0] == "b0" and expected in lines[1]
    assert "95% stratified bootstrap intervals" in lines[2] and "n = 12" in lines[2]


def test_summarize_lists_outputs_and_metrics(tmp_path):
    (tmp_path / "ensemble" / "demo").mkdir(parents=True)
    _metrics(tmp_path / "ensemble" / "demo" / "metrics.csv")
    text = summarize(tmp_path)
    assert "ensemble scores and metrics" in text and "Video-level metrics" in text


def test_main_needs_an_existing_results_directory(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 1
    assert "no such results directory" in capsys.readouterr().err
    assert main([]) == 2
