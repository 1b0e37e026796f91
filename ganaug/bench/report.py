"""Tables and plots from a benchmark's ``results.csv``: mean, std, 95% CI per cell, paired tests per seed."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from .._checks import check_choice, fail
from ..metrics.stats import paired_test, summarize
from .config import METHODS, SHARE_BASELINE, base_method, gan_kind
from .store import ResultStore, select_rows

METRICS = ("accuracy", "balanced_accuracy")


def baseline_of(label: str) -> str | None:
    """The method a row is tested against per seed: a share method's share-0 baseline (self-train for
    self-train+sgan+aug); else real+aug for methods with classical augmentation (self-train included),
    real for the others; none for real itself and the synthetic-only scores."""
    method = base_method(label)
    if method in ("real", "cas", "cas-sgan"):
        return None
    if method in SHARE_BASELINE:
        return SHARE_BASELINE[method]
    return "real" if method == "real+aug" or ("aug" not in method and method != "self-train") else "real+aug"


def order(label: str) -> tuple:
    """Table order: METHODS order, then the shares ascending, "auto" last."""
    method, _, share = label.partition("@")
    return (METHODS.index(method) if method in METHODS else len(METHODS), share == "auto",
            float(share) if share not in ("", "auto") else 0.0, label)


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
                                        key=lambda kv: (order(kv[0][0]), kv[0][1] == 0, kv[0][1])):
        out.append({"method": method, "size": size, **summarize([r[metric] for r in group])})
    return out


def comparisons(rows: Sequence[dict[str, Any]], metric: str = "accuracy") -> list[dict[str, Any]]:
    """Paired (per seed) tests of each method against its baseline, per size (seeds both ran only)."""
    check_choice("metric", metric, METRICS)
    cells = {k: {r["seed"]: r[metric] for r in g} for k, g in _by(rows, "method", "size").items()}
    out = []
    for method in sorted({m for m, _ in cells}, key=order):
        base = baseline_of(method)
        if base is None:
            continue
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
    head = "| method | " + " | ".join(f"{_size_label(s)}/class" if s else "full set" for s in sizes) + " |"
    lines = [f"{metric} on the {rows[0]['eval_split']} split, mean ± 95% CI half-width (seeds); std in summary.csv",
             "", head, "|---|" + "---|" * len(sizes)]
    for m in sorted({m for m, _ in cells}, key=order):
        vals = []
        for s in sizes:
            c = cells.get((m, s))
            vals.append("–" if c is None else (f"{c['mean']:.4f} ± {c['ci_half']:.4f} ({c['n']})"
                                                if not math.isnan(c["ci_half"]) else f"{c['mean']:.4f} ({c['n']})"))
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    lines += _gan_table(rows, sizes)
    comps = comparisons(rows, metric)
    if comps:
        lines += ["", "Paired by seed: mean difference [95% CI], paired t-test p, Wilcoxon p, wins/seeds", "",
                  "| comparison | size/class | difference | t-test p | Wilcoxon p | wins |", "|---|---|---|---|---|---|"]
        for c in comps:
            ci = "" if math.isnan(c["ci_low"]) else f" [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
            lines.append(f"| {c['method']} vs {c['baseline']} | {_size_label(c['size'])} | {c['mean_diff']:+.4f}{ci} "
                         f"| {format_p(c['t_p'])} | {format_p(c['wilcoxon_p'])} | {c['wins']}/{c['n']} |")
    return "\n".join(lines) + "\n"


def _gan_table(rows, sizes) -> list[str]:
    # Each cell's GAN quality next to its downstream effect: CAS on the evaluation split, steps, minutes.
    # Each row's gan_* columns describe the GAN its method used (config.gan_kind).
    kinds = (("GAN on the subset", lambda m: gan_kind(m) == "gan"),
             ("GAN on augmented copies", lambda m: gan_kind(m) == "augan"),
             ("semi GAN (labelled + pseudo-labelled)", lambda m: gan_kind(m) == "sgan"))
    out = []
    for name, pick in kinds:
        per_cell = {}
        for r in rows:
            if pick(r["method"]) and r.get("gan_cas") is not None and not math.isnan(r["gan_cas"]):
                per_cell[(r["size"], r["seed"])] = r
        if not per_cell:
            continue
        if not out:
            out = ["", "GAN per cell: CAS (a classifier trained on its images only, scored on the evaluation split), "
                   "recall (k=3) and coverage (k=5) against the evaluation split where measured (semi GAN), "
                   "generator steps and training minutes, mean over seeds", "",
                   "| generator | size/class | CAS | recall | coverage | steps | minutes |", "|---|---|---|---|---|---|---|"]
        for size in sizes:
            cell = [r for (sz, _), r in sorted(per_cell.items()) if sz == size]
            if not cell:
                continue
            cas = summarize([r["gan_cas"] for r in cell])
            ci = "" if math.isnan(cas["ci_half"]) else f" ± {cas['ci_half']:.4f}"
            steps = [r["gan_steps"] for r in cell if r.get("gan_steps") is not None]
            mins = [r["gan_wall_s"] / 60 for r in cell if r.get("gan_wall_s") is not None and not math.isnan(r["gan_wall_s"])]
            minutes = f"{sum(mins) / len(mins):.1f}" if mins else "–"
            out.append(f"| {name} | {_size_label(size)} | {cas['mean']:.4f}{ci} ({cas['n']}) | "
                       f"{_mean_of(cell, 'gan_recall')} | {_mean_of(cell, 'gan_coverage')} | "
                       f"{round(sum(steps) / len(steps)) if steps else '–'} | {minutes} |")
    return out


def _mean_of(rows, key: str) -> str:
    vals = [r[key] for r in rows if r.get(key) is not None and not math.isnan(r[key])]
    return f"{sum(vals) / len(vals):.4f}" if vals else "–"


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
    # One line per method: fixed-share rows stay in the tables, the plot shows each method's "@auto".
    labels = sorted({r["method"] for r in rows if "@" not in r["method"] or r["method"].endswith("@auto")}, key=order)
    for m in labels:
        pts = [c for c in summary(rows, metric) if c["method"] == m]
        if not pts:
            continue
        xs = [x_of[c["size"]] for c in pts]
        ys = [c["mean"] for c in pts]
        err = [0.0 if math.isnan(c["ci_half"]) else c["ci_half"] for c in pts]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=m, linestyle="--" if m.startswith("cas") else "-")
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


PSEUDO_FIELDS = ("size", "seed", "folder", "n_labelled", "n_pool", "n_pseudo", "pseudo_label_accuracy", "rounds",
                 "wall_s")


def update_pseudo_labels(out_dir: str | Path) -> list[dict[str, Any]]:
    """The semi mode's pseudo-labelling per cell: ``out_dir/pseudo_labels.csv`` updated from the
    ``gans/n{k}-seed{s}/pseudo*/info.json`` files present (pool size, images kept, share of them rightly
    labelled, rounds, seconds). The CSV is kept with the results, so a report regenerated without the
    gans folder (another machine, a clean clone) still has every cell's pseudo-labelling."""
    import csv

    out = Path(out_dir)
    path = out / "pseudo_labels.csv"
    records: dict[tuple, dict[str, Any]] = {}
    if path.exists():
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                records[(int(r["size"]), int(r["seed"]), r["folder"])] = r
    found = False
    for info_path in sorted(out.glob("gans/n*-seed*/pseudo*/info.json")):
        size, _, seed = info_path.parent.parent.name[1:].partition("-seed")
        info = json.loads(info_path.read_text())
        records[(int(size), int(seed), info_path.parent.name)] = {
            "size": size, "seed": seed, "folder": info_path.parent.name, "n_labelled": info.get("n_labelled", ""),
            "n_pool": info["n_pool"], "n_pseudo": info["n_pseudo"],
            "pseudo_label_accuracy": info.get("pseudo_label_accuracy", ""), "rounds": len(info["rounds"]),
            "wall_s": info["wall_s"]}
        found = True
    if found:  # written atomically: a report never leaves a half-written file
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=PSEUDO_FIELDS)
            writer.writeheader()
            writer.writerows(records[k] for k in sorted(records))
        tmp.replace(path)
    return [records[k] for k in sorted(records)]


