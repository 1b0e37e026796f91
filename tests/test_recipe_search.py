"""benchmarks/recipe_search.py at a tiny size on the embedded digits: one run, its JSON line, --set parsing."""
import json

import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def recipe():
    with benchmark_module("recipe_search.py") as module:
        yield module


def test_one_run_writes_a_row_and_the_generator(recipe, tmp_path):
    argv = ["--dataset", "digits", "--name", "tiny", "--minutes", "0.01", "--cas-per-class", "5",
            "--cas-epochs", "1", "--out", str(tmp_path), "--set", "width=4", "z_dim=8", "batch_size=16",
            "aux_weight=0.5", "lr_g=4e-4"]
    row = recipe.main(argv)
    assert row["overrides"] == {"width": 4, "z_dim": 8, "batch_size": 16, "aux_weight": 0.5, "lr_g": 4e-4}
    assert row["steps"] >= 0 and 0.0 <= row["cas"] <= 1.0 and len(row["per_class"]) == 10
    assert (tmp_path / "tiny" / "generator.pt").exists()
    recipe.main(argv[:3] + ["tiny2"] + argv[4:])
    lines = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [r["name"] for r in lines] == ["tiny", "tiny2"]


def test_set_parsing(recipe):
    assert recipe.parse_overrides(["arch=dcgan", "spectral_norm=false", "augment=none", "betas=[0.0, 0.9]"]) == {
        "arch": "dcgan", "spectral_norm": False, "augment": "none", "betas": [0.0, 0.9]}
    with pytest.raises(SystemExit, match=r"--set: expected FIELD=VALUE with FIELD a TrainConfig field"):
        recipe.parse_overrides(["lr=1"])
    with pytest.raises(SystemExit, match=r"--set width: expected a value of type int, got 'wide'"):
        recipe.parse_overrides(["width=wide"])
