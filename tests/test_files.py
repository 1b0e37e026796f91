"""ganaug/_files.py: the safe container every ganaug file format uses."""
import json

import pytest
import torch

from ganaug._files import VERSION, CheckpointError, safe_load, save_weights


def test_save_weights_writes_one_cpu_record_and_safe_load_checks_its_format(tmp_path):
    net = torch.nn.Linear(3, 2)
    save_weights(tmp_path / "n.pt", "demo.format", {"width": 3}, net.state_dict(), "demo net")
    obj = safe_load(tmp_path / "n.pt", expected=("demo.format",))
    assert obj["format"] == "demo.format" and obj["version"] == VERSION and json.loads(obj["spec"]) == {"width": 3}
    assert all(torch.equal(obj["state_dict"][k], v) for k, v in net.state_dict().items())
    with pytest.raises(CheckpointError, match=r"expected a file of format other.a or other.b, got 'demo.format'"):
        safe_load(tmp_path / "n.pt", expected=("other.a", "other.b"))


def test_save_weights_refuses_nan_and_leaves_no_file(tmp_path):
    state = {"w": torch.tensor([1.0, float("nan")])}
    with pytest.raises(FloatingPointError, match=r"demo net: parameter 'w' is NaN/inf; refusing to write it"):
        save_weights(tmp_path / "n.pt", "demo.format", {}, state, "demo net")
    assert list(tmp_path.iterdir()) == []
