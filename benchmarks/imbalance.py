"""Long-tailed MNIST: does over-sampling with GAN images help a CNN more than duplication or SMOTE?

    python benchmarks/imbalance.py                       # MNIST, ratios 10 and 100, seeds 0 1 2
    python benchmarks/imbalance.py --quick               # embedded digits, small budgets: a few minutes
    python benchmarks/imbalance.py --report-only         # results.md / results.png from the CSV

Per (ratio, seed), a seeded long-tailed subset of the training split: class c keeps
``round(n_max * ratio ** (-c / (K - 1)))`` images (class 0 the most, class 9 ``n_max / ratio``).
Each method balances it to the majority count (imbalanced-learn's ``sampling_strategy="auto"``), then
the same CNN (``ganaug.train_classifier``, seeded by the run's seed) is trained on the result:

* ``none``: the imbalanced subset as it is;
* ``ros``: imbalanced-learn's RandomOverSampler (duplicates);
* ``smote``: imbalanced-learn's SMOTE on flattened images, ``k_neighbors = min(5, smallest class - 1)``;
* ``gan``: ``ganaug.GANOversampler`` (a class-conditional GAN trained on the subset);
* ``gan+filter``: the same GAN, keeping per class the ``--filter-keep`` share of its samples that the
  ``none`` CNN is most confident about (``ConfidenceFilter(threshold=None, keep_fraction=...)``).

The GAN is trained once per (ratio, seed) and shared by ``gan`` and ``gan+filter`` (cached in
``OUT/gans/``). Scores on the balanced test split (MNIST: the official test set): balanced
accuracy, macro-F1 and minority recall (mean recall of the 5 rarest training classes). Every
finished (ratio, seed, method) is appended to ``OUT/results.csv`` at once; a re-run skips finished
rows of the same setting, so the grid can be split across machines. ``OUT/results.md`` and
``OUT/results.png`` summarise the rows over seeds (mean, 95% t-interval, paired tests by seed).
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

import ganaug
from _common import ROOT, ROOT_HELP, mnist_root
from ganaug.bench import ResultStore, default_device, device_name, format_p, progress_bar, select_rows
from ganaug.checks import check_choice, check_float, check_int, fail
from ganaug.data import DatasetNotFoundError, LabelledImages, long_tail_counts, long_tailed_subset
from ganaug.metrics import paired_test, summarize
from ganaug.synth import FilterQuotaError

METHODS = ("none", "ros", "smote", "gan", "gan+filter")
GAN_METHODS = ("gan", "gan+filter")
METRICS = {"balanced_accuracy": "balanced accuracy", "macro_f1": "macro-F1", "minority_recall": "minority recall"}
N_RARE = 5  # minority recall averages the recall of this many rarest training classes
# (method, baseline) pairs compared seed by seed in the report.
COMPARISONS = tuple((m, "none") for m in METHODS[1:]) + (("gan", "ros"),)
FIELDS = ("setting", "dataset", "ratio", "n_max", "class_counts", "n_train", "n_resampled", "n_test", "seed",
          "method", "balanced_accuracy", "macro_f1", "minority_recall", "filter_acceptance", "gan_steps",
          "clf_steps", "wall_s", "device", "status", "finished_at")
INTS = ("n_max", "n_train", "n_resampled", "n_test", "seed", "gan_steps", "clf_steps")
FLOATS = ("ratio", "balanced_accuracy", "macro_f1", "minority_recall", "filter_acceptance", "wall_s")
KEY = ("ratio", "seed", "method")
# Options that choose where or which runs happen, not what a run computes: left out of the setting hash.
NOT_IN_SETTING = {"root", "ratios", "seeds", "methods", "device"}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "imbalance"


@dataclass
class Options:
    """Everything that defines the grid; ``setting()`` hashes the fields that change the numbers."""

    dataset: str = "mnist"  # "mnist": official split; "digits": 70/30 stratified split (seed 0)
    root: str | None = None
    ratios: tuple[float, ...] = (10.0, 100.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    n_max: int = 500
    gan_arch: str = "mlp"
    gan_width: int = 32
    gan_steps: int = 1500
    clf_steps: int = 300
    clf_width: int = 8
    clf_batch: int = 64
    filter_keep: float = 0.5
    device: str | None = None

    def validate(self) -> "Options":
        """Check every field; errors name the command-line flag."""
        if not self.ratios:
            fail("--ratios", "at least one imbalance ratio", self.ratios, "Pass e.g. --ratios 10 100.")
        for r in self.ratios:
            check_float("--ratios", r, 1.0, fix="Pass ratios >= 1 (largest / smallest class; 1 = balanced).")
        if not self.seeds:
            fail("--seeds", "at least one seed", self.seeds, "Pass e.g. --seeds 0 1 2.")
        for s in self.seeds:
            check_int("--seeds", s)
        if not self.methods:
            fail("--methods", "at least one method", self.methods, f"Pass some of {' '.join(METHODS)}.")
        for m in self.methods:
            check_choice("--methods", m, METHODS)
        # Table order, so that gan (which trains the GAN through GANOversampler) runs before gan+filter.
        self.methods = tuple(m for m in METHODS if m in self.methods)
        self.ratios = tuple(float(r) for r in self.ratios)
        check_int("--n-max", self.n_max, minimum=1)
        check_choice("--gan-arch", self.gan_arch, ("mlp", "dcgan"))
        check_int("--gan-width", self.gan_width, minimum=1)
        check_int("--gan-steps", self.gan_steps, minimum=1)
        check_int("--clf-steps", self.clf_steps, minimum=1)
        check_int("--clf-width", self.clf_width, minimum=1)
        check_int("--clf-batch", self.clf_batch, minimum=1)
        check_float("--filter-keep", self.filter_keep, 0.0, 1.0, low_open=True)
        return self

    def setting(self) -> str:
        """Short hash of the fields that change the numbers; rows of another setting are not reused."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k not in NOT_IN_SETTING}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


