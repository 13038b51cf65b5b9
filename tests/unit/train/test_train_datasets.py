import numpy as np
import pytest
import torch

from rf_models.train.datasets import (
    BadSampleError,
    ImageListDataset,
    ListFormatError,
    VideoListDataset,
    build_dataset,
    read_list,
    temporal_indices,
)
from rf_models.train.transforms import build_transforms
from tests.support.train_data import tiny_image_cfg, tiny_video_cfg, write_list


def image_dataset(cfg, list_path, crops, train=True):
    train_tf, eval_tf = build_transforms(cfg)
    return build_dataset(cfg, list_path, crops, train_tf if train else eval_tf, train=train)


def test_image_items_are_tube_frames(data):
    cfg = tiny_image_cfg()
    ds = image_dataset(cfg, data["image_train"], data["crops"])
    assert isinstance(ds, ImageListDataset)
    assert len(ds) == 6 * 4
    assert [ds.sample(i)[1] for i in range(4)] == [1, 3, 5, 7]
    assert ds.sample(5)[0].pattern == "part0/vid1/frame%d_face1.jpg"
    x, label, skipped = ds[(5, 123)]
    assert x.shape == (3, 24, 24) and label == 1 and skipped == 0
    assert torch.equal(ds[(5, 123)][0], x)  # same (index, position): same augmentation


def test_training_items_need_a_position(data):
    ds = image_dataset(tiny_image_cfg(), data["image_train"], data["crops"])
    with pytest.raises(TypeError, match=r"\(index, position\)"):
        ds[0]


def test_bgr_is_the_reverse_of_rgb(data):
    half = {"normalisation": "inception"}
    rgb = image_dataset(
        tiny_image_cfg(colour="RGB", **half), data["image_val"], data["crops"], False
    )
    bgr = image_dataset(
        tiny_image_cfg(colour="BGR", **half), data["image_val"], data["crops"], False
    )
    assert torch.equal(rgb[0][0].flip(0), bgr[0][0])


def test_temporal_indices():
    assert temporal_indices(10, 8, 2, 1) == [1, 3, 5, 7]
    assert temporal_indices(3, 8, 2, 0) == [0, 2, 1, 0]  # short tube loops
    assert temporal_indices(300, 128, 4, 86) == list(range(86, 214, 4))


def test_video_clips_random_and_centre(data):
    cfg = tiny_video_cfg(clip_frames=4, sample_step=2)
    train = image_dataset(cfg, data["video_train"], data["crops"])
    val = image_dataset(cfg, data["video_val"], data["crops"], train=False)
    assert isinstance(train, VideoListDataset) and len(train) == 6
    # 8 frames, span 8: begin in [0, max(0, 8 - 8 - 1)] = 0; centre begin max(0, 4 - 4) = 0.
    assert val.clip_frames_of(0, None) == [1, 3, 5, 7]
    assert train.clip_frames_of(0, np.random.default_rng(0)) == [1, 3, 5, 7]
    short = tiny_video_cfg(clip_frames=2, sample_step=2)
    ds = image_dataset(short, data["video_train"], data["crops"])
    begins = {ds.clip_frames_of(0, np.random.default_rng(s))[0] for s in range(50)}
    assert begins == {1, 2, 3, 4}  # begin in [0, 8 - 4 - 1]
    x, label, skipped = train[(0, 9)]
    assert x.shape == (3, 4, 16, 16) and label == 0 and skipped == 0
    xv, _, _ = val[0]
    assert xv.shape == (3, 4, 18, 18)  # 256 / 224 * 16


def test_count_le_zero_lines_are_dropped(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text(
        "a/b/frame%d_face1.jpg 1 30 0 1\na/c/frame%d_face1.jpg 1 30 -2 0\n"
        "a/d/frame%d_face1.jpg 1 30 3 0\n"
    )
    tubes = read_list(path)
    assert tubes.dropped == 2 and [t.pattern for t in tubes.entries] == ["a/d/frame%d_face1.jpg"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no usable line"),
        ("a/b/frame%d_face1.jpg 1 30 0 1\n", r"no usable line \(1 dropped"),
        ("a/b/frame%d_face1.jpg 1 30 10\n", ":1: expected 'pattern start stride count label'"),
        ("ok/frame%d.jpg 1 1 1 0\na/b/frame%d.jpg 1 30 10 2\n", ":2: label must be 0"),
        ("a/b/frame1.jpg 1 30 10 1\n", "needs a %d"),
        ("a/b/frame%d.jpg 1 x 10 1\n", "must be integers"),
        ("a/b/frame%d.jpg 1 0 10 1\n", "stride must be >= 1"),
        ("a/b/frame%d_%d.jpg 1 1 10 1\n", "expected one %d in the path"),
    ],
)
def test_bad_lists_name_the_file(tmp_path, text, message):
    path = tmp_path / "bad_list.txt"
    path.write_text(text)
    with pytest.raises(ListFormatError, match=message) as err:
        read_list(path)
    assert "bad_list.txt" in str(err.value)


def test_missing_list_file(tmp_path):
    with pytest.raises(ListFormatError, match="absent.txt: cannot read"):
        read_list(tmp_path / "absent.txt")


def bad_data(data, tmp_path):
    """vid1 frame 3 is missing, vid2 frame 3 is garbage."""
    (data["crops"] / "part0/vid1/frame3_face1.jpg").unlink()
    (data["crops"] / "part0/vid2/frame3_face1.jpg").write_bytes(b"not a jpeg")
    return data


def test_missing_and_unreadable_images_name_the_file(data, tmp_path):
    bad_data(data, tmp_path)
    ds = image_dataset(tiny_image_cfg(), data["image_train"], data["crops"])
    with pytest.raises(BadSampleError, match=r"missing image: .*part0/vid1/frame3_face1.jpg"):
        ds[(5, 0)]
    with pytest.raises(BadSampleError, match=r"unreadable image: .*part0/vid2/frame3_face1.jpg"):
        ds[(9, 0)]
    video = image_dataset(tiny_video_cfg(), data["video_train"], data["crops"])
    with pytest.raises(BadSampleError, match="vid1/frame3_face1.jpg"):
        video[(1, 0)]


def test_skip_bad_replaces_with_the_next_readable_sample(data, tmp_path):
    bad_data(data, tmp_path)
    ds = image_dataset(tiny_image_cfg(skip_bad=True), data["image_train"], data["crops"])
    x, label, skipped = ds[(5, 11)]
    assert skipped == 1 and label == 1  # index 6 is vid1 frame 5
    clean = image_dataset(tiny_image_cfg(), data["image_train"], data["crops"])
    assert torch.equal(x, clean[(6, 11)][0])
    val = image_dataset(tiny_image_cfg(skip_bad=True), data["image_train"], data["crops"], False)
    x, label, skipped = val[5]
    assert label == -1 and skipped == 1 and x.shape == (3, 24, 24)
    video = image_dataset(tiny_video_cfg(skip_bad=True), data["video_train"], data["crops"])
    assert video[(1, 0)][2] == 2  # vid1 and vid2 both bad: vid3 replaces


def test_all_bad_is_an_error(tmp_path):
    path = write_list(tmp_path / "l.txt", [("p/v/frame%d_face1.jpg", 1)], 1, 1, 2)
    ds = image_dataset(tiny_image_cfg(skip_bad=True), path, tmp_path)
    with pytest.raises(BadSampleError, match="no readable sample"):
        ds[(0, 0)]
