"""benchmarks/dataloader_speed.py at a tiny size: fresh shuffled epochs, idle and busy, rows and ratios."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def speed():
    with benchmark_module("dataloader_speed.py") as module:
        yield module


def test_tiny_synthetic_only(speed, tmp_path, capsys):
    out = tmp_path / "speed.json"
    result = speed.main(["--tiny", "--root", str(tmp_path), "--archs", "mlp", "--num-workers", "0",
                         "--num-threads", "auto,1", "--out", str(out)])
    assert "skipping the real-data comparison" in capsys.readouterr().out
    rows = {(r["load"], r["num_threads"], r["epoch"]): r for r in result["rows"]}
    assert set(rows) == {(load, t, e) for load in ("idle", "busy") for t in ("auto", "1") for e in ("first", "later")}
    assert all(r["synthetic_items_per_s"] > 0 and r["real_items_per_s"] is None and r["ratio"] is None
               for r in rows.values())
    assert json.loads(out.read_text())["rows"] == result["rows"]
    raw = {(r["load"], r["variant"]): r["rates"] for r in result["raw"]}
    assert all(len(rates) == 1 and len(rates[0]) == 2 for rates in raw.values())  # 1 repeat, 2 epochs


def test_tiny_bf16_variant(speed, tmp_path):
    result = speed.main(["--tiny", "--root", str(tmp_path), "--archs", "mlp", "--num-workers", "0", "--loads", "idle",
                         "--epochs", "1", "--num-threads", "1", "--precision", "float32,bf16"])
    assert [(r["num_threads"], r["precision"]) for r in result["rows"]] == [("1", "float32"), ("1", "bf16")]
    assert {r["variant"] for r in result["raw"]} == {"1", "1+bf16"}
    costs = result["forward_pass"]["mlp"]
    assert [c["precision"] for c in costs] == ["float32", "bf16"]
    assert all(c["ms_per_batch"] > 0 and c["linear_mflop_per_batch"] > 0 for c in costs)


def test_tiny_against_real_mnist(speed, mnist_root, capsys):
    result = speed.main(["--tiny", "--root", str(mnist_root), "--archs", "mlp", "--num-workers", "2",
                         "--loads", "busy", "--epochs", "2"])
    (first, later) = result["rows"]
    assert (first["epoch"], later["epoch"]) == ("first", "later") and first["num_workers"] == 2
    for row in (first, later):
        assert row["ratio"] == pytest.approx(row["synthetic_items_per_s"] / row["real_items_per_s"], abs=0.01)
    assert "--tiny: results not written" in capsys.readouterr().out


def test_tiny_ceiling_and_scaling(speed, tmp_path):
    result = speed.main(["--tiny", "--root", str(tmp_path), "--archs", "mlp", "--num-workers", "0", "--loads", "idle",
                         "--epochs", "1", "--num-threads", "1", "--ceiling", "--scaling"])
    ceiling = [r for r in result["rows"] if r["arch"] == "no-work"]
    assert [(r["load"], r["num_workers"], r["epoch"]) for r in ceiling] == [("idle", 0, "first")]
    assert ceiling[0]["synthetic_items_per_s"] > 0 and ceiling[0]["real_items_per_s"] is None
    assert {r["variant"] for r in result["raw"]} == {"1", "no-work"}
    one, two = result["forward_scaling"]
    assert (one["processes"], two["processes"]) == (1, 2) and len(two["items_per_s_each"]) == 2
    assert two["items_per_s_total"] == sum(two["items_per_s_each"]) > 0


def test_bad_options(speed):
    with pytest.raises(SystemExit, match=r"--num-threads: expected a comma-separated list of 'auto' or counts >= 1, "
                                         r"got 'two'"):
        speed.main(["--tiny", "--num-threads", "auto,two"])
    with pytest.raises(SystemExit, match=r"--loads: expected idle and/or busy"):
        speed.main(["--tiny", "--loads", "heavy"])
    with pytest.raises(SystemExit, match=r"--precision: expected float32 and/or bf16, got 'fp16'"):
        speed.main(["--tiny", "--precision", "fp16"])
    with pytest.raises(SystemExit, match=r"--scaling-procs: expected >= 2, got 1"):
        speed.main(["--tiny", "--scaling", "--scaling-procs", "1"])
