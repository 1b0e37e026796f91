import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_save_sample(tmp_path, capsys):
    path = load("train_save_sample").main(["--steps", "3", "--out", str(tmp_path), "--label", "4"])
    assert path.exists()
    assert "fresh process: 10 images of class '4', shape (10, 1, 8, 8)" in capsys.readouterr().out
