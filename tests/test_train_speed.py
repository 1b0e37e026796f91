"""benchmarks/train_speed.py at a tiny size: the peer and ganaug take turns in one process; rows and ratios."""
import json
from pathlib import Path

import pytest
import torch
from conftest import benchmark_module


@pytest.fixture(scope="module")
def speed():
    with benchmark_module("train_speed.py") as module:
        yield module


def test_tiny_side_by_side(speed, tmp_path, capsys):
    out = tmp_path / "train.json"
    threads = torch.get_num_threads()
    result = speed.main(["--tiny", "--out", str(out)])
    assert result["recipes"]["ganaug-mlp-bf16"] == {**result["recipes"]["ganaug-mlp"], "cpu_amp": True}
    assert torch.get_num_threads() == 1 or threads == 1  # --threads 1 (the default) is what ran
    rows = {r["runner"]: r for r in result["rows"]}
    assert list(rows) == ["peer-cgan", "ganaug-mlp", "ganaug-mlp-bf16", "ganaug-dcgan", "ganaug-dcgan-bf16"]
    for row in rows.values():
        assert row["steps"] > 0 and len(row["chunk_steps_per_s"]) == 2 and row["warmup_s"] > 0  # warm-up not timed
        assert row["steps_per_s"] == pytest.approx(row["steps"] / row["seconds"], rel=0.01)
        assert row["ratio_to_peer"] == pytest.approx(row["steps_per_s"] / rows["peer-cgan"]["steps_per_s"], abs=0.01)
        assert row["cpu_ratio_to_peer"] == pytest.approx(
            row["steps_per_cpu_s"] / rows["peer-cgan"]["steps_per_cpu_s"], abs=0.01)
        assert row["images_per_s"] == pytest.approx(64 * row["steps_per_s"], rel=0.01, abs=0.5)  # a rounded int
    assert result["peer_data"] == "in-memory tensors" and result["dataset"] == "digits"
    assert json.loads(out.read_text()) == result
    printed = capsys.readouterr().out
    assert "vs peer" in printed and "ganaug-dcgan" in printed


def test_peer_trains_on_mnist_from_torchvision(speed, mnist_root, capsys):
    result = speed.main(["--tiny", "--dataset", "mnist", "--root", str(mnist_root), "--runners", "peer-cgan,ganaug-mlp"])
    assert result["peer_data"] == "torchvision MNIST + PIL transforms" and result["image_shape"] == [1, 28, 28]
    assert [r["runner"] for r in result["rows"]] == ["peer-cgan", "ganaug-mlp"]
    assert "--tiny: results not written" in capsys.readouterr().out


def test_baseline_checkout_runs_beside(speed, tmp_path):
    repo = Path(__file__).resolve().parents[1]  # this checkout as its own baseline: a copy under another name
    result = speed.main(["--tiny", "--runners", "ganaug-mlp,ganaug-mlp-bf16", "--baseline", str(repo)])
    rows = {r["runner"]: r for r in result["rows"]}
    # this checkout has cpu_amp, so its bf16 runner is compared with the baseline's bf16 one
    assert list(rows) == ["ganaug-mlp", "ganaug-mlp-bf16", "baseline:ganaug-mlp", "baseline:ganaug-mlp-bf16"]
    for name in ("ganaug-mlp", "ganaug-mlp-bf16"):
        assert rows[name]["ratio_to_baseline"] == pytest.approx(
            rows[name]["steps_per_s"] / rows[f"baseline:{name}"]["steps_per_s"], abs=0.01)
    assert result["baseline"] == str(repo) and rows["ganaug-mlp"]["ratio_to_peer"] is None
    with pytest.raises(SystemExit, match=r"--baseline: expected a checkout holding ganaug/__init__.py"):
        speed.main(["--tiny", "--baseline", str(tmp_path)])


def test_ganaug_errors_reach_the_caller(speed, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(speed.ganaug, "fit", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        speed.main(["--tiny", "--runners", "ganaug-mlp"])


def test_bad_options(speed):
    with pytest.raises(SystemExit, match=r"--runners: expected a comma-separated subset of peer-cgan,"
                                         r"ganaug-mlp,ganaug-mlp-bf16,ganaug-dcgan,ganaug-dcgan-bf16,ganaug-mlp-compile,"
                                         r"ganaug-mlp-bf16-compile, got 'gan'"):
        speed.main(["--tiny", "--runners", "gan"])
    with pytest.raises(SystemExit, match=r"--chunk-s: expected > 0"):
        speed.main(["--chunk-s", "0"])


def test_twin_falls_back_to_float32_without_cpu_amp(speed):
    with_amp = {"arch", "aux_weight", "aux_twin", "z_dim", "lr_g", "lr_d", "cpu_amp", "compile"}
    assert speed.twin("ganaug-mlp-bf16", with_amp) == "ganaug-mlp-bf16"
    assert speed.twin("ganaug-mlp-bf16", with_amp - {"cpu_amp"}) == "ganaug-mlp"
    assert speed.twin("ganaug-dcgan-bf16", {"arch"}) == "ganaug-dcgan"
    assert speed.twin("peer-cgan", with_amp) == "peer-cgan"
