"""benchmarks/semi_probe.py at a tiny size on the embedded digits: its JSON scores the pseudo-labels."""
import importlib.util
import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_probe_writes_kept_count_accuracy_and_per_round_test_accuracy(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))  # the script imports benchmarks/_common.py
    try:
        spec = importlib.util.spec_from_file_location("bench_semi_probe", BENCHMARKS / "semi_probe.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out = module.main(["--dataset", "digits", "--n-per-class", "5", "--steps", "150", "--width", "16",
                           "--threshold", "0.8", "--rounds", "1", "--out", str(tmp_path / "probe.json")])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert json.loads((tmp_path / "probe.json").read_text()) == out
    assert out["pool"] == 1797 - 50 and out["kept"] == out["rounds"][0]["kept"] > 0
    assert 0.9 <= out["kept_accuracy"] <= 1.0
    assert len(out["test_accuracy_per_round"]) == 2 and all(0.5 < a <= 1 for a in out["test_accuracy_per_round"])
