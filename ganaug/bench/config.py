"""What a downstream benchmark runs: its methods, the labels of their rows, and BenchmarkConfig (one setting)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

from .._checks import check_bool, check_choice, check_float, check_int, fail
from ..classify.classifier import clf_steps_for

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


def share_labels(method: str, shares: Sequence[float]) -> list[str]:
    """The row labels of ``method``: one per share and ``"@auto"`` for a share method, else the method itself."""
    if method not in SHARE_BASELINE:
        return [method]
    return [method_label(method, s) for s in shares] + [method_label(method, "auto")]


def share_of(label: str) -> float | str | None:
    """The synthetic share of a row label: its ``@share``, ``"auto"``, 1.0 for CAS, 0.0 for a baseline, else None."""
    if "@" not in label:
        return 1.0 if label in ("cas", "cas-sgan") else (0.0 if label in ("real", "real+aug", "self-train") else None)
    share = label.split("@", 1)[1]
    return share if share == "auto" else float(share)
