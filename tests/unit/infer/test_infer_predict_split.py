"""predict_split: crops tree + manifests -> one .npz of logits; read_predictions."""

from __future__ import annotations

import io
import logging

import cv2
import numpy as np
import pytest
import torch

from rf_models.data.manifest import ManifestRow, write_manifest
from rf_models.infer.policy import EnsemblePolicy, ensemble_scores
from rf_models.infer.predict_split import predict_split
from rf_models.infer.predictions import COLUMNS, read_prediction_file, read_predictions
from rf_models.infer.sampling import sample_frames
from rf_models.infer.scoring import LoadedModel, clip_logits, image_logits, load_trained_model
from tests.support.infer_models import block, write_checkpoint
from tests.support.seed_config import policy_config

PART = "dfdc_train_part_7"


def row(video: str, n_frames: int, num_faces: int, status: str = "ok", label=1) -> ManifestRow:
    return ManifestRow(
        part=PART,
        video=f"{video}.mp4",
        label=label,
        status=status,
        n_frames=n_frames,
        width=64,
        height=64,
        fps=15.0,
        num_faces=num_faces,
    )


def write_crops(root, r: ManifestRow, ext: str = "jpg", seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder = root / r.part / r.video_id
    folder.mkdir(parents=True, exist_ok=True)
    for face in range(1, r.num_faces + 1):
        for frame in range(1, r.n_frames + 1):
            img = rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"frame{frame}_face{face}.{ext}"), img)


