"""benchmarks/cpu_amp_quality.py at a tiny size: the variants trained alike (equal steps or CPU), scored by CAS."""
import json

import pytest
import torch
from conftest import benchmark_module


@pytest.fixture(scope="module")
def quality():
    with benchmark_module("cpu_amp_quality.py") as module:
        yield module


def test_tiny_run(quality, tmp_path, capsys):
    out = tmp_path / "q.json"
    result = quality.main(["--tiny", "--out", str(out)])
    assert [(r["variant"], r.get("cpu_amp", False), r["steps"]) for r in result["rows"]] == [
        ("float32", False, 4), ("bf16", True, 4)]
    assert all(0.0 <= r["cas"] <= 1.0 and len(r["per_class"]) == 10 and r["train_cpu_s"] >= 0 for r in result["rows"])
    assert result["recipe"]["aux_twin"] is True and result["dataset"] == "digits" and result["budget_cpu_s"] is None
    assert json.loads(out.read_text()) == result
    assert "bf16: 4 steps" in capsys.readouterr().out


def test_cpu_budget_and_compile(quality, tmp_path, compiled):
    result = quality.main(["--tiny", "--budget-cpu-s", "1", "--variants", "bf16-compile",
                           "--out", str(tmp_path / "q.json")])
    (row,) = result["rows"]
    assert row["variant"] == "bf16-compile" and row["cpu_amp"] is True and row["compile"] is True
    assert [name for name, _ in compiled] == ["MLPGenerator", "ConditionalDiscriminator"]
    assert result["budget_cpu_s"] == 0.5 and row["steps"] >= 1 and row["train_cpu_s"] >= 0.5
    assert result["cold_compile"] is True and torch.compiler.config.force_disable_caches is False  # restored


def test_budget_hook_stops_after_the_cpu_seconds(quality):
    hook = quality.budget_hook(0.05)
    assert hook(None) is False
    x = 0
    while not hook(None):  # burn CPU in this thread until the hook says stop
        x += 1
    assert x > 0


def test_bad_options(quality):
    with pytest.raises(SystemExit, match=r"--steps, --n-per-class, --epochs, --threads: expected >= 1"):
        quality.main(["--steps", "0"])
    with pytest.raises(SystemExit, match=r"--variants: expected a comma-separated subset of float32,bf16"):
        quality.main(["--variants", "fp16"])
    with pytest.raises(SystemExit, match=r"--budget-cpu-s: expected seconds > 0, got -1.0"):
        quality.main(["--budget-cpu-s", "-1"])
