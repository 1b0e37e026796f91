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


def test_drop_in_mnist(mnist_root, tmp_path, capsys):
    import ganaug
    from conftest import tiny_config

    data = ganaug.load_dataset("mnist", root=mnist_root, n_per_class=2)
    gen, _ = ganaug.fit(data, tiny_config(batch_size=8), progress=False)
    gen.save(tmp_path / "g.pt")
    module = load("drop_in_mnist")
    args = ["--root", str(mnist_root), "--train-images", "64", "--epochs", "1", "--test-images", "100"]
    assert 0 <= module.main(args) <= 1
    assert 0 <= module.main(args + ["--generator", str(tmp_path / "g.pt")]) <= 1
    out = capsys.readouterr().out
    assert "training items per epoch: 64;" in out and "training items per epoch: 128;" in out


def test_examples_and_benchmarks_import_only_public_names():
    import ast

    repo = EXAMPLES.parent
    for path in [*sorted(EXAMPLES.glob("*.py")), *sorted((repo / "benchmarks").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganaug"):
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("ganaug")]
            else:
                continue
            private = [n for n in names if any(part.startswith("_") for part in n.split("."))]
            assert not private, f"{path.relative_to(repo)} imports private {private[0]}"