QUICK = dict(dataset="digits", n_max=100, ratios=(10.0, 50.0), gan_steps=300, clf_steps=150)


def load_data(opts: Options) -> tuple[LabelledImages, LabelledImages]:
    """(training pool, balanced test split), with classes named by their index "0".."K-1".

    GANOversampler names its generator's classes after the labels it is given (0..K-1), and the
    filter checks the CNN's class names against them, so every dataset here uses those names.
    """
    from ganaug.data import load_split

    train, test = load_split(opts.dataset, root=opts.root, seed=0)
    names = [str(i) for i in range(train.num_classes)]
    return tuple(LabelledImages(d.images, d.targets, names, name=d.name) for d in (train, test))


def check_grid(opts: Options, pool: LabelledImages) -> dict[float, list[int]]:
    """Per-class training counts for every ratio; fails before any training if one cannot be run."""
    counts = {}
    for r in opts.ratios:
        counts[r] = long_tail_counts(pool.num_classes, r, opts.n_max)
        if "smote" in opts.methods and min(counts[r]) < 2:
            fail("--ratios", f"ratios that leave SMOTE two images in the rarest class (n_max={opts.n_max})",
                 r, "Lower the ratio, raise --n-max, or drop smote from --methods.")
    # The smallest ratio asks for the most images of every class: raises if the pool has too few.
    long_tailed_subset(pool, min(opts.ratios), opts.n_max)
    return counts


