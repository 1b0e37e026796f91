"""Downstream benchmark: does GAN augmentation help a classifier, and at which labelled-set sizes?

The grid is sizes x seeds x methods. A *cell* is one (size, seed): a seeded stratified subset of
``size`` labelled images per class, one GAN trained on that subset only (no other training image is
seen), and one classifier per method, all seeded by the cell's seed, all tested on the same split.
Every finished (size, seed, method) is appended to a CSV at once, GANs checkpoint as they train,
and a re-run skips what is done, so a grid can be split across sessions or machines.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import check_bool, check_choice, check_float, check_int, fail
from .._device import default_device
from .._progress import bar as tqdm_bar
from ..classify.classifier import clf_steps_for, train_classifier
from ..data.datasets import LabelledImages, load_dataset, stratified_subset, train_val_split
from ..data.transforms import digit_augmentation
from ..gan.checkpoint import load_generator
from .store import ResultStore

# Method names, in table order (see docs/results/downstream.md for what each one does):
#   real, real+aug                      no GAN: the labelled subset, without / with classical augmentation
#   real+gan, real+gan+aug              mixed with GAN images at each share in `shares`; "+aug" augments both sides
#   real+gan+aug-soft                   as real+gan+aug, synthetic labels softened by the real+aug classifier
#   real+augan+aug                      as real+gan+aug, with a GAN trained on augmented copies of the subset
#   real+gan-trunc, real+gan+aug-trunc  as real+gan / real+gan+aug, GAN noise truncated to |z| <= truncation
#   real+gan-filtered                   real+gan with the synthetic images filtered by the real-only classifier
#   pretrain-gan+aug                    half the steps on GAN images (+aug), then fine-tuned on real+aug
#   cas                                 GAN images only (the classification accuracy score of the cell's GAN)
# Semi-supervised mode only (unlabelled="rest": the rest of the training split is an unlabelled pool):
#   self-train                          labelled + confidently pseudo-labelled pool images, with augmentation
#   real+sgan, real+sgan+aug            the labelled subset mixed with images of the semi GAN ("sgan", trained
#                                       on labelled + pseudo-labelled images), without / with augmentation
#   self-train+sgan+aug                 labelled + pseudo-labelled images mixed with sgan images, with augmentation
#   cas-sgan                            sgan images only (the semi GAN's classification accuracy score)
SEMI_METHODS = ("self-train", "real+sgan", "real+sgan+aug", "self-train+sgan+aug", "cas-sgan")
METHODS = ("real", "real+aug", "real+gan", "real+gan+aug", "real+gan+aug-soft", "real+augan+aug",
           "real+gan-filtered", "pretrain-gan+aug", "real+gan-trunc", "real+gan+aug-trunc", "cas") + SEMI_METHODS
DEFAULT_METHODS = tuple(m for m in METHODS if m != "real+gan-filtered" and m not in SEMI_METHODS)
SEMI_DEFAULT_METHODS = ("real", "real+aug") + SEMI_METHODS
# Methods run once per synthetic share; share 0 is their baseline (the "@auto" row picks among both).
SHARE_BASELINE = {"real+gan": "real", "real+gan-filtered": "real", "real+gan+aug": "real+aug",
                  "real+gan-trunc": "real", "real+gan+aug-trunc": "real+aug",
                  "real+gan+aug-soft": "real+aug", "real+augan+aug": "real+aug", "real+sgan": "real",
                  "real+sgan+aug": "real+aug", "self-train+sgan+aug": "self-train"}
GAN_METHODS = {"real+gan", "real+gan+aug", "real+gan+aug-soft", "real+augan+aug", "real+gan-filtered",
               "real+gan-trunc", "real+gan+aug-trunc",
               "pretrain-gan+aug", "cas", "real+sgan", "real+sgan+aug", "self-train+sgan+aug", "cas-sgan"}
# Fields that exist for the semi-supervised mode only: left out of the setting hashes when it is off,
# so that the supervised grid keeps the hashes it was published with.
SEMI_FIELDS = ("unlabelled", "semi_threshold", "semi_rounds", "semi_steps")
AUGMENTATIONS = ("albumentations", "torch")


def gan_kind(method: str) -> str | None:
    """Which of a cell's GANs a method uses: "augan" (trained on augmented copies), "sgan" (semi-supervised:
    labelled + pseudo-labelled images), "gan" (the labelled subset), or None."""
    method = base_method(method)
    if method not in GAN_METHODS:
        return None
    return "augan" if method == "real+augan+aug" else ("sgan" if "sgan" in method else "gan")


FULL = 0  # size 0 = the whole training split (less the selection split)
DEFAULT_SIZES = (10, 20, 50, 100, 500, FULL)
SEMI_SIZES = (10, 20, 50, 100)  # the semi-supervised mode: the full set would leave no pool
# Fields of BenchmarkConfig that do not change any number (where/which cells to run, not how).
NOT_IN_SETTING = {"root", "sizes", "seeds", "methods", "device", "download"}
LATER_DEFAULTS = {("augmentation", "albumentations"), ("truncation", 1.0), ("semi_steps", None)}


def method_label(method: str, share: float | str | None = None) -> str:
    """The row label: ``"real+gan+aug@0.25"`` for a share method, the method name otherwise."""
    return method if share is None else f"{method}@{share if isinstance(share, str) else f'{share:g}'}"


def base_method(label: str) -> str:
    """``"real+gan+aug@0.25"`` -> ``"real+gan+aug"``."""
    return label.split("@", 1)[0]


def gan_steps_for(n_real: int) -> int:
    """The GAN's generator steps sized for ``n_real`` images: 20 per image, between 4,000 and 20,000."""
    return max(4000, min(20_000, 20 * n_real))


