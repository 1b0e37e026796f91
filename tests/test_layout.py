"""The package layout follows the pipeline: data -> classify -> gan -> synth -> metrics -> bench.

Every import of a ganaug module, at module level or inside a function (lazy imports are where
circles used to hide), is an edge of the import graph. No edge may point to a higher layer, and the
graph has no circle.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ganaug"
# Lowest first. "base": the shared private modules at the top of the package (_checks, _files, ...);
# "top": ganaug/__init__.py (the public API), the CLI and __main__.
LAYERS = ("base", "data", "classify", "gan", "synth", "metrics", "bench", "top")
TOP = {"ganaug", "ganaug.cli", "ganaug.__main__"}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module in TOP:
        return "top"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "base"


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the ganaug modules it imports anywhere in its code}."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from pkg import mod` imports the module pkg.mod; `from mod import name` the module mod
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})" for a, targets in graph.items()
                  for b in targets if LAYERS.index(layer(b)) > LAYERS.index(layer(a)))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_belongs_to_a_layer_and_subpackages_are_the_pipeline():
    graph = import_graph()
    assert {layer(m) for m in graph} == set(LAYERS)
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(LAYERS) - {"base", "top"}
    base = sorted(m for m in graph if layer(m) == "base")
    public_base = [m for m in base if not m.rpartition(".")[2].startswith("_")]
    assert public_base == ["ganaug.checks"], "top-level modules other than cli are private helpers"


def test_no_import_from_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_checks_catch_an_upward_import_and_a_circle(tmp_path):
    root = tmp_path / "ganaug"
    for folder in ("data", "gan"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from .gan.models import G\n")
    (root / "_checks.py").write_text("")
    (root / "data" / "datasets.py").write_text("def f():\n    from ..gan.models import G  # lazy, still an edge\n")
    (root / "gan" / "models.py").write_text("from .. import _checks\nfrom .checkpoint import save\n")
    (root / "gan" / "checkpoint.py").write_text("def load():\n    from .models import G\n")
    graph = import_graph(root)
    assert graph["ganaug.gan.models"] == {"ganaug._checks", "ganaug.gan.checkpoint"}
    assert upward_imports(graph) == ["ganaug.data.datasets (layer data) imports ganaug.gan.models (layer gan)"]
    assert find_cycle(graph) == ["ganaug.gan.models", "ganaug.gan.checkpoint", "ganaug.gan.models"]


@pytest.mark.parametrize("source, expected", [
    ("from .models import G", {"ganaug.gan.models"}),
    ("from ..data import datasets", {"ganaug.data.datasets"}),
    ("from ..data import load_dataset", {"ganaug.data"}),
    ("import ganaug.data.datasets", {"ganaug.data.datasets"}),
    ("import torch", set()),
])
def test_import_forms_resolve_to_modules(tmp_path, source, expected):
    root = tmp_path / "ganaug"
    for folder in ("data", "gan"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "data" / "datasets.py").write_text("")
    (root / "gan" / "models.py").write_text("")
    (root / "gan" / "training.py").write_text(source + "\n")
    assert import_graph(root)["ganaug.gan.training"] == expected


def test_every_public_name_resolves():
    import importlib.util

    import ganaug
    import ganaug.checks

    spaces = [ganaug, *(getattr(ganaug, name) for name in LAYERS if name not in ("base", "top"))]
    optional = {"GANOversampler", "default_oversampler_config"} if importlib.util.find_spec("imblearn") is None else set()
    for space in spaces:
        missing = [n for n in space.__all__ if n not in optional and not hasattr(space, n)]
        assert missing == [], f"{space.__name__}.__all__ names {missing} it does not have"
    assert ganaug.evaluate is ganaug.metrics.evaluate and callable(ganaug.evaluate)
    assert ganaug.checks.__all__ == ["check_choice", "check_float", "check_int", "fail"]
