"""benchmarks/gpu_speed.py on the CPU at a tiny size: every measurement runs, the JSON and tables come out."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def speed():
    with benchmark_module("gpu_speed.py") as module:
        yield module


def test_tiny_run_measures_everything(speed, tmp_path, compiled, capsys):
    out = tmp_path / "gpu.json"
    result = speed.main(["--device", "cpu", "--tiny", "--archs", "mlp", "--out", str(out)])
    train = {(r["arch"], r["batch_size"], r["amp"], r["compile"]): r for r in result["train"]}
    assert set(train) == {("mlp", 16, False, False), ("mlp", 16, True, False), ("mlp", 16, True, True)}
    assert all(r["steps_per_s"] > 0 and r["real_images_per_s"] > 0 and r["timed_steps"] == 4 for r in train.values())
    assert [name for name, _ in compiled] == ["MLPGenerator", "ConditionalDiscriminator"]  # via TrainConfig.compile
    assert {(r["how"], r["amp"]) for r in result["generate"]} == {
        ("forward", False), ("forward", True), ("sample", False), ("SyntheticDataset", False)}
    assert all(r["images_per_s"] > 0 for r in result["generate"])
    assert result["errors"] == [] and result["skipped"] == []
    assert result["machine"]["torch"] and result["machine"]["device"] == "cpu" and result["dataset"] == "digits"
    assert json.loads(out.read_text()) == result
    printed = capsys.readouterr().out
    assert "steps/s" in printed and "SyntheticDataset" in printed and f"wrote {out}" in printed


def test_budget_skips_and_failures_are_recorded(speed, tmp_path, monkeypatch, capsys):
    out = tmp_path / "gpu.json"
    result = speed.main(["--device", "cpu", "--tiny", "--budget-s", "0", "--out", str(out)])
    assert result["train"] == result["generate"] == [] and len(result["skipped"]) == 6  # 2 archs x (2 amp + compile)

    def broken(*args):
        raise RuntimeError("no kernel image is available")

    monkeypatch.setattr(speed, "forward_rate", broken)
    result = speed.main(["--device", "cpu", "--tiny", "--archs", "dcgan", "--no-compile", "--out", str(out)])
    assert [e["what"] for e in result["errors"]] == ["generate dcgan forward amp=False", "generate dcgan forward amp=True"]
    assert "RuntimeError: no kernel image" in result["errors"][0]["error"]
    assert len(result["train"]) == 2 and len(result["generate"]) == 2  # the rest still ran
    assert "FAILED generate dcgan forward amp=False" in capsys.readouterr().out


def test_bad_options(speed):
    with pytest.raises(SystemExit, match=r"--archs: expected a comma-separated subset of mlp,dcgan, got 'vit'"):
        speed.main(["--device", "cpu", "--tiny", "--archs", "vit"])
    with pytest.raises(SystemExit, match=r"--batch-sizes: expected comma-separated ints, got '64,big'"):
        speed.main(["--device", "cpu", "--batch-sizes", "64,big"])
