from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rf_models.detect.retinaface import (
    RetinaFace,
    default_weights_path,
    load_retinaface,
    load_state_dict_file,
)


def test_shipped_weights_and_licence() -> None:
    path = default_weights_path()
    assert path.is_file() and path.stat().st_size > 1_000_000
    licence = (path.parent / "LICENSE-retinaface.txt").read_text()
    assert "MIT License" in licence and "Copyright (c) 2019 biubug6" in licence


def test_loads_strictly_in_eval_mode() -> None:
    model = load_retinaface()
    assert isinstance(model, RetinaFace) and not model.training
    state = load_state_dict_file(default_weights_path())
    assert set(state) == set(model.state_dict())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_leaky_slopes_follow_the_reference() -> None:
    model = RetinaFace()
    slopes = {m.negative_slope for m in model.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.1}
    # SSH branches 3x3, 5x5 and 7x7 end without activation (a ReLU follows the concat).
    assert len(model.ssh1.conv3X3) == 2 and len(model.ssh1.conv7x7_3) == 2


def test_module_prefix_and_nested_state_dict(tmp_path: Path) -> None:
    state = load_state_dict_file(default_weights_path())
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    model = load_retinaface(path)
    assert torch.equal(
        model.state_dict()["body.stage1.0.0.weight"], state["body.stage1.0.0.weight"]
    )


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        load_retinaface(tmp_path / "absent.pth")


def test_wrong_weights_name_the_file(tmp_path: Path) -> None:
    state = load_state_dict_file(default_weights_path())
    del state["ClassHead.0.conv1x1.bias"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"(?s)partial\.pth.*ClassHead\.0\.conv1x1\.bias"):
        load_retinaface(path)


def test_garbage_and_non_state_dict_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth"):
        load_retinaface(garbage)
    listing = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listing)
    with pytest.raises(ValueError, match=r"list\.pth.*mapping of parameter names"):
        load_retinaface(listing)
