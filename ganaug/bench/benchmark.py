"""Downstream benchmark: does GAN augmentation help a classifier, and at which labelled-set sizes?

The grid is sizes x seeds x methods. A *cell* is one (size, seed): a seeded stratified subset of
``size`` labelled images per class, one GAN trained on that subset only (no other training image is
seen), and one classifier per method, all seeded by the cell's seed, all tested on the same split.
Every finished (size, seed, method) is appended to a CSV at once, GANs checkpoint as they train,
and a re-run skips what is done, so a grid can be split across sessions or machines.
The methods and settings are in ``config``, one cell's work in ``cell``; this module runs grids.
"""
from __future__ import annotations

import functools
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import check_choice, check_int, fail
from .._device import default_device
from .._progress import bar as tqdm_bar
from ..data.datasets import LabelledImages, load_dataset, stratified_subset, train_val_split
from .cell import Cell
from .config import (FULL, GAN_METHODS, METHODS, SEMI_METHODS, SHARE_BASELINE, BenchmarkConfig, base_method,
                     share_labels, share_of)
from .store import ResultStore


def load_benchmark_data(cfg: BenchmarkConfig) -> tuple[LabelledImages, LabelledImages, LabelledImages]:
    """(pool to draw labelled subsets from, selection split, evaluation split) for ``cfg``.

    The selection split is ``val_per_class`` images per class taken out of the training split (fixed
    seed), so no labelled subset ever contains one of them. ``eval_split="val"`` evaluates on a further
    held-out 1/6 of the training split and never loads the test set.
    """
    from ..data.splits import load_split

    train, test = load_split(cfg.dataset, root=cfg.root, download=cfg.download, seed=0)
    if cfg.eval_split == "val":
        train, test = train_val_split(train, 1 / 6, seed=0)
    if cfg.val_per_class >= min(train.class_counts()):
        fail("val_per_class", f"fewer than {min(train.class_counts())} (the smallest class of the training split)",
             cfg.val_per_class, "Lower val_per_class.")
    rng = np.random.default_rng(10**6)
    y = train.targets.numpy()
    chosen = np.zeros(len(train), dtype=bool)
    for c in range(train.num_classes):
        chosen[rng.choice(np.flatnonzero(y == c), cfg.val_per_class, replace=False)] = True
    return train.subset(np.flatnonzero(~chosen)), train.subset(np.flatnonzero(chosen)), test