class Cell:
    """One (ratio, seed): its long-tailed subset, the real-only CNN and the GAN, each made at most once."""

    def __init__(self, opts: Options, pool: LabelledImages, ratio: float, seed: int, gan_file: Path, device):
        self.opts, self.ratio, self.seed, self.device = opts, ratio, seed, device
        self.data = long_tailed_subset(pool, ratio, opts.n_max, seed=seed)
        self.gan_file = gan_file
        self.acceptance: float | None = None
        self._none_model = None
        self._generator = None

    def classifier(self, data: LabelledImages):
        o = self.opts
        return ganaug.train_classifier(data, steps=o.clf_steps, width=o.clf_width, batch_size=o.clf_batch,
                                       seed=self.seed, device=self.device)

    def none_model(self):
        # Deterministic on CPU: a resumed run rebuilds the model the filter used before.
        if self._none_model is None:
            self._none_model = self.classifier(self.data)
        return self._none_model

    def training_set(self, method: str) -> LabelledImages:
        """The subset after ``method``'s resampling, balanced to the majority count."""
        from imblearn.over_sampling import SMOTE, RandomOverSampler

        if method == "none":
            return self.data
        if method == "ros":
            return self._resample(RandomOverSampler(random_state=self.seed))
        if method == "smote":
            k = min(5, min(self.data.class_counts()) - 1)
            return self._resample(SMOTE(k_neighbors=k, random_state=self.seed))
        if method == "gan":
            return self._resample(self._gan_sampler())
        return self._filtered_gan()

    def _gan_sampler(self):
        o = self.opts
        config = ganaug.TrainConfig(arch=o.gan_arch, width=o.gan_width, steps=o.gan_steps, seed=self.seed,
                                    device=str(self.device), sample_every=0, checkpoint_every=0)
        return ganaug.GANOversampler(image_shape=self.data.image_shape, value_range=(-1.0, 1.0), config=config,
                                     random_state=self.seed)

    def _resample(self, sampler) -> LabelledImages:
        # Flat rows for all three samplers: SMOTE and ROS need them, GANOversampler reshapes by image_shape.
        x = self.data.images.reshape(len(self.data), -1).numpy()
        x_res, y_res = sampler.fit_resample(x, self.data.targets.numpy())
        if hasattr(sampler, "generator_"):  # a GANOversampler: keep its GAN for gan+filter
            self._keep(sampler.generator_)
        images = torch.from_numpy(np.ascontiguousarray(x_res, dtype=np.float32)).reshape(-1, *self.data.image_shape)
        return LabelledImages(images, torch.from_numpy(y_res).long(), self.data.classes, name=self.data.name)

    def _keep(self, generator) -> None:
        self._generator = generator
        if generator is not None:  # None: nothing to generate (ratio 1), no GAN was trained
            self.gan_file.parent.mkdir(parents=True, exist_ok=True)
            generator.save(self.gan_file)

    def generator(self):
        """The GAN of this cell: from memory, from OUT/gans, or trained by a GANOversampler fit."""
        if self._generator is None and self.gan_file.exists():
            self._generator = ganaug.load_generator(self.gan_file, device=self.device)
        elif self._generator is None:  # gan did not run here: train the GAN exactly as it would have
            self._resample(self._gan_sampler())
        return self._generator

    def _filtered_gan(self) -> LabelledImages:
        from ganaug.synth import SyntheticDataset

        counts = self.data.class_counts()
        missing = [max(counts) - n for n in counts]  # what sampling_strategy="auto" generates
        if not any(missing):  # already balanced (ratio 1): GANOversampler trains no GAN either
            return self.data
        generator = self.generator()
        quality = ganaug.ConfidenceFilter(self.none_model(), threshold=None, keep_fraction=self.opts.filter_keep)
        synth = SyntheticDataset(generator, class_counts=missing, seed=self.seed, quality_filter=quality,
                                 device=generator.device)
        rates = synth.acceptance_rates or {}
        self.acceptance = float(np.mean([rates[c] for c, n in zip(synth.classes, missing) if n]))
        items = synth.__getitems__(list(range(len(synth))))
        images = torch.cat([self.data.images, torch.stack([x for x, _ in items]).cpu()])
        targets = torch.cat([self.data.targets, torch.tensor([t for _, t in items], dtype=torch.long)])
        return LabelledImages(images, targets, self.data.classes, name=self.data.name)