@pytest.fixture
def split(tmp_path):
    """Manifests over two files and a crops tree with good and bad videos."""
    root = tmp_path / "faces"
    rows = [
        row("two_faces", 12, 2),
        row("one_face", 7, 1, status="partial", label=0),
        row("three_faces", 5, 3),  # only faces 1 and 2 are scored
        row("missing_crop", 6, 1),
        row("bad_crop", 6, 1),
        row("no_face", 6, 0, status="no_face"),
        row("unreadable_video", 0, 0, status="unreadable"),
    ]
    for i, r in enumerate(rows):
        write_crops(root, r, seed=i)
    (root / PART / "missing_crop" / "frame3_face1.jpg").unlink()
    (root / PART / "bad_crop" / "frame1_face1.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    m1, m2 = tmp_path / "m1.tsv", tmp_path / "m2.tsv"
    write_manifest(m1, rows[:4])
    write_manifest(m2, rows[4:])
    return {"root": root, "rows": rows, "manifests": [m1, m2]}


def image_model(tmp_path, **overrides):
    blk = block(**overrides)
    return load_trained_model(write_checkpoint(tmp_path / "img.pt", blk), blk, "b0", "cpu")


def video_model(tmp_path):
    blk = block("video", infer_size=16)
    return load_trained_model(write_checkpoint(tmp_path / "vid.pt", blk), blk, "sf", "cpu")


def load_crops(root, r, face, frames):
    return [
        cv2.imread(str(root / r.part / r.video_id / f"frame{f}_face{face}.jpg")) for f in frames
    ]


def test_image_model_rows_and_skips(tmp_path, split, caplog):
    lm = image_model(tmp_path)
    out = tmp_path / "pred" / "b0.npz"
    with caplog.at_level(logging.WARNING):
        summary = predict_split(lm, split["manifests"], split["root"], out, max_frames=5)
    assert summary.videos == 5 and summary.scored == 3 and summary.unusable == 2
    assert set(summary.skipped) == {f"{PART}/missing_crop.mp4", f"{PART}/bad_crop.mp4"}
    assert "frame3_face1.jpg" in summary.skipped[f"{PART}/missing_crop.mp4"]
    assert "unreadable crop" in summary.skipped[f"{PART}/bad_crop.mp4"]
    assert "missing_crop.mp4 skipped" in caplog.text

    with np.load(out, allow_pickle=False) as data:
        cols = {k: data[k] for k in data.files}
    assert set(COLUMNS) <= set(cols)
    assert cols["face"].dtype == np.int32 and cols["logit_fake"].dtype == np.float32
    assert cols["video"].dtype.kind == "U"
    assert summary.rows == len(cols["video"])
    # 12 frames -> every 3rd (1, 4, 7, 10) x 2 faces; 7 -> every 2nd x 1; 5 -> all x 2 of 3
    assert summary.rows == 4 * 2 + 4 + 5 * 2
    three = cols["video"] == f"{PART}/three_faces.mp4"
    assert sorted(set(cols["face"][three])) == [1, 2]
    assert list(
        cols["frame"][(cols["video"] == f"{PART}/two_faces.mp4") & (cols["face"] == 2)]
    ) == [
        1,
        4,
        7,
        10,
    ]

    # the logits are image_logits's on the same crops
    r = split["rows"][0]
    frames = sample_frames(r.n_frames, 5)
    pred = read_predictions(out)
    expected = image_logits(lm, load_crops(split["root"], r, 2, frames))
    np.testing.assert_allclose(pred[f"{PART}/two_faces.mp4"][1], expected, atol=1e-6)


def test_read_predictions_round_trip_and_policy_shape(tmp_path, split):
    lm = image_model(tmp_path)
    out = tmp_path / "b0.npz"
    predict_split(lm, split["manifests"], split["root"], out, max_frames=5)
    pred = read_prediction_file(out)
    assert pred.model == "b0" and pred.kind == "image"
    assert set(pred.faces) == {f"{PART}/{v}.mp4" for v in ("two_faces", "one_face", "three_faces")}
    assert [f.shape for f in pred.faces[f"{PART}/two_faces.mp4"]] == [(4, 2), (4, 2)]
    assert [list(f) for f in pred.frames[f"{PART}/one_face.mp4"]] == [[1, 3, 5, 7]]
    assert set(pred.skipped) == {f"{PART}/missing_crop.mp4", f"{PART}/bad_crop.mp4"}
    # the policy takes them as they are
    policy = EnsemblePolicy.from_config(
        policy_config(
            groups={"image": {"input": "frames", "weight": 1, "models": {"b0": 1}}},
            frame_rule={"group_size": 2},
            shrink={"models": []},
        )
    )
    scores = ensemble_scores({"b0": pred.faces}, policy)
    assert set(scores) == set(pred.faces) and all(0 <= s <= 1 for s in scores.values())


def test_video_model_one_row_per_face(tmp_path, split):
    lm = video_model(tmp_path)
    out = tmp_path / "sf.npz"
    summary = predict_split(lm, split["manifests"], split["root"], out)
    assert summary.rows == 2 + 1 + 2 and summary.kind == "video"
    with np.load(out, allow_pickle=False) as data:
        assert np.all(data["frame"] == -1)
    pred = read_predictions(out)
    assert [f.shape for f in pred[f"{PART}/two_faces.mp4"]] == [(2,), (2,)]
    r = split["rows"][0]
    expected = clip_logits(lm, load_crops(split["root"], r, 1, sample_frames(r.n_frames)))
    np.testing.assert_allclose(pred[f"{PART}/two_faces.mp4"][0], expected, atol=1e-6)


def test_max_faces_one_and_png_crops(tmp_path):
    root = tmp_path / "faces"
    r = row("v", 4, 2)
    write_crops(root, r, ext="png")
    manifest = tmp_path / "m.tsv"
    write_manifest(manifest, [r])
    lm = image_model(tmp_path)
    out = tmp_path / "p.npz"
    with_jpg = predict_split(lm, [manifest], root, out)
    assert with_jpg.scored == 0 and "frame1_face1.jpg" in with_jpg.skipped[f"{PART}/v.mp4"]
    summary = predict_split(lm, [manifest], root, out, ext="png", max_faces=1, io_threads=1)
    assert summary.scored == 1 and summary.rows == 4
    assert [f.shape for f in read_predictions(out)[f"{PART}/v.mp4"]] == [(4, 2)]


def test_frame_stride_uses_frames_with_crops(tmp_path):
    root = tmp_path / "faces"
    r = row("v", 9, 1)
    write_crops(root, r)
    for frame in (2, 4, 6, 8):  # frames.stride 2: only odd frames have crops
        (root / PART / "v" / f"frame{frame}_face1.jpg").unlink()
    manifest = tmp_path / "m.tsv"
    write_manifest(manifest, [r])
    lm = image_model(tmp_path)
    assert predict_split(lm, [manifest], root, tmp_path / "a.npz").scored == 0
    summary = predict_split(lm, [manifest], root, tmp_path / "b.npz", frame_stride=2)
    assert summary.scored == 1
    assert list(read_prediction_file(tmp_path / "b.npz").frames[f"{PART}/v.mp4"][0]) == [
        1,
        3,
        5,
        7,
        9,
    ]


def test_empty_split_writes_a_readable_file(tmp_path):
    manifest = tmp_path / "m.tsv"
    write_manifest(manifest, [row("gone", 0, 0, status="missing")])
    out = tmp_path / "p.npz"
    summary = predict_split(image_model(tmp_path), [manifest], tmp_path, out)
    assert summary.scored == 0 and summary.rows == 0 and summary.unusable == 1
    assert read_predictions(out) == {}
    with pytest.raises(ValueError, match="max_frames"):
        predict_split(image_model(tmp_path), [manifest], tmp_path, out, max_frames=0)


def test_output_is_atomic_on_failure(tmp_path, split):
    out = tmp_path / "b0.npz"
    out.write_bytes(b"previous")
    lm = image_model(tmp_path)
    with pytest.raises(ValueError, match="also listed"):
        predict_split(lm, [split["manifests"][0]] * 2, split["root"], out)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b0.npz")] == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ext": ".jpg"}, "ext"),
        ({"ext": ""}, "ext"),
        ({"max_faces": 0}, "max_faces"),
        ({"io_threads": 0}, "io_threads"),
        ({"max_frames": 0}, "max_frames"),
        ({"frame_stride": 0}, "frame_stride"),
    ],
)
def test_bad_arguments(tmp_path, split, kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict_split(
            image_model(tmp_path), split["manifests"], split["root"], tmp_path / "p.npz", **kwargs
        )


def test_missing_manifest_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        predict_split(image_model(tmp_path), [tmp_path / "nope.tsv"], tmp_path, tmp_path / "p.npz")


# -- reading bad files --------------------------------------------------------------------


def good_arrays(kind="image"):
    return {
        "video": np.array(["p/a.mp4", "p/a.mp4", "p/b.mp4"]),
        "face": np.array([1, 1, 1], np.int32),
        "frame": np.array([3, 1, 1] if kind == "image" else [-1, -1, -1], np.int32),
        "logit_real": np.array([0.1, 0.2, 0.3], np.float32),
        "logit_fake": np.array([1.0, 2.0, 3.0], np.float32),
        "skipped_video": np.array(["p/c.mp4"]),
        "skipped_reason": np.array(["missing crop x"]),
        "model": np.array("b0"),
        "kind": np.array(kind),
        "format": np.array("rf_models.predictions/1"),
    }


def save(path, arrays):
    np.savez(path, **arrays)
    return path


def test_reader_sorts_frames(tmp_path):
    pred = read_prediction_file(save(tmp_path / "p.npz", good_arrays()))
    np.testing.assert_allclose(pred.faces["p/a.mp4"][0], [[0.2, 2.0], [0.1, 1.0]])
    assert pred.skipped == {"p/c.mp4": "missing crop x"}


def test_reader_rejects_duplicate_video_rows(tmp_path):
    arrays = good_arrays("video")
    with pytest.raises(ValueError, match="appears twice"):
        read_prediction_file(save(tmp_path / "p.npz", arrays))
    arrays["face"] = np.array([1, 2, 1], np.int32)
    pred = read_prediction_file(save(tmp_path / "q.npz", arrays))
    assert [f.shape for f in pred.faces["p/a.mp4"]] == [(2,), (2,)]


@pytest.mark.parametrize(
    "change, match",
    [
        ({"format": np.array("other/1")}, "format"),
        ({"kind": np.array("audio")}, "kind"),
        ({"face": np.array([1, 1], np.int32)}, "column face"),
        ({"frame": np.array([1.0, 2.0, 3.0])}, "column frame"),
        ({"face": np.array([0, 1, 1], np.int32)}, "face numbers"),
        ({"frame": np.array([0, 1, 1], np.int32)}, "frame numbers"),
        ({"skipped_reason": np.array([], dtype=str)}, "skipped"),
        ({"extra": np.zeros(1)}, "expected arrays"),
    ],
)
def test_reader_rejects_malformed_files(tmp_path, change, match):
    arrays = {**good_arrays(), **change}
    with pytest.raises(ValueError, match=match):
        read_prediction_file(save(tmp_path / "p.npz", arrays))


def test_reader_refuses_pickled_arrays_and_garbage(tmp_path):
    arrays = {**good_arrays(), "video": np.array(["p/a.mp4", {"x": 1}, "p/b.mp4"], dtype=object)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (tmp_path / "obj.npz").write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="obj.npz.*cannot read"):
        read_prediction_file(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz"):
        read_prediction_file(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="none.npz"):
        read_prediction_file(tmp_path / "none.npz")


class _NaNForWhite(torch.nn.Module):
    """A model whose logits are NaN for all-white crops (a broken model on some inputs)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        white = x.flatten(1).amin(dim=1) > 2.0  # normalised 255 in every channel
        return torch.where(white[:, None], torch.full_like(out, float("nan")), out)


@pytest.mark.parametrize("kind", ["image", "video"])
def test_videos_sharing_passes_keep_their_own_rows_and_failures(tmp_path, kind):
    """Every video of a window in one pass: a video whose logits are not finite is skipped
    alone, and the others' rows are those of scoring them one by one."""
    rows = [row(f"v{i}", 6 + i, 1 + i % 2) for i in range(5)]
    root = tmp_path / "faces"
    for i, r in enumerate(rows):
        write_crops(root, r, seed=i)
    white = root / PART / "v2"
    for path in white.iterdir():
        cv2.imwrite(str(path), np.full((36, 36, 3), 255, np.uint8))
    manifest = tmp_path / "m.tsv"
    write_manifest(manifest, rows)
    lm = image_model(tmp_path) if kind == "image" else video_model(tmp_path)
    broken = LoadedModel(lm.name, lm.cfg, _NaNForWhite(lm.model), lm.device)
    out = tmp_path / "p.npz"
    summary = predict_split(broken, [manifest], root, out, max_frames=4)
    assert summary.skipped == {
        f"{PART}/v2.mp4": "model 'b0' gave non-finite logits".replace("b0", lm.name)
    }
    pred = read_predictions(out)
    assert set(pred) == {f"{PART}/v{i}.mp4" for i in (0, 1, 3, 4)}
    for r in rows:
        if r.video_id == "v2":
            continue
        frames = sample_frames(r.n_frames, 4)
        for face in range(1, r.num_faces + 1):
            crops = load_crops(root, r, face, frames)
            one = image_logits(lm, crops) if kind == "image" else clip_logits(lm, crops)
            np.testing.assert_allclose(pred[f"{PART}/{r.video}"][face - 1], one, atol=1e-5)
