"""The README and docs/ as a user meets them: every Python block runs as written, every link resolves.

A block runs in a fresh namespace in an empty working directory (so `runs/...`, `data/...` are its
own). A ```python block preceded by the line `<!-- no-test -->` needs MNIST: it runs only when
$GANAUG_DATA names the folder holding MNIST/raw, which the block then sees as `data/`.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
NO_TEST = "<!-- no-test -->"
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```\s*$", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# Paths of the development machine never appear in what users read.
DEV_PATHS = re.compile(r"/work/|shared/data|\.\./shared")


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _blocks(lang: str):
    for page in PAGES:
        text = page.read_text()
        for m in FENCE.finditer(text):
            if m.group(1) == lang:
                line = text.count("\n", 0, m.start()) + 1
                before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
                yield pytest.param(m.group(2), before == NO_TEST, id=f"{_rel(page)}:{line}")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    # One feature-extractor cache for all blocks, never the user's ~/.cache.
    return tmp_path_factory.mktemp("ganaug-cache")


@pytest.mark.parametrize("code, needs_mnist", list(_blocks("python")))
def test_python_block_runs(code, needs_mnist, tmp_path, monkeypatch, cache_dir, request):
    if needs_mnist:  # skips, as every MNIST test does, when GANAUG_DATA is unset or holds no MNIST/raw
        (tmp_path / "data").symlink_to(request.getfixturevalue("mnist_root"), target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANAUG_CACHE", str(cache_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(code, request.node.callspec.id, "exec"), {"__name__": "__main__"})


def test_there_are_python_blocks_and_no_test_is_rare():
    blocks = list(_blocks("python"))
    assert len(blocks) >= 10
    assert sum(p.values[1] for p in blocks) <= len(blocks) // 4


def test_code_fences_name_their_language():
    # A Python block tagged `py` or left untagged would silently escape test_python_block_runs.
    for page in PAGES:
        for m in FENCE.finditer(page.read_text()):
            assert m.group(1) in ("python", "bash", "text", ""), f"{_rel(page)}: fence ```{m.group(1)}"
            if m.group(1) == "":
                assert not re.search(r"^(import |from \w+ import )", m.group(2), re.M), \
                    f"{_rel(page)}: Python code in an untagged block; tag it ```python"


def _slug(heading: str) -> str:
    # GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_point_at_existing_files_and_headings(page):
    text = FENCE.sub("", page.read_text())
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{_rel(page)}: link to {target!r}, but {path!r} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{_rel(page)}: link to {target!r}: no such heading in {dest.name}"


def test_cli_page_matches_the_parsers():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_cli", REPO / "docs" / "gen_cli.py")
    gen_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_cli)
    assert (REPO / "docs" / "cli.md").read_text() == gen_cli.render(), \
        "docs/cli.md is out of date: run python3 docs/gen_cli.py"


def test_ci_runs_the_readme_commands_verbatim():
    readme = (REPO / "README.md").read_text()
    readme_commands = {line for m in FENCE.finditer(readme) if m.group(1) == "bash" for line in m.group(2).splitlines()}
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if "pip install" in line]
    assert len(ci) == 2 and all(line in readme_commands for line in ci), ci


def test_readme_is_a_short_page():
    assert len((REPO / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("path", [*PAGES, *sorted((REPO / "examples").glob("*.py")), *sorted(
    (REPO / "ganaug").glob("*.py"))], ids=_rel)
def test_no_development_machine_paths(path):
    hits = [line for line in path.read_text().splitlines() if DEV_PATHS.search(line)]
    assert not hits, f"{_rel(path)} names a development-machine path: {hits[0].strip()!r}"
