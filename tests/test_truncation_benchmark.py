"""benchmarks/truncation.py at a tiny size: one row per generator and bound, truncation lowers variety."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def trunc():
    with benchmark_module("truncation.py") as module:
        yield module


def test_tiny_run(trunc, tmp_path, capsys):
    out = tmp_path / "t.json"
    result = trunc.main(["--tiny", "--bounds", "none", "0.5", "--out", str(out)])
    rows = result["rows"]
    assert [r["bound"] for r in rows] == [None, 0.5]
    assert all(0 <= r["agreement"] <= 1 and 0 <= r["confidence"] <= 1 for r in rows)
    assert rows[1]["variety"] < rows[0]["variety"]  # a tighter noise law, less varied images
    assert json.loads(out.read_text()) == result and "agreement" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["--bounds", "x"], "--bounds: expected numbers > 0 or 'none'"),
    (["--bounds", "0"], "--n, --bounds: expected >= 1 and > 0"),
    ([], "--checkpoints: expected at least one generator.pt"),
])
def test_bad_options(trunc, argv, match):
    with pytest.raises(SystemExit, match=match):
        trunc.main(argv)
