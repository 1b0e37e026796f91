"""benchmarks/augment_backends.py at a tiny size: both backends train the same classifier on the same subsets."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def backends():
    with benchmark_module("augment_backends.py") as module:
        yield module


def test_tiny_run(backends, tmp_path, capsys):
    out = tmp_path / "b.json"
    result = backends.main(["--tiny", "--sizes", "5", "--seeds", "0", "1", "--out", str(out)])
    assert [(r["seed"], r["backend"]) for r in result["rows"]] == [
        (0, "albumentations"), (0, "torch"), (1, "albumentations"), (1, "torch")]
    assert all(0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["selection_accuracy"] <= 1.0 for r in result["rows"])
    assert result["dataset"] == "digits" and json.loads(out.read_text()) == result
    assert "5/class seed 1 torch" in capsys.readouterr().out


def test_bad_options(backends):
    with pytest.raises(SystemExit, match=r"--sizes, --threads: expected >= 1"):
        backends.main(["--sizes", "0"])