def scores(model, test: LabelledImages, train_counts: Sequence[int]) -> dict[str, float]:
    """Balanced accuracy, macro-F1 and minority recall (mean recall of the N_RARE rarest training classes)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    y_true = test.targets.numpy()
    y_pred = ganaug.predict_proba(model, test.images).argmax(dim=1).numpy()
    k = test.num_classes
    # Stable sort: among equally rare classes the lower index counts as rarer.
    rare = np.argsort(np.asarray(train_counts), kind="stable")[:min(N_RARE, k)]
    return {"balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=range(k), average="macro", zero_division=0)),
            "minority_recall": float(recall_score(y_true, y_pred, labels=rare, average=None,
                                                  zero_division=0).mean())}


def run_grid(opts: Options, pool: LabelledImages, test: LabelledImages, out: Path, progress: bool = True) -> str:
    """Run every unfinished (ratio, seed, method); return the setting hash. Rows go to OUT/results.csv."""
    setting = opts.setting()
    store = ResultStore(out / "results.csv", fields=FIELDS, ints=INTS, floats=FLOATS)
    done = store.done(setting, key=KEY)
    device = torch.device(opts.device) if opts.device else default_device()
    todo = [(float(r), s, m) for r in opts.ratios for s in opts.seeds for m in opts.methods
            if (float(r), s, m) not in done]
    print(f"setting {setting}: {len(todo)} run(s) to do, {len(done)} already in {out / 'results.csv'}", flush=True)
    bar = progress_bar(progress, len(todo))
    for ratio, seed in dict.fromkeys((r, s) for r, s, _ in todo):
        gan_file = out / "gans" / f"{setting}-r{ratio:g}-seed{seed}" / "generator.pt"
        cell = Cell(opts, pool, ratio, seed, gan_file, device)
        for method in [m for r, s, m in todo if (r, s) == (ratio, seed)]:
            if bar is not None:
                bar.set_description(f"ratio {ratio:g} seed {seed} {method}")
            row = run_one(cell, method, test)
            row.update(setting=setting, dataset=opts.dataset, n_max=opts.n_max, device=device_name(device),
                       gan_steps=opts.gan_steps if method in GAN_METHODS else "", clf_steps=opts.clf_steps)
            store.append(row)
            if bar is None:
                print(f"ratio {ratio:g} seed {seed} {method}: {row['status']}, balanced accuracy "
                      f"{row.get('balanced_accuracy', math.nan):.4f}, {row['wall_s']} s", flush=True)
            else:
                bar.update(1)
                bar.set_postfix(bal_acc=f"{row.get('balanced_accuracy', math.nan):.3f}", refresh=False)
    if bar is not None:
        bar.close()
    return setting


def run_one(cell: Cell, method: str, test: LabelledImages) -> dict[str, Any]:
    """Resample, train, score one method of a cell; a filter that cannot fill its quota is recorded as failed.

    ``wall_s`` is all the time the method took here, including the GAN or the ``none`` CNN when it
    was the first in its cell to need them.
    """
    t0 = time.monotonic()
    counts = cell.data.class_counts()
    row = {"ratio": cell.ratio, "seed": cell.seed, "method": method, "class_counts": " ".join(map(str, counts)),
           "n_train": len(cell.data), "n_test": len(test)}
    try:
        if method == "none":
            model, n_resampled = cell.none_model(), len(cell.data)
        else:
            data = cell.training_set(method)
            model, n_resampled = cell.classifier(data), len(data)
        row.update(scores(model, test, counts), n_resampled=n_resampled, status="ok")
        if method == "gan+filter" and cell.acceptance is not None:
            row["filter_acceptance"] = round(cell.acceptance, 4)
    except FilterQuotaError as err:  # the grid goes on; a re-run retries it
        row["status"] = f"failed: {str(err).splitlines()[0][:200]}"
    row.update(wall_s=round(time.monotonic() - t0, 2),
               finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return row


# ---- report
def _cells(rows, metric: str) -> dict[tuple[str, float], dict[int, float]]:
    """{(method, ratio): {seed: score}}."""
    out: dict[tuple[str, float], dict[int, float]] = {}
    for r in rows:
        out.setdefault((r["method"], r["ratio"]), {})[r["seed"]] = r[metric]
    return out


def _md_table(head: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in body]


def _mean_ci(values: Sequence[float]) -> str:
    """"mean ± 95% CI half-width (n)"; just "mean (1)" for a single seed."""
    s = summarize(values)
    half = "" if math.isnan(s["ci_half"]) else f" ± {s['ci_half']:.4f}"
    return f"{s['mean']:.4f}{half} ({s['n']})"


def _difference(c: dict[str, Any]) -> str:
    """A paired_test result as "difference [95% CI]"."""
    ci = "" if math.isnan(c["ci_low"]) else f" [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
    return f"{c['mean_diff']:+.4f}{ci}"


def _table(rows, ratios: Sequence[float], metrics: Sequence[str]) -> list[str]:
    """Rows methods, columns (ratio, metric): mean ± CI over seeds."""
    cells = {m: _cells(rows, m) for m in metrics}
    cols = [(r, m) for r in ratios for m in metrics]
    body = [[method] + [_mean_ci(list(cells[m][(method, r)].values())) if (method, r) in cells[m] else "–"
                        for r, m in cols]
            for method in METHODS if any((method, r) in cells[m] for r, m in cols)]
    return _md_table(["method"] + [f"ratio {r:g}: {METRICS[m]}" for r, m in cols], body)


def comparisons(rows, ratios: Sequence[float]) -> list[dict[str, Any]]:
    """Paired (by seed) tests of COMPARISONS per ratio and metric, over the seeds both methods finished."""
    out = []
    for metric in ("balanced_accuracy", "macro_f1"):
        cells = _cells(rows, metric)
        for (method, base) in COMPARISONS:
            for r in ratios:
                a, b = cells.get((method, r), {}), cells.get((base, r), {})
                seeds = sorted(set(a) & set(b))
                if seeds:
                    out.append({"method": method, "baseline": base, "ratio": r, "metric": metric,
                                **paired_test([a[s] for s in seeds], [b[s] for s in seeds])})
    return out


def markdown(rows, config: dict[str, Any] | None = None) -> str:
    """results.md: the setup, mean ± 95% CI per method and ratio, and the paired comparisons."""
    ratios = sorted({r["ratio"] for r in rows})
    first = rows[0]
    test = "the official test set" if first["dataset"] == "mnist" else "a 30% stratified hold-out (seed 0)"
    lines = [f"# Long-tailed {first['dataset']}: over-sampling before a CNN", "",
             f"Setting `{first['setting']}`; tested on {test} ({first['n_test']} images)."]
    if config:
        lines.append(f"GAN: {config['gan_arch']}, width {config['gan_width']}, {config['gan_steps']} steps; "
                     f"CNN: width {config['clf_width']}, {config['clf_steps']} steps, batch {config['clf_batch']}; "
                     f"filter keeps {config['filter_keep']:g} per class.")
    lines += ["", f"Training images per class (class 0 to {len(first['class_counts'].split()) - 1}):", ""]
    lines += [f"- ratio {r:g}: {next(x['class_counts'] for x in rows if x['ratio'] == r)} "
              f"({next(x['n_train'] for x in rows if x['ratio'] == r)} images)" for r in ratios]
    lines += ["", "Mean ± 95% CI half-width (seeds), over seeds:", ""]
    lines += _table(rows, ratios, ("balanced_accuracy", "macro_f1"))
    lines += ["", f"Minority recall (mean recall of the {N_RARE} rarest training classes):", ""]
    lines += _table(rows, ratios, ("minority_recall",))
    comps = comparisons(rows, ratios)
    if comps:
        body = [[f"{c['method']} vs {c['baseline']}", f"{c['ratio']:g}", METRICS[c["metric"]], _difference(c),
                 format_p(c["t_p"]), f"{c['wins']}/{c['n']}"] for c in comps]
        lines += ["", "Paired by seed: mean difference [95% CI], paired t-test p, wins/seeds:", ""]
        lines += _md_table(["comparison", "ratio", "metric", "difference", "t-test p", "wins"], body)
    return "\n".join(lines) + "\n"


def plot(rows, path: Path) -> Path:
    """Grouped bars: one group per ratio, one bar per method, 95% CI error bars; a panel per metric."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ratios = sorted({r["ratio"] for r in rows})
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for ax, metric in zip(axes, ("balanced_accuracy", "macro_f1")):
        cells = _cells(rows, metric)
        for i, method in enumerate(methods):
            stats = [summarize(list(cells[(method, r)].values())) if (method, r) in cells else None for r in ratios]
            xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(ratios))]
            ys = [s["mean"] if s else math.nan for s in stats]
            err = [s["ci_half"] if s and not math.isnan(s["ci_half"]) else 0.0 for s in stats]
            ax.bar(xs, ys, width, yerr=err, capsize=3, label=method)
        ax.set_xticks(range(len(ratios)), [f"ratio {r:g}" for r in ratios])
        ax.set_ylabel(f"test {METRICS[metric]}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"long-tailed {rows[0]['dataset']}: mean over seeds, 95% CI")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(out: Path, setting: str | None = None) -> dict[str, Path]:
    """Regenerate OUT/results.md and OUT/results.png from OUT/results.csv (default: the last setting written)."""
    store = ResultStore(out / "results.csv", fields=FIELDS, ints=INTS, floats=FLOATS)
    if not store.path.exists():
        fail("--out", "a folder holding this benchmark's results.csv", str(out),
             "Run the benchmark first, or point --out at the folder it wrote.")
    rows = select_rows(store.rows(), setting)
    if not rows:
        fail("--out", "at least one finished run in results.csv", f"none for setting {setting}",
             "Run the benchmark (without --report-only) first.")
    config = _read_configs(out).get(rows[0]["setting"])
    (out / "results.md").write_text(markdown(rows, config))
    return {"csv": store.path, "markdown": out / "results.md", "plot": plot(rows, out / "results.png")}


def _read_configs(out: Path) -> dict[str, Any]:
    path = out / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _write_config(out: Path, opts: Options, counts: dict[float, list[int]]) -> None:
    # One entry per setting (a folder may hold several); runs split across machines add their ratios.
    configs = _read_configs(out)
    entry = configs.setdefault(opts.setting(), {})
    entry.update({k: v for k, v in dataclasses.asdict(opts).items() if k not in NOT_IN_SETTING})
    entry["class_counts"] = {**entry.get("class_counts", {}), **{f"{r:g}": c for r, c in counts.items()}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(configs, indent=2))


# ---- command line
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None,
                   help=f"results folder (default {DEFAULT_OUT.relative_to(ROOT)}; with --quick, ...-quick)")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--ratios", type=float, nargs="+", help="imbalance ratios, largest / smallest class (10 100)")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (0 1 2)")
    p.add_argument("--methods", nargs="+", help=f"subset of {' '.join(METHODS)} (all)")
    p.add_argument("--n-max", type=int, help="images of the largest class (500; --quick 100)")
    p.add_argument("--gan-arch", help="mlp or dcgan (mlp)")
    p.add_argument("--gan-width", type=int, help="GAN width (32)")
    p.add_argument("--gan-steps", type=int, help="GAN generator steps (1500; --quick 300)")
    p.add_argument("--clf-steps", type=int, help="CNN training steps, batch 64 (300; --quick 150)")
    p.add_argument("--clf-width", type=int, help="CNN width (8)")
    p.add_argument("--filter-keep", type=float, help="gan+filter: share of each class's samples kept (0.5)")
    p.add_argument("--quick", action="store_true", help="embedded digits, ratios 10 50, small budgets")
    p.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    p.add_argument("--report-only", action="store_true", help="only rewrite results.md/.png from the CSV")
    p.add_argument("--no-progress", action="store_true", help="a line per run instead of a progress bar")
    return p


