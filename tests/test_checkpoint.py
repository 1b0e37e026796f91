import json
import pickle

import pytest
import torch

import ganaug
from ganaug.checkpoint import CheckpointError, atomic_save, safe_load
from ganaug.models import build_generator, default_spec

from conftest import state_equal


@pytest.fixture
def gen():
    torch.manual_seed(0)
    return build_generator(default_spec("dcgan", (1, 8, 8), ["a", "b", "c"], z_dim=8, width=2))


def test_save_load_roundtrip(gen, tmp_path):
    gen.save(tmp_path / "g.pt")
    loaded = ganaug.load_generator(tmp_path / "g.pt", device="cpu")
    assert state_equal(gen, loaded) and loaded.classes == ["a", "b", "c"] and not loaded.training
    gen.eval()
    assert torch.equal(gen.sample(6, seed=1)[0], loaded.sample(6, seed=1)[0])
    raw = torch.load(tmp_path / "g.pt", weights_only=True)
    assert json.loads(raw["spec"])["arch"] == "dcgan"  # the config travels as JSON text


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.pt"
    atomic_save({"a": torch.ones(2)}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_save({"a": Boom()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]


def test_nan_weights_are_never_written(gen, tmp_path):
    with torch.no_grad():
        next(gen.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"NaN/inf; refusing to write"):
        gen.save(tmp_path / "g.pt")
    assert not (tmp_path / "g.pt").exists()


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint: no file at .*nope.pt"):
        ganaug.load_generator(tmp_path / "nope.pt")


def test_corrupt_file(gen, tmp_path):
    gen.save(tmp_path / "g.pt")
    data = (tmp_path / "g.pt").read_bytes()
    (tmp_path / "g.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(tmp_path / "g.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(tmp_path / "junk.pt")


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_untrusted_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "ganaug.generator", "payload": Evil()}, f)
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(path)
    assert "pwned" not in capsys.readouterr().out


def test_foreign_files(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"expected a file of format ganaug.generator"):
        ganaug.load_generator(tmp_path / "foreign.pt")
    torch.save({"format": "ganaug.generator", "version": 99}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match=r"expected format version 1, got 99"):
        safe_load(tmp_path / "future.pt")
    torch.save({"format": "ganaug.generator", "version": 1, "spec": "{}", "state_dict": {}}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"contents do not match"):
        ganaug.load_generator(tmp_path / "bad.pt")