def run_benchmark(cfg: BenchmarkConfig, out_dir: str | os.PathLike, progress: bool = True,
                  log: Callable[[str], None] | None = print) -> list[dict[str, Any]]:
    """Run every unfinished row of the grid; return all rows of this setting.

    A cell (size, seed) writes one row per method, and per share for the share methods
    (``"real+gan+aug@0.25"``), then one ``"...@auto"`` row per share method: the share (0 = its
    baseline) with the best selection-split accuracy, reported with that choice's evaluation accuracy.
    ``out_dir`` gets ``results.csv``, ``config.json`` and ``gans/`` (resumable GAN runs per cell). Rows
    already in the CSV for the same setting are skipped.
    """
    cfg = cfg.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setting = cfg.setting()
    store = ResultStore(out / "results.csv")
    done = store.done(setting)
    device = torch.device(cfg.device) if cfg.device else default_device()
    # What defines the numbers (not where the data lives or which cells this call ran).
    (out / "config.json").write_text(json.dumps({"setting": setting, **cfg.fields()}, indent=2))
    pool, selection, evaluation = load_benchmark_data(cfg)
    max_size = min(pool.class_counts())
    for s in cfg.sizes:
        if s > max_size:
            fail("sizes", f"at most {max_size} images per class (the smallest class of the {cfg.dataset} "
                 "training split less the selection split), or 0 for all", s, "Drop that size or use 0 (full).")
    labels = [lab for m in cfg.methods for lab in share_labels(m, cfg.shares)]
    _check_augmentation(cfg)
    extractor = functools.cache(lambda: _feature_extractor(cfg, device))
    todo = [(size, seed, lab) for size in cfg.sizes for seed in cfg.seeds for lab in labels
            if (size, seed, lab) not in done]
    bar = progress_bar(progress, len(todo))
    for size, seed in dict.fromkeys((size, seed) for size, seed, _ in todo):
        unlabelled = hidden = None
        if size == FULL:
            subset = pool
        elif cfg.unlabelled:  # the subset is stratified_subset's; the rest of the pool loses its labels
            subset, unlabelled = load_dataset(pool, n_per_class=size, seed=seed, unlabelled="rest")
            # The same draw on the labels: the pool's true labels (M,), only to report how many
            # pseudo-labels are right (gans/.../pseudo/info.json); no method reads them.
            hidden = load_dataset(LabelledImages(pool.targets, pool.targets, pool.classes), n_per_class=size,
                                  seed=seed, unlabelled="rest")[1]
        else:
            subset = stratified_subset(pool, size, seed=seed)
        cell = Cell(cfg, subset, evaluation, selection, seed, device, out / "gans" / f"n{size}-seed{seed}",
                     unlabelled=unlabelled, extractor=extractor, pool_targets=hidden, progress=bar is not None)
        results = {r["method"]: r for r in store.rows() if r["setting"] == setting and r["size"] == size
                   and r["seed"] == seed and r["status"] == "ok"}
        for lab in (lab for lab in labels if (size, seed, lab) not in done):
            if bar is not None:
                bar.set_description(f"n={size or 'full'} seed={seed} {lab}")
            row = {"setting": setting, "dataset": cfg.dataset, "eval_split": cfg.eval_split, "size": size,
                   "n_real": len(subset), "n_classes": subset.num_classes, "seed": seed, "method": lab,
                   "share": share_of(lab), "device": device_name(device)}
            if lab.endswith("@auto"):
                row.update(_auto(lab, results))
            else:
                t0 = time.monotonic()
                try:
                    row.update(cell.run(lab), status="ok")
                except Exception as err:  # noqa: BLE001 - a failed run is recorded, the grid goes on
                    from ..synth.filtering import FilterQuotaError

                    if not isinstance(err, FilterQuotaError):
                        raise
                    row.update(status=f"failed: {str(err).splitlines()[0][:200]}")
                row.update(clf_steps=cell.clf_steps, wall_s=round(time.monotonic() - t0, 2))
            row.update(finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
            store.append(row)
            if row["status"] == "ok":
                results[lab] = row
            if log is not None and bar is None:
                log(f"n={size or 'full'} seed={seed} {lab}: accuracy {row.get('accuracy', float('nan')):.4f}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(acc=f"{row.get('accuracy', float('nan')):.3f}", refresh=False)
    if bar is not None:
        bar.close()
    return [r for r in store.rows() if r["setting"] == setting]


def _check_augmentation(cfg: BenchmarkConfig) -> None:
    # Fail before any training, not hours into a grid, where albumentations is missing (a bare install).
    if cfg.augmentation == "albumentations" and (cfg.unlabelled or any("aug" in m for m in cfg.methods)):
        try:
            import albumentations  # noqa: F401
        except ImportError as err:
            raise RuntimeError(f"methods: the classical augmentation of {', '.join(m for m in cfg.methods if 'aug' in m)}"
                               f"{' and the pseudo-labelling' if cfg.unlabelled else ''} needs albumentations, which "
                               f"does not import here ({err}). Install it (pip install 'albumentations>=2.0,<3'), or "
                               "run only methods without augmentation.") from None


def _feature_extractor(cfg: BenchmarkConfig, device: torch.device):
    """``ganaug evaluate``'s feature extractor of the dataset (trained on its whole training split, cached)."""
    from ..data.splits import load_split
    from ..metrics.feature_net import feature_extractor

    train, _ = load_split(cfg.dataset, root=cfg.root, download=cfg.download, seed=0)
    return feature_extractor(train, seed=0, device=device)

def _auto(label: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The "@auto" row: among the baseline (share 0) and every share, the best selection accuracy wins."""
    method = base_method(label)
    candidates = [SHARE_BASELINE[method]] + [k for k in results if base_method(k) == method and not k.endswith("@auto")]
    missing = [c for c in candidates[:1] if c not in results]
    if missing or len(candidates) < 2:
        return {"status": f"failed: the auto share needs the rows {missing or [method + '@<share>']} of this cell"}
    # Ties go to the smaller share (the baseline first): synthetic data must earn its place.
    best = max(candidates, key=lambda k: (results[k]["val_accuracy"], -float(results[k]["share"] or 0.0)))
    chosen, gan_row = results[best], results[candidates[-1]]  # the GAN's columns even when share 0 wins
    return {**{k: chosen.get(k) for k in ("accuracy", "balanced_accuracy", "val_accuracy", "clf_steps")},
            **{k: gan_row.get(k) for k in ("gan_steps", "gan_wall_s", "gan_cas", "gan_recall", "gan_coverage")},
            "share": chosen["share"] if best != candidates[0] else 0.0, "wall_s": 0.0, "status": "ok"}


def compare_methods(real: LabelledImages, evaluation: LabelledImages, generator: Any = None,
                    methods: Sequence[str] = ("real", "real+gan", "cas"), config: BenchmarkConfig | None = None,
                    seed: int = 0, validation: LabelledImages | None = None) -> dict[str, dict[str, float]]:
    """Train the benchmark's classifier once per method on ``real`` (plus ``generator``'s images) and
    test it on ``evaluation``: ``{label: {"accuracy", "balanced_accuracy", ...}}``.

    Share methods give one label per share in ``config.shares`` (``"real+gan@0.5"``); with a
    ``validation`` set (labelled images outside ``real`` and ``evaluation``) they also give
    ``"real+gan@auto"``: the share, 0 included, that scores best on ``validation``. The classifier,
    schedule, shares, augmentation and filter come from ``config`` (default :class:`BenchmarkConfig`);
    the GAN methods need ``generator`` (e.g. from :func:`ganaug.fit`), and ``real+augan+aug`` trains a
    second GAN on augmented copies of ``real``.
    """
    cfg = (config or BenchmarkConfig()).validate()
    for m in methods:
        check_choice("methods", m, METHODS)
        if m in SEMI_METHODS:
            fail("methods", "methods of labelled images (compare_methods has no unlabelled pool)", m,
                 "Run the semi-supervised methods with run_benchmark(BenchmarkConfig(unlabelled='rest', ...)) "
                 "or `ganaug benchmark --unlabelled rest`.")
    if generator is None and GAN_METHODS & set(methods):
        fail("generator", f"a trained generator for the methods {sorted(GAN_METHODS & set(methods))}", None,
             "Pass generator=ganaug.fit(...)[0] or ganaug.load_generator(path).")
    for name, data in (("real", real), ("evaluation", evaluation), ("validation", validation)):
        if not isinstance(data, LabelledImages) and not (name == "validation" and data is None):
            fail(name, "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    device = torch.device(cfg.device) if cfg.device else default_device()
    cell = Cell(cfg, real, evaluation, validation, check_int("seed", seed), device, gan_dir=None)
    cell._gens["gan"] = generator
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        for lab in share_labels(m, cfg.shares):
            if lab.endswith("@auto"):
                if validation is not None:
                    auto = _auto(lab, {k: {**v, "share": share_of(k)} for k, v in out.items()})
                    if auto["status"] == "ok":
                        out[lab] = auto
            else:
                out[lab] = cell.run(lab)
    keep = ("accuracy", "balanced_accuracy", "val_accuracy", "share")
    return {k: {f: v[f] for f in keep if v.get(f) is not None} for k, v in out.items()}

def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def progress_bar(enabled: bool, total: int):
    if not enabled or total == 0:
        return None
    return tqdm_bar(total, unit="run")