def options(args: argparse.Namespace) -> Options:
    """Options from the command line: given flags, else the --quick values, else the defaults."""
    given = {"root": args.root, "ratios": args.ratios and tuple(args.ratios), "seeds": args.seeds and tuple(args.seeds),
             "methods": args.methods and tuple(args.methods), "n_max": args.n_max, "gan_arch": args.gan_arch,
             "gan_width": args.gan_width, "gan_steps": args.gan_steps, "clf_steps": args.clf_steps,
             "clf_width": args.clf_width, "filter_keep": args.filter_keep, "device": args.device}
    if given["root"] is None and not args.quick:
        found = mnist_root()
        given["root"] = str(found) if found is not None else None
    opts = Options(**{**(QUICK if args.quick else {}), **{k: v for k, v in given.items() if v is not None}})
    return opts.validate()


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Run (or, with --report-only, summarise) the benchmark; returns the paths of the CSV and the report."""
    p = parser()
    args = p.parse_args(argv)
    out = args.out or (DEFAULT_OUT.with_name(DEFAULT_OUT.name + "-quick") if args.quick else DEFAULT_OUT)
    try:
        if args.report_only:
            return _finish(write_report(out))
        opts = options(args)
        pool, test = load_data(opts)
        counts = check_grid(opts, pool)
    except (ValueError, TypeError, DatasetNotFoundError) as err:
        p.error(str(err))
    for r, c in counts.items():
        print(f"ratio {r:g}: training images per class {c} ({sum(c)} in all); test {len(test)} images", flush=True)
    _write_config(out, opts, counts)
    setting = run_grid(opts, pool, test, out, progress=not args.no_progress)
    return _finish(write_report(out, setting))


def _finish(paths: dict[str, Path]) -> dict[str, Path]:
    print(paths["markdown"].read_text())
    print(f"wrote {paths['markdown']} and {paths['plot']}")
    return paths


if __name__ == "__main__":
    main()
