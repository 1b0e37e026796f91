"""Downstream benchmark: does GAN augmentation help a classifier, and at which labelled-set sizes?

The grid is sizes x seeds x methods. A *cell* is one (size, seed): a seeded stratified subset of
``size`` labelled images per class, one GAN trained on that subset only (no other training image is
seen), and one classifier per method, all seeded by the cell's seed, all tested on the same split.
Every finished (size, seed, method) is appended to a CSV at once, GANs checkpoint as they train,
and a re-run skips what is done, so a grid can be split across sessions or machines.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ._checks import check_choice, check_float, check_int, fail
from ._progress import bar as tqdm_bar
from .checkpoint import default_device, load_generator
from .classifier import train_classifier
from .datasets import LabelledImages, stratified_subset, train_val_split

# Method names, in table order. "cas" is the synthetic-only score (train on GAN images only).
METHODS = ("real", "real+aug", "real+gan", "real+gan+aug", "real+gan-filtered", "cas")
GAN_METHODS = {"real+gan", "real+gan+aug", "real+gan-filtered", "cas"}
FULL = 0  # size 0 = the whole training split
CSV_FIELDS = ("setting", "dataset", "eval_split", "size", "n_real", "n_classes", "seed", "method", "accuracy",
              "balanced_accuracy", "gan_steps", "clf_steps", "wall_s", "device", "status", "finished_at")
# Fields of BenchmarkConfig that do not change any number (where/which cells to run, not how).
NOT_IN_SETTING = {"root", "sizes", "seeds", "methods", "device", "download"}


@dataclass
class BenchmarkConfig:
    """How every cell of the grid is run. Stored (as a hash, ``setting``) in every CSV row."""

    dataset: str = "mnist"  # "mnist" (official split), "digits" (70/30 seeded split), fashion-mnist, ...
    root: str | None = None
    download: bool = False
    sizes: tuple[int, ...] = (10, 20, 50, 100, 500, FULL)  # labelled images per class; 0 = full training set
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    methods: tuple[str, ...] = METHODS
    eval_split: str = "test"  # "test", or "val": a held-out part of the training split (for tuning)
    # GAN, trained per cell on the labelled subset only
    gan_arch: str = "mlp"
    gan_width: int = 32
    gan_steps: int = 1000
    gan_minutes: float | None = None  # wall-clock cap per GAN (makes cells machine-dependent)
    gan_mode_seeking: float = 0.03
    # classifier, identical for every method
    clf_steps: int = 300
    clf_width: int = 8
    clf_batch: int = 64
    clf_lr: float = 1e-3
    # mixing and filtering
    synthetic_share: float = 0.5  # fraction of every epoch that is synthetic
    filter_keep: float = 0.5  # per class, keep this most-confident fraction (by the real-only classifier)
    device: str | None = None

    def validate(self) -> "BenchmarkConfig":
        if not self.sizes:
            fail("sizes", "at least one size (images per class; 0 = full)", self.sizes, "Pass e.g. sizes=(10, 100).")
        for s in self.sizes:
            check_int("sizes", s, minimum=0)
        if not self.seeds:
            fail("seeds", "at least one seed", self.seeds, "Pass e.g. seeds=(0, 1, 2, 3, 4).")
        for s in self.seeds:
            check_int("seeds", s)
        for m in self.methods:
            check_choice("methods", m, METHODS)
        check_choice("eval_split", self.eval_split, ("test", "val"))
        check_int("gan_width", self.gan_width, minimum=1)
        check_int("gan_steps", self.gan_steps, minimum=1)
        if self.gan_minutes is not None:
            check_float("gan_minutes", self.gan_minutes, 0.0, low_open=True)
        check_float("gan_mode_seeking", self.gan_mode_seeking, 0.0)
        check_int("clf_steps", self.clf_steps, minimum=1)
        check_int("clf_width", self.clf_width, minimum=1)
        check_int("clf_batch", self.clf_batch, minimum=1)
        check_float("clf_lr", self.clf_lr, 0.0, low_open=True)
        share = check_float("synthetic_share", self.synthetic_share, 0.0, 1.0, low_open=True,
                            fix="Pass a fraction in (0, 1), e.g. 0.5 (half of every epoch synthetic).")
        if share >= 1.0:
            fail("synthetic_share", "a fraction in (0, 1)", share, "Pass e.g. 0.5 (half of every epoch synthetic).")
        check_float("filter_keep", self.filter_keep, 0.0, 1.0, low_open=True)
        return self

    def setting(self) -> str:
        """Short hash of every field that changes the numbers; rows of other settings are not reused."""
        return _hash({k: v for k, v in dataclasses.asdict(self).items() if k not in NOT_IN_SETTING})

    def gan_setting(self) -> str:
        """Hash of what the GANs depend on: settings that only change the classifier side share GANs."""
        return _hash({k: v for k, v in dataclasses.asdict(self).items()
                      if k in ("dataset", "eval_split") or k.startswith("gan_")})


def _hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def quick_config(**overrides) -> BenchmarkConfig:
    """The ``--quick`` grid: the embedded digits, small budgets; a few minutes on 2 CPU cores."""
    base = dict(dataset="digits", sizes=(5, 20), seeds=(0, 1, 2), gan_steps=400, gan_width=16,
                clf_steps=200, clf_width=8)
    return BenchmarkConfig(**{**base, **overrides})


def digit_augmentation(image_size: int, seed: int = 0):
    """The classical augmentation for digits: small affine jitter plus elastic distortion.

    ``Affine``: rotation +-12 deg, shear +-8 deg, scale 0.9-1.1, translation +-8%, p=0.9; then
    ``ElasticTransform`` (Simard et al. 2003: alpha 34, sigma 4 for 28 px, scaled with the image size),
    p=0.5; constant black border. No flips (they change digit identity).
    """
    import albumentations as A

    k = image_size / 28.0
    return A.Compose([
        A.Affine(rotate=(-12, 12), shear=(-8, 8), scale=(0.9, 1.1), translate_percent=(-0.08, 0.08),
                 border_mode=0, fill=0, p=0.9),
        A.ElasticTransform(alpha=34 * k, sigma=4 * k, border_mode=0, fill=0, p=0.5),
    ], seed=seed)


class ResultStore:
    """A CSV of finished runs: appended one row at a time (flushed and fsynced), read back to skip.

    ``fields``: the columns; ``ints`` / ``floats``: the columns parsed back as numbers (empty -> None / nan).
    """

    def __init__(self, path: str | os.PathLike, fields: Sequence[str] = CSV_FIELDS,
                 ints: Sequence[str] = ("size", "n_real", "n_classes", "seed", "gan_steps", "clf_steps"),
                 floats: Sequence[str] = ("accuracy", "balanced_accuracy", "wall_s")):
        self.path = Path(path)
        self.fields, self.ints, self.floats = tuple(fields), tuple(ints), tuple(floats)

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or list(reader.fieldnames) != list(self.fields):
                fail("out", f"a results CSV with columns {', '.join(self.fields)}",
                     f"{self.path} with columns {reader.fieldnames}", "Point --out at a new folder.")
            return [self._parse(r) for r in reader]

    def done(self, setting: str, key: Sequence[str] = ("size", "seed", "method")) -> set[tuple]:
        """Keys of the ``ok`` rows of ``setting``."""
        return {tuple(r[k] for k in key) for r in self.rows() if r["setting"] == setting and r["status"] == "ok"}

    def append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as f:
            _lock(f)  # several processes may share one CSV (e.g. seeds split over two workers)
            try:
                writer = csv.DictWriter(f, fieldnames=self.fields)
                if f.seek(0, os.SEEK_END) == 0:
                    writer.writeheader()
                writer.writerow({k: row.get(k, "") for k in self.fields})
                f.flush()
                os.fsync(f.fileno())
            finally:
                _lock(f, release=True)

    def _parse(self, r: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = dict(r)
        for k in self.ints:
            out[k] = int(r[k]) if r.get(k) not in (None, "") else None
        for k in self.floats:
            out[k] = float(r[k]) if r.get(k) not in (None, "") else float("nan")
        return out


def _lock(f, release: bool = False) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer per CSV there
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_UN if release else fcntl.LOCK_EX)


def load_benchmark_data(cfg: BenchmarkConfig, seed: int = 0) -> tuple[LabelledImages, LabelledImages]:
    """(pool to draw labelled subsets from, evaluation split) for ``cfg.dataset`` and ``cfg.eval_split``.

    ``eval_split="val"`` holds out a stratified 1/6 of the training split (seeded) and never loads
    the test set: use it to tune settings before publishing test numbers.
    """
    from .features import load_split

    train, test = load_split(cfg.dataset, root=cfg.root, download=cfg.download, seed=seed)
    if cfg.eval_split == "val":
        train, test = train_val_split(train, 1 / 6, seed=seed)
    return train, test



def run_benchmark(cfg: BenchmarkConfig, out_dir: str | os.PathLike, progress: bool = True,
                  log: Callable[[str], None] | None = print) -> list[dict[str, Any]]:
    """Run every unfinished (size, seed, method) of the grid; return all rows of this setting.

    ``out_dir`` gets ``results.csv`` (one row per finished run), ``config.json`` and ``gans/`` (one
    resumable GAN run per cell). Rows already in the CSV for the same setting are skipped.
    """
    cfg = cfg.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setting = cfg.setting()
    store = ResultStore(out / "results.csv")
    done = store.done(setting)
    device = torch.device(cfg.device) if cfg.device else default_device()
    (out / "config.json").write_text(json.dumps({"setting": setting, **dataclasses.asdict(cfg)}, indent=2))
    pool, evaluation = load_benchmark_data(cfg)
    max_size = min(pool.class_counts())
    for s in cfg.sizes:
        if s > max_size:
            fail("sizes", f"at most {max_size} images per class (the smallest class of the {cfg.dataset} "
                 "training split), or 0 for all", s, "Drop that size or use 0 (full).")
    todo = [(size, seed, m) for size in cfg.sizes for seed in cfg.seeds for m in cfg.methods
            if (size, seed, m) not in done]
    bar = progress_bar(progress, len(todo))
    pending = set(todo)
    for size, seed in dict.fromkeys((size, seed) for size, seed, _ in todo):
        methods = [m for m in cfg.methods if (size, seed, m) in pending]
        subset = pool if size == FULL else stratified_subset(pool, size, seed=seed)
        cell = _Cell(cfg, subset, evaluation, seed, device, out / "gans" / f"{cfg.gan_setting()}-n{size}-seed{seed}")
        for method in methods:
            if bar is not None:
                bar.set_description(f"n={size or 'full'} seed={seed} {method}")
            t0 = time.monotonic()
            row = {"setting": setting, "dataset": cfg.dataset, "eval_split": cfg.eval_split, "size": size,
                   "n_real": len(subset), "n_classes": subset.num_classes, "seed": seed, "method": method, "clf_steps": cfg.clf_steps,
                   "device": device_name(device)}
            try:
                acc, bal = cell.run(method)
                row.update(accuracy=acc, balanced_accuracy=bal, status="ok")
            except Exception as err:  # noqa: BLE001 - a failed run is recorded, the grid goes on
                from .filtering import FilterQuotaError

                if not isinstance(err, FilterQuotaError):
                    raise
                row.update(status=f"failed: {str(err).splitlines()[0][:200]}")
            # wall_s includes the GAN's training for the first method that needed it (in cell.run).
            row.update(gan_steps=cell.gan_steps, wall_s=round(time.monotonic() - t0, 2),
                       finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
            store.append(row)
            if log is not None and bar is None:
                log(f"n={size or 'full'} seed={seed} {method}: accuracy {row.get('accuracy', float('nan')):.4f}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(acc=f"{row.get('accuracy', float('nan')):.3f}", refresh=False)
    if bar is not None:
        bar.close()
    return [r for r in store.rows() if r["setting"] == setting]


def compare_methods(real: LabelledImages, evaluation: LabelledImages, generator: Any = None,
                    methods: Sequence[str] = ("real", "real+gan", "cas"), config: BenchmarkConfig | None = None,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """Train the benchmark's classifier once per method on ``real`` (plus ``generator``'s images) and
    test it on ``evaluation``: ``{method: {"accuracy", "balanced_accuracy"}}``.

    The classifier, schedule, mixing share, augmentation and filter come from ``config`` (default
    :class:`BenchmarkConfig`); the GAN methods need ``generator`` (e.g. from :func:`ganaug.fit`).
    """
    cfg = (config or BenchmarkConfig()).validate()
    for m in methods:
        check_choice("methods", m, METHODS)
    if generator is None and GAN_METHODS & set(methods):
        fail("generator", f"a trained generator for the methods {sorted(GAN_METHODS & set(methods))}", None,
             "Pass generator=ganaug.fit(...)[0] or ganaug.load_generator(path).")
    for name, data in (("real", real), ("evaluation", evaluation)):
        if not isinstance(data, LabelledImages):
            fail(name, "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    device = torch.device(cfg.device) if cfg.device else default_device()
    cell = _Cell(cfg, real, evaluation, check_int("seed", seed), device, gan_dir=None)
    cell._gen = generator
    return {m: dict(zip(("accuracy", "balanced_accuracy"), cell.run(m))) for m in methods}


class _Cell:
    """One (subset, seed): its GAN (trained once, lazily) and one classifier per method."""

    def __init__(self, cfg, subset, evaluation, seed, device, gan_dir: Path | None):
        self.cfg, self.subset, self.evaluation, self.seed, self.device = cfg, subset, evaluation, seed, device
        self.gan_dir = gan_dir
        self.gan_steps: int | None = None
        self._gen = None
        self._real_model = None

    def _train(self, data, **kw):
        cfg = self.cfg
        return train_classifier(data, steps=cfg.clf_steps, seed=self.seed, device=self.device,
                                batch_size=cfg.clf_batch, lr=cfg.clf_lr, width=cfg.clf_width, **kw)

    def run(self, method: str) -> tuple[float, float]:
        if method == "real":
            model = self.real_model()
        elif method == "real+aug":
            d = self.subset
            model = self._train(LabelledImages(d.images, d.targets, d.classes, transform=self._augmentation(),
                                               name=d.name))
        elif method == "cas":
            from .synthetic import SyntheticDataset

            synth = SyntheticDataset(self.generator(), size=len(self.subset), seed=self.seed,
                                     class_weights=[1.0] * self.subset.num_classes,
                                     cache_mb=self._cache_mb(len(self.subset)))
            model = self._train(synth, resample_each_epoch=True)
        else:
            model = self._train(self._mixed(method), resample_each_epoch=True)
        from .classifier import predict_proba

        pred = predict_proba(model, self.evaluation.images).argmax(dim=1)
        target = self.evaluation.targets
        from sklearn.metrics import balanced_accuracy_score  # mean recall over the classes in target

        return float((pred == target).double().mean()), float(balanced_accuracy_score(target.numpy(), pred.numpy()))

    def real_model(self):
        # Deterministic on CPU, so a resumed run re-creates exactly the model the filter used before.
        if self._real_model is None:
            self._real_model = self._train(self.subset)
        return self._real_model

    def _augmentation(self):
        from .transforms import AlbumentationsAdapter

        return AlbumentationsAdapter(digit_augmentation(self.subset.image_shape[1], self.seed))

    def _cache_mb(self, n_items: int) -> float:
        # The whole per-epoch synthetic pool stays cached: shuffled access would otherwise regenerate blocks.
        per_item = 4 * int(torch.tensor(self.subset.image_shape).prod())
        return max(64.0, 1.25 * (n_items + 256) * per_item / 2**20)

    def _mixed(self, method: str):
        from .filtering import ConfidenceFilter
        from .mixing import MixedDataset
        from .synthetic import SyntheticDataset

        share = self.cfg.synthetic_share
        n_synth = round(len(self.subset) * share / (1.0 - share))
        quality = (ConfidenceFilter(self.real_model(), threshold=None, keep_fraction=self.cfg.filter_keep)
                   if method == "real+gan-filtered" else None)
        synth = SyntheticDataset(self.generator(), size=max(n_synth, 1), seed=self.seed, quality_filter=quality,
                                 class_weights=[1.0] * self.subset.num_classes, max_tries=200,
                                 cache_mb=self._cache_mb(n_synth))
        transform = self._augmentation() if method == "real+gan+aug" else None
        return MixedDataset(self.subset, synth, synthetic_share=share, transform=transform)

    def generator(self):
        if self._gen is not None:
            return self._gen
        from .training import TrainConfig, fit

        cfg = self.cfg
        final = self.gan_dir / "generator.pt"
        if final.exists():
            self._gen = load_generator(final, device="cpu")
            meta = json.loads((self.gan_dir / "steps.json").read_text()) if (self.gan_dir / "steps.json").exists() else {}
            self.gan_steps = meta.get("steps")
        else:
            tcfg = TrainConfig(arch=cfg.gan_arch, width=cfg.gan_width, steps=cfg.gan_steps, max_minutes=cfg.gan_minutes,
                               batch_size=min(64, len(self.subset)), mode_seeking=cfg.gan_mode_seeking, seed=self.seed,
                               device=str(self.device), sample_every=0, checkpoint_every=250)
            resume = (self.gan_dir / "checkpoint.pt").exists()
            steps: list[int] = []
            gen, history = fit(self.subset, tcfg, out_dir=self.gan_dir, resume=resume, progress=False,
                               hooks=[lambda st: steps.append(st.step)])
            self.gan_steps = steps[-1] if steps else None
            (self.gan_dir / "steps.json").write_text(json.dumps({"steps": self.gan_steps}))
            self._gen = gen.to("cpu")
        return self._gen


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.getdevice_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def progress_bar(enabled: bool, total: int):
    if not enabled or total == 0:
        return None
    return tqdm_bar(total, unit="run")


def select_rows(rows: Sequence[dict[str, Any]], setting: str | None = None) -> list[dict[str, Any]]:
    """The ``ok`` rows of one setting (default: the setting of the last row written)."""
    if not rows:
        return []
    setting = setting or rows[-1]["setting"]
    return [r for r in rows if r["setting"] == setting and r["status"] == "ok"]