@dataclass
class BenchmarkConfig:
    """How every cell of the grid is run. Stored (as a hash, ``setting``) in every CSV row.

    Choices are made on the *selection* split (``val_per_class`` labelled images per class held out
    of the training split, disjoint from every labelled subset); the evaluation split is only ever
    reported. ``None`` step counts are sized per cell by :func:`clf_steps_for` / :func:`gan_steps_for`.

    ``unlabelled="rest"`` is the semi-supervised mode: each cell keeps its ``size`` labelled images per
    class and gets the rest of the training split (less the selection split) as an unlabelled pool,
    whose labels no method reads. Its methods (``SEMI_METHODS``) pseudo-label the pool once per cell
    (:func:`ganaug.pseudo_label` with ``semi_threshold``, ``semi_rounds``, the benchmark's classifier
    and augmentation) and train one GAN ("sgan") on labelled + pseudo-labelled images, for
    ``gan_steps_for(len(union))`` steps. Every classifier of such a cell trains for
    ``clf_steps`` steps, or the schedule rule applied to labelled + pool images (12,000 on MNIST by
    default), the same for every method.
    """

    dataset: str = "mnist"  # "mnist" (official split), "digits" (70/30 seeded split), fashion-mnist, ...
    root: str | None = None
    download: bool = False
    # labelled images per class; 0 = full training set. None = DEFAULT_SIZES, or SEMI_SIZES with unlabelled
    sizes: tuple[int, ...] | None = None
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    methods: tuple[str, ...] | None = None  # None = DEFAULT_METHODS, or SEMI_DEFAULT_METHODS with unlabelled
    # Semi-supervised mode: "rest" = the rest of the training split (less the selection split) is every
    # cell's unlabelled pool; its labels are never read by a method.
    unlabelled: str | None = None
    semi_threshold: float = 0.95  # confidence a pool image's pseudo-label needs (self-train, sgan)
    semi_rounds: int = 2  # pseudo-labelling rounds (each re-labels the pool with a fresh classifier)
    # batches of each pseudo-labelling round's classifier; None = the cell's classifier schedule (clf_steps
    # or the rule). Fewer (e.g. 3,000 with one round) make the semi GAN's whole pipeline cheap.
    semi_steps: int | None = None
    eval_split: str = "test"  # "test", or "val": a held-out part of the training split (for tuning)
    val_per_class: int = 100  # selection split: every choice (auto share, best method) is made on it
    # GAN, trained per cell on the labelled subset only: the documented CPU recipe
    gan_arch: str = "mlp"
    gan_width: int = 32
    gan_z_dim: int = 128
    gan_lr: float = 4e-4
    gan_aux_weight: float = 0.5
    gan_aux_twin: bool = True
    gan_mode_seeking: float = 0.03
    gan_steps: int | None = None  # None = gan_steps_for(subset size)
    gan_minutes: float | None = None  # wall-clock cap per GAN (makes cells machine-dependent)
    gan_aug_copies: int = 20  # real+augan+aug: augmented copies of every image in the GAN's training set
    # classifier, identical for every method of a cell
    clf_steps: int | None = None  # None = clf_steps_for(subset size, ...) with the three fields below
    clf_epochs: int = 40  # the sized schedule: this many epochs of the subset,
    clf_min_steps: int = 3000  # but at least this many batches (a tiny subset still converges)
    clf_max_steps: int = 12_000  # and at most this many
    clf_width: int = 16
    clf_batch: int = 64
    clf_lr: float = 1e-3
    clf_schedule: str = "cosine"
    # classical augmentation (digit_augmentation's distortions): "albumentations" per image in the data
    # path, or "torch" (ganaug.DigitAugment) on whole batches, on the classifier's device
    augmentation: str = "albumentations"
    # mixing
    shares: tuple[float, ...] = (0.25, 0.5)  # synthetic shares tried by every share method
    teacher_weight: float = 0.5  # real+gan+aug-soft: weight of the teacher's probabilities in synthetic labels
    filter_keep: float = 0.5  # real+gan-filtered: per class, keep this most-confident fraction
    truncation: float = 1.0  # the "-trunc" methods: GAN noise drawn with |z| <= truncation
    device: str | None = None

    def validate(self) -> "BenchmarkConfig":
        if self.unlabelled not in (None, "rest"):
            fail("unlabelled", "'rest' (the rest of the training split is the unlabelled pool) or None",
                 self.unlabelled, "Pass unlabelled='rest' for the semi-supervised mode, or leave it out.")
        if self.sizes is None:  # the mode's default sizes
            self.sizes = SEMI_SIZES if self.unlabelled else DEFAULT_SIZES
        if not self.sizes:
            fail("sizes", "at least one size (images per class; 0 = full)", self.sizes, "Pass e.g. sizes=(10, 100).")
        for s in self.sizes:
            check_int("sizes", s, minimum=0)
        if not self.seeds:
            fail("seeds", "at least one seed", self.seeds, "Pass e.g. seeds=(0, 1, 2, 3, 4).")
        for s in self.seeds:
            check_int("seeds", s)
        if self.methods is None:  # the mode's default methods
            self.methods = SEMI_DEFAULT_METHODS if self.unlabelled else DEFAULT_METHODS
        if not self.methods:
            fail("methods", "at least one method", self.methods, f"Pass some of {', '.join(METHODS)}.")
        for m in self.methods:
            check_choice("methods", m, METHODS)
            if m in SEMI_METHODS and not self.unlabelled:
                fail("methods", "methods that need no unlabelled pool (the semi-supervised mode is off)", m,
                     f"Pass unlabelled='rest' to run the semi-supervised mode, or drop {m!r}.")
        if self.unlabelled:
            if FULL in self.sizes:
                fail("sizes", "labelled images per class >= 1 with unlabelled='rest' (size 0 = the full "
                     "training split leaves no unlabelled pool)", FULL, "Drop size 0, or drop unlabelled='rest'.")
            check_float("semi_threshold", self.semi_threshold, 0.0, 1.0, low_open=True,
                        fix="Pass a confidence in (0, 1], e.g. semi_threshold=0.95.")
            check_int("semi_rounds", self.semi_rounds, minimum=1)
            if self.semi_steps is not None:
                check_int("semi_steps", self.semi_steps, minimum=2)
        check_choice("eval_split", self.eval_split, ("test", "val"))
        check_int("val_per_class", self.val_per_class, minimum=1)
        check_choice("gan_arch", self.gan_arch, ("mlp", "dcgan"))
        check_int("gan_width", self.gan_width, minimum=1)
        check_int("gan_z_dim", self.gan_z_dim, minimum=1)
        check_float("gan_lr", self.gan_lr, 0.0, low_open=True)
        check_float("gan_aux_weight", self.gan_aux_weight, 0.0)
        check_bool("gan_aux_twin", self.gan_aux_twin)
        if self.gan_steps is not None:
            check_int("gan_steps", self.gan_steps, minimum=1)
        if self.gan_minutes is not None:
            check_float("gan_minutes", self.gan_minutes, 0.0, low_open=True)
        check_float("gan_mode_seeking", self.gan_mode_seeking, 0.0)
        check_int("gan_aug_copies", self.gan_aug_copies, minimum=1)
        if self.clf_steps is not None:
            check_int("clf_steps", self.clf_steps, minimum=2)
        check_int("clf_epochs", self.clf_epochs, minimum=1)
        check_int("clf_min_steps", self.clf_min_steps, minimum=2)
        if check_int("clf_max_steps", self.clf_max_steps, minimum=2) < self.clf_min_steps:
            fail("clf_max_steps", f"at least clf_min_steps ({self.clf_min_steps})", self.clf_max_steps,
                 "Raise clf_max_steps or lower clf_min_steps.")
        check_int("clf_width", self.clf_width, minimum=1)
        check_int("clf_batch", self.clf_batch, minimum=1)
        check_float("clf_lr", self.clf_lr, 0.0, low_open=True)
        check_choice("clf_schedule", self.clf_schedule, ("constant", "cosine"))
        check_choice("augmentation", self.augmentation, AUGMENTATIONS)
        if not self.shares:
            fail("shares", "at least one synthetic share in (0, 1)", self.shares, "Pass e.g. shares=(0.25, 0.5).")
        for share in self.shares:
            fix = "Pass fractions in (0, 1), e.g. shares=(0.25, 0.5); share 0 is the baseline itself."
            if check_float("shares", share, 0.0, 1.0, low_open=True, fix=fix) == 1.0:
                fail("shares", "fractions in (0, 1)", share, fix)
        check_float("teacher_weight", self.teacher_weight, 0.0, 1.0)
        check_float("filter_keep", self.filter_keep, 0.0, 1.0, low_open=True)
        check_float("truncation", self.truncation, 0.0, low_open=True,
                    fix="Pass a bound > 0 on |z|, e.g. truncation=1.0.")
        return self

    def fields(self) -> dict[str, Any]:
        """Every field that changes the numbers (the semi-supervised ones only in that mode)."""
        # Fields added later are left out at their defaults, so settings from before them keep their hash.
        return {k: v for k, v in dataclasses.asdict(self).items()
                if k not in NOT_IN_SETTING and (self.unlabelled or k not in SEMI_FIELDS)
                and (k, v) not in LATER_DEFAULTS}

    def setting(self) -> str:
        """Short hash of every field that changes the numbers; rows of other settings are not reused."""
        return _hash(self.fields())

    def gan_setting(self) -> str:
        """Hash of what the GANs depend on: settings that only change the classifier side share GANs."""
        return _hash({k: v for k, v in self.fields().items()
                      if k in ("dataset", "eval_split", "val_per_class") or
                      (k.startswith("gan_") and k != "gan_aug_copies")})

    def clf_setting(self) -> str:
        """Hash of the classifier schedule (a GAN's CAS depends on it and on the GAN); the semi mode sizes
        the schedule by the pool too, so it is part of the hash there."""
        return _hash({k: v for k, v in self.fields().items()
                      if k in ("dataset", "eval_split", "val_per_class", "unlabelled") or k.startswith("clf_")})

    def sized_steps(self, n_images: int) -> int:
        """The classifier schedule for ``n_images`` training images under this config's rule."""
        return clf_steps_for(n_images, self.clf_batch, self.clf_epochs, self.clf_min_steps, self.clf_max_steps)

    def pseudo_label_kwargs(self, seed: int, device: Any) -> dict[str, Any]:
        """The :func:`ganaug.pseudo_label` options of a semi-supervised cell: the benchmark's classifier
        (width, batch; pseudo_label's Adam lr 1e-3 with cosine decay) and digit augmentation,
        ``semi_threshold``, ``semi_rounds``; each round's schedule is ``semi_steps``, else ``clf_steps``, or
        (both None) this config's rule applied to that round's training set."""
        steps = self.semi_steps if self.semi_steps is not None else self.clf_steps
        return dict(threshold=self.semi_threshold, rounds=self.semi_rounds, steps=steps,
                    schedule=(self.clf_epochs, self.clf_min_steps, self.clf_max_steps),
                    width=self.clf_width, batch_size=self.clf_batch,
                    augmentation="default" if self.augmentation == "albumentations" else "batch", seed=seed,
                    device=device)

    def train_config(self, n_real: int, seed: int, device: str) -> Any:
        """The TrainConfig of a cell's GAN on ``n_real`` images."""
        from ..gan.training import TrainConfig

        return TrainConfig(arch=self.gan_arch, width=self.gan_width, z_dim=self.gan_z_dim, lr_g=self.gan_lr,
                           lr_d=self.gan_lr, aux_weight=self.gan_aux_weight, aux_twin=self.gan_aux_twin,
                           mode_seeking=self.gan_mode_seeking, steps=self.gan_steps or gan_steps_for(n_real),
                           max_minutes=self.gan_minutes, batch_size=min(64, n_real), seed=seed, device=device,
                           sample_every=0, checkpoint_every=500)


