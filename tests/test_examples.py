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


# The public API: ganaug's own names, the stage namespaces (each name in its __all__) and ganaug.checks.
NAMESPACES = ("data", "classify", "gan", "synth", "metrics", "bench")


def public_api_violations(source: str) -> list[str]:
    """Uses of ganaug in ``source`` that reach past the public API (a module file, a private name)."""
    import ast

    import ganaug
    import ganaug.checks

    def check(dotted: str) -> str | None:
        parts = dotted.split(".")[:3]  # ganaug, a namespace or name, a name in it
        dotted = ".".join(parts)
        if any(p.startswith("_") for p in parts):
            return f"private {dotted}"
        if len(parts) < 2:
            return None
        if parts[1] == "checks":
            ok = len(parts) == 2 or parts[2] in ganaug.checks.__all__
            return None if ok else f"{dotted} (not in ganaug.checks)"
        if parts[1] in NAMESPACES:
            space = getattr(ganaug, parts[1])
            return None if len(parts) == 2 or parts[2] in space.__all__ else f"{dotted} (use ganaug.{parts[1]}'s __all__)"
        return None if parts[1] in ganaug.__all__ else f"{dotted} (not a public ganaug name)"

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ganaug":
            found += [check(f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [check(a.name) for a in node.names if a.name.split(".")[0] == "ganaug"]
        elif isinstance(node, ast.Attribute):  # ganaug.x.y.z written out
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "ganaug":
                found.append(check(".".join(["ganaug", *reversed(chain)])))
    return sorted({f for f in found if f})


def test_examples_and_benchmarks_use_only_the_public_api():
    repo = EXAMPLES.parent
    for path in [*sorted(EXAMPLES.glob("*.py")), *sorted((repo / "benchmarks").glob("*.py"))]:
        assert public_api_violations(path.read_text()) == [], path.relative_to(repo)


def test_the_public_api_check_catches_module_paths_and_private_names():
    source = ("import ganaug\nfrom ganaug.gan.models import build_generator\nfrom ganaug import _checks\n"
              "from ganaug.data import load_dataset, default_root\nx = ganaug.data.datasets.from_arrays\n"
              "y = ganaug.fit\nz = ganaug.metrics.fid\nw = ganaug.nonexistent\n")
    assert public_api_violations(source) == [
        "ganaug.data.datasets (use ganaug.data's __all__)", "ganaug.gan.models (use ganaug.gan's __all__)",
        "ganaug.nonexistent (not a public ganaug name)", "private ganaug._checks"]
