"""Tables and plots from a benchmark's ``results.csv``: mean, std, 95% CI per cell, paired tests per seed."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ._checks import check_choice, fail
from .benchmark import METHODS, ResultStore, select_rows
from .stats import paired_test, summarize

METRICS = ("accuracy", "balanced_accuracy")
# (method, baseline) pairs tested per seed: every method against real only, and GAN+aug against aug.
COMPARISONS = tuple((m, "real") for m in METHODS if m not in ("real", "cas")) + (("real+gan+aug", "real+aug"),)


def _by(rows, *keys) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def _sizes(rows) -> list[int]:
    # Full-set rows (size 0) go last.
    return sorted({r["size"] for r in rows}, key=lambda s: (s == 0, s))


def _size_label(size: int) -> str:
    return "full" if size == 0 else str(size)


def summary(rows: Sequence[dict[str, Any]], metric: str = "accuracy") -> list[dict[str, Any]]:
    """One dict per (method, size): ``summarize`` of the metric over seeds, plus ``method``/``size``."""
    check_choice("metric", metric, METRICS)
    out = []
    for (method, size), group in sorted(_by(rows, "method", "size").items(),
                                        key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1] == 0, kv[0][1])):
        out.append({"method": method, "size": size, **summarize([r[metric] for r in group])})
    return out


def comparisons(rows: Sequence[dict[str, Any]], metric: str = "accuracy") -> list[dict[str, Any]]:
    """Paired (per seed) tests of each method against its baseline, per size (seeds both ran only)."""
    check_choice("metric", metric, METRICS)
    cells = {k: {r["seed"]: r[metric] for r in g} for k, g in _by(rows, "method", "size").items()}
    out = []
    for method, base in COMPARISONS:
        for size in _sizes(rows):
            a, b = cells.get((method, size), {}), cells.get((base, size), {})
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            out.append({"method": method, "baseline": base, "size": size, "seeds": seeds,
                        **paired_test([a[s] for s in seeds], [b[s] for s in seeds])})
    return out


def format_p(p: float) -> str:
    return "–" if math.isnan(p) else (f"{p:.3f}" if p >= 0.001 else "<0.001")


def markdown(rows: Sequence[dict[str, Any]], metric: str = "accuracy") -> str:
    """Two markdown tables: mean ± 95% CI half-width (n seeds) per method and size; paired differences."""
    if not rows:
        fail("rows", "at least one finished run", 0, "Run the benchmark first (ganaug benchmark ...).")
    sizes = _sizes(rows)
    cells = {(s["method"], s["size"]): s for s in summary(rows, metric)}
    head = "| method | " + " | ".join(f"{_size_label(s)}/class" for s in sizes) + " |"
    lines = [f"{metric} on the {rows[0]['eval_split']} split, mean ± 95% CI half-width (seeds); std in summary.csv",
             "", head, "|---|" + "---|" * len(sizes)]
    for m in METHODS:
        if not any((m, s) in cells for s in sizes):
            continue
        vals = []
        for s in sizes:
            c = cells.get((m, s))
            vals.append("–" if c is None else (f"{c['mean']:.4f} ± {c['ci_half']:.4f} ({c['n']})"
                                                if not math.isnan(c["ci_half"]) else f"{c['mean']:.4f} ({c['n']})"))
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    comps = comparisons(rows, metric)
    if comps:
        lines += ["", "Paired by seed: mean difference [95% CI], paired t-test p, Wilcoxon p, wins/seeds", "",
                  "| comparison | size/class | difference | t-test p | Wilcoxon p | wins |", "|---|---|---|---|---|---|"]
        for c in comps:
            ci = "" if math.isnan(c["ci_low"]) else f" [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
            lines.append(f"| {c['method']} vs {c['baseline']} | {_size_label(c['size'])} | {c['mean_diff']:+.4f}{ci} "
                         f"| {format_p(c['t_p'])} | {format_p(c['wilcoxon_p'])} | {c['wins']}/{c['n']} |")
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], path: str | Path, metric: str = "accuracy") -> Path:
    """PNG: metric vs labelled images per class (log x), one line per method, 95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not rows:
        fail("rows", "at least one finished run", 0, "Run the benchmark first (ganaug benchmark ...).")
    sizes = _sizes(rows)
    # The full set sits at its mean images per class.
    per_class = {r["size"]: r["n_real"] / r["n_classes"] for r in rows}
    x_of = {s: (s if s else per_class[s]) for s in sizes}
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for m in METHODS:
        pts = [c for c in summary(rows, metric) if c["method"] == m]
        if not pts:
            continue
        xs = [x_of[c["size"]] for c in pts]
        ys = [c["mean"] for c in pts]
        err = [0.0 if math.isnan(c["ci_half"]) else c["ci_half"] for c in pts]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=m, linestyle="--" if m == "cas" else "-")
    ax.set_xscale("log")
    ax.set_xticks([x_of[s] for s in sizes], [_size_label(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("labelled images per class")
    ax.set_ylabel(f"test {metric}" if rows[0]["eval_split"] == "test" else f"validation {metric}")
    ax.set_title(f"{rows[0]['dataset']}: mean over seeds, 95% CI")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(out_dir: str | Path, metric: str = "accuracy", setting: str | None = None) -> dict[str, Path]:
    """Regenerate ``results.md`` and ``results.png`` in ``out_dir`` from its ``results.csv``."""
    out = Path(out_dir)
    if not (out / "results.csv").exists():
        fail("out_dir", "a folder holding a benchmark's results.csv", str(out),
             "Run `ganaug benchmark --out DIR` first, or point at that DIR.")
    rows = select_rows(ResultStore(out / "results.csv").rows(), setting)
    (out / "results.md").write_text(markdown(rows, metric))
    with open(out / "summary.csv", "w", newline="") as f:
        import csv

        writer = csv.DictWriter(f, fieldnames=["method", "size", "n", "mean", "std", "ci_low", "ci_high", "ci_half"])
        writer.writeheader()
        writer.writerows(summary(rows, metric))
    return {"markdown": out / "results.md", "summary": out / "summary.csv",
            "plot": plot(rows, out / "results.png", metric)}