def _hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def quick_config(**overrides) -> BenchmarkConfig:
    """The ``--quick`` grid: the embedded digits, small budgets; a few minutes on 2 CPU cores.

    With ``unlabelled="rest"``: one pseudo-labelling round at confidence 0.5 (the quick classifiers are
    rarely more sure than that on 8x8 digits; about 97% of their labels above 0.5 are right)."""
    base = dict(dataset="digits", sizes=(5, 20), seeds=(0, 1, 2), val_per_class=30, gan_steps=400, gan_width=16,
                gan_aug_copies=4, clf_steps=300, clf_width=8, shares=(0.5,),
                methods=("real", "real+aug", "real+gan", "real+gan+aug", "cas"), semi_threshold=0.5, semi_rounds=1)
    return BenchmarkConfig(**{**base, **overrides})


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
    labels = [lab for m in cfg.methods for lab in _labels(m, cfg.shares)]
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
        cell = _Cell(cfg, subset, evaluation, selection, seed, device, out / "gans" / f"n{size}-seed{seed}",
                     unlabelled=unlabelled, extractor=extractor, pool_targets=hidden)
        results = {r["method"]: r for r in store.rows() if r["setting"] == setting and r["size"] == size
                   and r["seed"] == seed and r["status"] == "ok"}
        for lab in (lab for lab in labels if (size, seed, lab) not in done):
            if bar is not None:
                bar.set_description(f"n={size or 'full'} seed={seed} {lab}")
            row = {"setting": setting, "dataset": cfg.dataset, "eval_split": cfg.eval_split, "size": size,
                   "n_real": len(subset), "n_classes": subset.num_classes, "seed": seed, "method": lab,
                   "share": _share_of(lab), "device": device_name(device)}
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