def pseudo_label_markdown(records: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> str:
    """The pseudo-labelling ``records`` (:func:`update_pseudo_labels`) of the cells of ``rows`` as a
    markdown table; "" when there is none."""
    cells = {(int(r["size"]), int(r["seed"])) for r in rows}
    lines = []
    for rec in records:
        if (int(rec["size"]), int(rec["seed"])) not in cells:
            continue
        right = rec["pseudo_label_accuracy"]
        lines.append(f"| {_size_label(int(rec['size']))} | {rec['seed']} | {rec['folder']} | {int(rec['n_pool']):,} | "
                     f"{int(rec['n_pseudo']):,} | {'–' if right in ('', None) else f'{100 * float(right):.1f}%'} | "
                     f"{rec['rounds']} | {float(rec['wall_s']) / 60:.1f} |")
    if not lines:
        return ""
    return "\n".join(["", "Pseudo-labelling per cell (shared by self-train and the semi GAN): pool images, images "
                      "kept, the share of those whose pseudo-label is right (from the pool's true labels, which no "
                      "method reads), rounds, minutes", "",
                      "| size/class | seed | folder | pool | kept | right | rounds | minutes |",
                      "|---|---|---|---|---|---|---|---|", *lines]) + "\n"


def write_report(out_dir: str | Path, metric: str = "accuracy", setting: str | None = None) -> dict[str, Path]:
    """Regenerate ``results.md`` and ``results.png`` in ``out_dir`` from its ``results.csv``."""
    out = Path(out_dir)
    if not (out / "results.csv").exists():
        fail("out_dir", "a folder holding a benchmark's results.csv", str(out),
             "Run `ganaug benchmark --out DIR` first, or point at that DIR.")
    rows = select_rows(ResultStore(out / "results.csv").rows(), setting)
    (out / "results.md").write_text(markdown(rows, metric) + pseudo_label_markdown(update_pseudo_labels(out), rows))
    with open(out / "summary.csv", "w", newline="") as f:
        import csv

        writer = csv.DictWriter(f, fieldnames=["method", "size", "n", "mean", "std", "ci_low", "ci_high", "ci_half"])
        writer.writeheader()
        writer.writerows(summary(rows, metric))
    return {"markdown": out / "results.md", "summary": out / "summary.csv",
            "plot": plot(rows, out / "results.png", metric)}
