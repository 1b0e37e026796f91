"""benchmarks/cpu_amp_quality.py at a tiny size: float32 and cpu_amp trained alike, both scored by CAS."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def quality():
    with benchmark_module("cpu_amp_quality.py") as module:
        yield module


def test_tiny_run(quality, tmp_path, capsys):
    out = tmp_path / "q.json"
    result = quality.main(["--tiny", "--out", str(out)])
    assert [(r["cpu_amp"], r["steps"]) for r in result["rows"]] == [(False, 4), (True, 4)]
    assert all(0.0 <= r["cas"] <= 1.0 and len(r["per_class"]) == 10 and r["train_cpu_s"] >= 0 for r in result["rows"])
    assert result["recipe"]["aux_twin"] is True and result["dataset"] == "digits"
    assert json.loads(out.read_text()) == result
    assert "cpu_amp=True: 4 steps" in capsys.readouterr().out


def test_bad_options(quality):
    with pytest.raises(SystemExit, match=r"--steps, --n-per-class, --epochs, --threads: expected >= 1"):
        quality.main(["--steps", "0"])