def _labels(method: str, shares: Sequence[float]) -> list[str]:
    if method not in SHARE_BASELINE:
        return [method]
    return [method_label(method, s) for s in shares] + [method_label(method, "auto")]


def _share_of(label: str) -> float | str | None:
    if "@" not in label:
        return 1.0 if label in ("cas", "cas-sgan") else (0.0 if label in ("real", "real+aug", "self-train") else None)
    share = label.split("@", 1)[1]
    return share if share == "auto" else float(share)


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
    cell = _Cell(cfg, real, evaluation, validation, check_int("seed", seed), device, gan_dir=None)
    cell._gens["gan"] = generator
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        for lab in _labels(m, cfg.shares):
            if lab.endswith("@auto"):
                if validation is not None:
                    auto = _auto(lab, {k: {**v, "share": _share_of(k)} for k, v in out.items()})
                    if auto["status"] == "ok":
                        out[lab] = auto
            else:
                out[lab] = cell.run(lab)
    keep = ("accuracy", "balanced_accuracy", "val_accuracy", "share")
    return {k: {f: v[f] for f in keep if v.get(f) is not None} for k, v in out.items()}


class _Cell:
    """One (subset, seed): its GANs (trained once, lazily), and one classifier per method and share.

    Semi-supervised cells also hold ``unlabelled`` (M, C, H, W), the pool without labels; their one
    classifier schedule is sized by all the training images the cell has, labelled plus pool.
    """

    def __init__(self, cfg, subset, evaluation, selection, seed, device, gan_dir: Path | None,
                 unlabelled: torch.Tensor | None = None, extractor: Callable[[], Any] | None = None,
                 pool_targets: torch.Tensor | None = None):
        self.cfg, self.subset, self.evaluation, self.selection = cfg, subset, evaluation, selection
        self.seed, self.device, self.gan_dir, self.unlabelled = seed, device, gan_dir, unlabelled
        self.pool_targets = pool_targets  # (M,) the pool's true labels: diagnostics only, never trained on
        self.extractor = extractor  # () -> the feature extractor of the semi GAN's recall / coverage
        n_train = len(subset) + (len(unlabelled) if unlabelled is not None else 0)
        self.clf_steps = cfg.clf_steps or cfg.sized_steps(n_train)
        self._union: LabelledImages | None = None
        self._gens: dict[str, Any] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._models: dict[str, Any] = {}

    def _train(self, data, steps: int | None = None, aug: bool | str = False, **kw):
        # aug=True: augment `data` (a LabelledImages) with the configured backend; aug="batch": only the
        # torch backend's batch augmentation (the albumentations one is already in data's transform).
        cfg = self.cfg
        if aug and cfg.augmentation == "torch":
            from ..data.batch_augment import DigitAugment

            kw["augment"] = DigitAugment(self.subset.image_shape[1], self.seed)
        elif aug is True:
            data = self._augmented(data)
        return train_classifier(data, steps=steps or self.clf_steps, seed=self.seed, device=self.device,
                                batch_size=cfg.clf_batch, lr=cfg.clf_lr, width=cfg.clf_width,
                                lr_schedule=cfg.clf_schedule, num_classes=self.subset.num_classes, **kw)

    def run(self, label: str) -> dict[str, Any]:
        """Train the classifier of ``label``; its accuracies and the GAN it used."""
        method, share = base_method(label), _share_of(label)
        if method == "real":
            model = self.model("real")
        elif method == "real+aug":
            model = self.model("real+aug")
        elif method in ("cas", "cas-sgan", "self-train"):
            model = self.model("cas-gan" if method == "cas" else method)
        elif method == "pretrain-gan+aug":
            half = self.clf_steps // 2
            synth = self._synthetic("gan", len(self.subset), transform=self._item_augmentation())
            model = self._train(synth, steps=half, resample_each_epoch=True, aug="batch")
            model = self._train(self.subset, steps=self.clf_steps - half, init=model.train(), aug=True)
        else:
            model = self._train(self._mixed(method, float(share)), resample_each_epoch=True,
                                aug="batch" if "+aug" in method else False)
        row = self.score(model)
        if method in GAN_METHODS and self.gan_dir is not None:  # the grid records each GAN's quality
            info = self.gan_info(gan_kind(method))
            row.update(gan_steps=info["steps"], gan_wall_s=info["wall_s"], gan_cas=info["cas"],
                       gan_recall=info.get("recall"), gan_coverage=info.get("coverage"))
        return row

    def score(self, model) -> dict[str, Any]:
        from sklearn.metrics import balanced_accuracy_score  # mean recall over the classes in target

        from ..classify.classifier import predict_proba

        pred = predict_proba(model, self.evaluation.images).argmax(dim=1)
        target = self.evaluation.targets
        row = {"accuracy": float((pred == target).double().mean()),
               "balanced_accuracy": float(balanced_accuracy_score(target.numpy(), pred.numpy()))}
        if self.selection is not None:
            sel = predict_proba(model, self.selection.images).argmax(dim=1)
            row["val_accuracy"] = float((sel == self.selection.targets).double().mean())
        return row

    def model(self, name: str):
        # real / real+aug models are reused (the filter and the teacher); deterministic on CPU, so a
        # resumed grid re-creates exactly the model used before.
        # "cas-KIND": trained on KIND's images only (its classification accuracy score).
        if name not in self._models:
            if name.startswith("cas-"):
                self._models[name] = self._train(self._synthetic(name[4:], len(self.subset)), resample_each_epoch=True)
            elif name == "self-train":
                self._models[name] = self._train(self.union(), aug=True)
            else:
                self._models[name] = self._train(self.subset, aug=name != "real")
        return self._models[name]

    def _augmentation(self):
        """The classical augmentation as a per-image transform (torch backend: DigitAugment on one image)."""
        if self.cfg.augmentation == "torch":
            from ..data.batch_augment import DigitAugment

            return DigitAugment(self.subset.image_shape[1], self.seed)
        from ..data.transforms import AlbumentationsAdapter

        return AlbumentationsAdapter(digit_augmentation(self.subset.image_shape[1], self.seed))

    def _item_augmentation(self):
        """The transform of the data path: albumentations' pipeline, or None (torch augments whole batches)."""
        return self._augmentation() if self.cfg.augmentation == "albumentations" else None

    def _augmented(self, data: LabelledImages) -> LabelledImages:
        return LabelledImages(data.images, data.targets, data.classes, transform=self._augmentation(), name=data.name)

    def _cache_mb(self, n_items: int) -> float:
        # The whole per-epoch synthetic pool stays cached: shuffled access would otherwise regenerate blocks.
        per_item = 4 * int(torch.tensor(self.subset.image_shape).prod())
        return max(64.0, 1.25 * (n_items + 256) * per_item / 2**20)

    def _synthetic(self, kind: str, n: int, **kw):
        from ..synth.synthetic import SyntheticDataset

        return SyntheticDataset(self.generator(kind), size=max(n, 1), seed=self.seed,
                                class_weights=[1.0] * self.subset.num_classes, cache_mb=self._cache_mb(n), **kw)

    def _mixed(self, method: str, share: float):
        from ..synth.filtering import ConfidenceFilter
        from ..synth.mixing import MixedDataset

        real = self.union() if method.startswith("self-train") else self.subset
        n_synth = round(len(real) * share / (1.0 - share))
        kind = gan_kind(method)
        kw: dict[str, Any] = {}
        if method == "real+gan-filtered":
            kw = dict(quality_filter=ConfidenceFilter(self.model("real"), threshold=None,
                                                      keep_fraction=self.cfg.filter_keep), max_tries=200)
        elif method.endswith("-trunc"):
            kw = dict(truncation=self.cfg.truncation)
        synth = self._synthetic(kind, n_synth, **kw)
        # "+aug": one augmentation pipeline for both sides, applied by the mixed dataset.
        transform = self._item_augmentation() if "+aug" in method else None
        teacher = self.model("real+aug") if method == "real+gan+aug-soft" else None
        return MixedDataset(real, synth, synthetic_share=share, transform=transform, teacher=teacher,
                            teacher_weight=self.cfg.teacher_weight)

    def union(self) -> LabelledImages:
        """The labelled subset + the pool images pseudo-labelled with confidence (semi mode), computed once.

        Stored in ``gan_dir/pseudo/pseudo_labels.pt`` (with per-round counts in ``info.json``), so a rerun
        or another process sharing the results folder reuses them instead of re-training the labellers.
        """
        if self._union is not None:
            return self._union
        from ..classify.semi import load_pseudo_labels, pseudo_label, save_pseudo_labels

        if self.unlabelled is None:
            fail("unlabelled", "an unlabelled pool for the semi-supervised methods", None,
                 "Run them with unlabelled='rest'.")
        kwargs = self.cfg.pseudo_label_kwargs(self.seed, str(self.device))
        path = self._kind_dir("pseudo") / "pseudo_labels.pt" if self.gan_dir is not None else None
        if path is not None and path.exists():
            self._union = load_pseudo_labels(
                path, self.subset, self.unlabelled, kwargs, options="benchmark settings (semi_threshold, semi_rounds, "
                "clf_steps, clf_width, clf_batch)", fix=f"Point --out at a new folder, or delete {path.parent}.")
            return self._union
        t0 = time.monotonic()
        result = pseudo_label(self.subset, self.unlabelled, **kwargs)
        if path is not None:
            save_pseudo_labels(path, result, self.subset, self.unlabelled, kwargs)
            info = {"n_labelled": result.n_labelled, "n_pool": len(self.unlabelled), "n_pseudo": result.n_pseudo,
                    "rounds": result.rounds, "wall_s": round(time.monotonic() - t0, 1)}
            if self.pool_targets is not None and result.n_pseudo:
                right = result.pseudo.targets == self.pool_targets[result.pool_index]  # (P,)
                info["pseudo_label_accuracy"] = float(right.double().mean())
            (path.parent / "info.json").write_text(json.dumps(info, indent=1))
        self._union = result.data
        # The last round's classifier trained on this union exactly as model("self-train") would (same
        # data, augmentation, seed, width, batch, Adam 1e-3 with cosine decay), so it is reused when its
        # step count is the cell's: one classifier fewer per cell.
        cfg = self.cfg
        last_round_steps = kwargs["steps"] or cfg.sized_steps(len(result.data))
        if (cfg.clf_lr, cfg.clf_schedule) == (1e-3, "cosine") and last_round_steps == self.clf_steps:
            self._models.setdefault("self-train", result.classifier)
        return self._union

    def gan_info(self, kind: str) -> dict[str, Any]:
        """Steps, wall time and CAS on the evaluation split of the cell's ``kind`` GAN ("gan" / "augan")."""
        if "cas" in self._info.get(kind, {}):
            return self._info[kind]
        self.generator(kind)
        info = self._info.setdefault(kind, {"steps": None, "wall_s": None})
        path = self._kind_dir(kind) / "info.json" if self.gan_dir is not None else None
        stored = json.loads(path.read_text()) if path is not None and path.exists() else {}
        info.update(steps=stored.get("steps", info["steps"]), wall_s=stored.get("wall_s", info["wall_s"]))
        key = self.cfg.clf_setting()
        cas = stored.get("cas", {}).get(key)
        if cas is None:
            cas = self.score(self.model(f"cas-{kind}"))["accuracy"]
            if path is not None:
                stored.setdefault("cas", {})[key] = cas
                path.write_text(json.dumps({**stored, "steps": info["steps"], "wall_s": info["wall_s"]}))
        info["cas"] = cas
        if kind == "sgan" and self.extractor is not None:  # the semi GAN's variety, next to its CAS
            if "recall" not in stored:
                stored.update(self.recall_coverage(kind))
                if path is not None:
                    path.write_text(json.dumps({**stored, "steps": info["steps"], "wall_s": info["wall_s"]}))
            info.update(recall=stored["recall"], coverage=stored["coverage"])
        return info

    def recall_coverage(self, kind: str) -> dict[str, float]:
        """Recall (k=3, Kynkaanniemi et al. 2019) and coverage (k=5, Naeem et al. 2020) of the ``kind`` GAN.

        Real set: the evaluation split; generated set: as many images, with its class shares (seeded by the
        cell's seed); features: ``self.extractor()`` (a SmallCNN trained on the dataset's training split, as
        in ``ganaug evaluate``). So the scores compare between cells and methods, not with other set sizes.
        """
        from ..metrics.evaluate import _generate, proportional_labels
        from ..metrics.features import extract_features
        from ..metrics.prdc import density_coverage, precision_recall

        model = self.extractor()
        labels = proportional_labels(self.evaluation.class_counts(), len(self.evaluation))
        fake, _ = _generate(self.generator(kind), labels, self.seed, progress=False)  # (N, C, H, W)
        real_f, fake_f = extract_features(model, self.evaluation.images), extract_features(model, fake)  # (N, F)
        return {"recall": precision_recall(real_f, fake_f, 3)[1], "coverage": density_coverage(real_f, fake_f, 5)[1]}

    def _kind_dir(self, kind: str) -> Path | None:
        # What depends on the augmentation backend (the augmented-copies GAN, the pseudo-labels and the
        # semi GAN trained on them) is kept apart per backend; the plain GAN is shared.
        if self.gan_dir is None:
            return None
        torch_aug = self.cfg.augmentation == "torch" and kind in ("augan", "sgan", "pseudo")
        return self.gan_dir / (f"{kind}-torch" if torch_aug else kind)

    def generator(self, kind: str = "gan"):
        if self._gens.get(kind) is not None:
            return self._gens[kind]
        from ..gan.training import fit

        cfg = self.cfg
        data = self.subset
        if kind == "augan":  # the same augmentation as the classifier's, in the GAN's data path
            from ..data.transforms import augmented_copies

            data = augmented_copies(self.subset, self._augmentation(), cfg.gan_aug_copies)
        elif kind == "sgan":  # the semi GAN: labelled + pseudo-labelled images (the pseudo-labels of self-train)
            data = self.union()
        gan_dir = self._kind_dir(kind)
        if gan_dir is not None and (gan_dir / "generator.pt").exists():
            self._gens[kind] = load_generator(gan_dir / "generator.pt", device="cpu")
            return self._gens[kind]
        # Steps are sized by the real images: augmented copies add variety, not new images; pseudo-labelled
        # pool images are real images.
        tcfg = cfg.train_config(len(data) if kind == "sgan" else len(self.subset), self.seed, str(self.device))
        resume = gan_dir is not None and (gan_dir / "checkpoint.pt").exists()
        steps: list[int] = []
        t0 = time.monotonic()
        gen, _ = fit(data, tcfg, out_dir=gan_dir, resume=resume, progress=False,
                     hooks=[lambda st: steps.append(st.step)])
        info = {"steps": steps[-1] if steps else None, "wall_s": round(time.monotonic() - t0, 1)}
        self._info[kind] = info
        if gan_dir is not None:
            (gan_dir / "info.json").write_text(json.dumps(info))
        self._gens[kind] = gen.to("cpu")
        return self._gens[kind]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def progress_bar(enabled: bool, total: int):
    if not enabled or total == 0:
        return None
    return tqdm_bar(total, unit="run")
