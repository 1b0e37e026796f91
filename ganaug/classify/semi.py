"""Few labels, many unlabelled images: pseudo-labels for the pool (self-training), then the GAN on the union.

A SmallCNN trained on the labelled images with classical augmentation labels the pool; the images it
is confident about join the training set; a fresh classifier trained on the union labels the whole
pool again, for a few rounds (pseudo-labelling, Lee 2013; retraining from scratch with augmentation as
the noise, as in Noisy Student, Xie et al. 2020). ``fit(data, config, unlabelled=pool)`` trains the
conditional GAN on the final union, so the generator sees the pool's variety, not only the few labels.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .._checks import check_float, check_int, fail
from .._files import CheckpointError, atomic_save, safe_load
from ..data.datasets import (IMAGE_EXTENSIONS, DatasetNotFoundError, LabelledImages, fingerprint, from_arrays,
                             load_dataset)
from ..data.batch_augment import DigitAugment
from ..data.transforms import AlbumentationsAdapter, digit_augmentation
from .classifier import SmallCNN, clf_steps_for, predict_proba, train_classifier

PSEUDO_LABELS_FORMAT = "ganaug.pseudo_labels"
PSEUDO_LABELS_FILE = "pseudo_labels.pt"


@dataclass
class PseudoLabels:
    """What :func:`pseudo_label` returns.

    ``data``: the labelled images first, then the pseudo-labelled pool images (in pool order), as one
    :class:`~ganaug.LabelledImages`. ``classifiers``: each round's SmallCNN, ``[0]`` trained
    on the labelled images alone (the supervised baseline), ``[-1]`` (also ``classifier``) on ``data``,
    the self-training baseline. ``pool_index`` (P,): the pool row of each pseudo-labelled image; ``confidence`` (P,): the
    classifier's probability for its label. ``rounds``: one dict per round with ``above_threshold``
    (pool images at or above the threshold), ``kept`` (after the class cap) and ``per_class`` (kept per
    class).
    """

    data: LabelledImages
    classifiers: list[SmallCNN]
    n_labelled: int
    pool_index: torch.Tensor
    confidence: torch.Tensor
    rounds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def classifier(self) -> SmallCNN:
        return self.classifiers[-1]

    @property
    def n_pseudo(self) -> int:
        return len(self.data) - self.n_labelled

    @property
    def pseudo(self) -> LabelledImages:
        """The pseudo-labelled images alone."""
        return self.data.subset(np.arange(self.n_labelled, len(self.data)))


def pseudo_label(labelled: Any, unlabelled: Any, *, threshold: float = 0.95, rounds: int = 2,
                 max_class_ratio: float | None = 1.5, steps: int | None = None,
                 schedule: tuple[int, int, int] = (40, 3000, 12_000),
                 augmentation: str | Callable | None = "default", width: int = 32, batch_size: int = 64,
                 seed: int = 0, device: str | torch.device | None = None, progress: bool = False) -> PseudoLabels:
    """Label the confident part of an unlabelled pool with a self-trained classifier.

    Round 0 trains a :class:`~ganaug.SmallCNN` on ``labelled`` (cosine schedule, with
    ``augmentation``). Each of the ``rounds`` rounds then labels the whole pool with the current
    classifier, keeps the images whose top probability is >= ``threshold``, and trains a fresh
    classifier on labelled + kept; labels are refreshed every round, and the last round's are returned.
    This is also the "self-training without a GAN" baseline: ``result.classifier`` is its model.

    ``labelled``: a :class:`~ganaug.LabelledImages` or anything ``load_dataset`` accepts.
    ``unlabelled``: images whose labels are never read: a tensor/array (N, C, H, W) or (N, H, W)
    (pixel ranges as in ``load_dataset``: uint8 0..255, floats in [0, 1] or already in [-1, 1]), a
    LabelledImages, a dataset of images or ``(image, label)`` items, or a folder of image files (sub-folders
    included). ``load_dataset(name, n_per_class=k, unlabelled="rest")`` hands back such a pool.
    Pool images identical to a labelled image are left out, with a warning.

    Class cap (``max_class_ratio``): no class keeps more than ``ceil(max_class_ratio * m)`` pseudo-labels,
    where ``m`` is the (lower) median over the classes of the images above the threshold; a class over
    the cap keeps its most confident ones. So one easy class cannot swamp the others, and when at least
    half of the classes have no confident image nothing is kept. ``None`` disables the cap.

    ``steps``: batches per classifier training; ``None`` = ``schedule`` = (epochs, min, max): that many
    epochs of the round's training set, clipped to [min, max] batches (default 40 epochs, 3,000 to
    12,000). ``augmentation``: ``"default"`` is the digit pipeline of
    the benchmarks (small affine jitter + elastic distortion, seeded with ``seed``), ``"batch"`` the same
    distortions on whole batches (:class:`~ganaug.DigitAugment`: faster, and on the GPU), ``None`` none, or
    a transform returning ganaug tensors (e.g. an :class:`~ganaug.AlbumentationsAdapter`).
    Seeded: the same arguments give the same labels and weights on CPU.
    """
    labelled = labelled if isinstance(labelled, LabelledImages) else load_dataset(labelled)
    threshold = check_float("threshold", threshold, 0.0, 1.0, low_open=True,
                            fix="Pass a confidence in (0, 1], e.g. threshold=0.95.")
    rounds = check_int("rounds", rounds, minimum=1, fix="Pass rounds >= 1 (each round re-labels the pool).")
    if max_class_ratio is not None:
        max_class_ratio = check_float("max_class_ratio", max_class_ratio, 1.0,
                                      fix="Pass a ratio >= 1 (e.g. 1.5), or None for no class cap.")
    if steps is not None:
        steps = check_int("steps", steps, minimum=1, fix="Pass steps >= 1, or None for the default schedule.")
    if (not isinstance(schedule, (tuple, list)) or len(schedule) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in schedule)
            or schedule[1] > schedule[2]):
        fail("schedule", "(epochs, min_steps, max_steps): three integers >= 1 with min_steps <= max_steps", schedule,
             "Pass e.g. schedule=(40, 3000, 12000).")
    seed = check_int("seed", seed)
    if augmentation is not None and augmentation not in ("default", "batch") and not callable(augmentation):
        fail("augmentation", "'default', 'batch', None or a callable transform", augmentation,
             "Pass e.g. AlbumentationsAdapter(A.Compose([...])), or None for no augmentation.", TypeError)
    pool = load_pool(unlabelled, labelled)  # (M, C, H, W)
    fresh = ~_copies_of(pool, labelled.images)  # (M,) False where a pool image is a labelled image
    if not fresh.all():
        n = int((~fresh).sum())
        warnings.warn(f"unlabelled: {n} of the {len(pool)} pool images are exact copies of labelled images; "
                      "they are left out of pseudo-labelling. A benchmark whose pool holds its labelled images "
                      "leaks labels: take the pool from load_dataset(..., n_per_class=k, unlabelled='rest').",
                      stacklevel=2)

    def train(data: LabelledImages) -> SmallCNN:
        transform, augment = augmentation, None
        if augmentation == "batch":  # the same distortions on whole batches, on the classifier's device
            transform, augment = None, DigitAugment(labelled.image_shape[1], seed)
        elif augmentation == "default":  # a fresh seeded pipeline per training: every round is reproducible
            transform = AlbumentationsAdapter(digit_augmentation(labelled.image_shape[1], seed))
        if transform is not None:
            data = LabelledImages(data.images, data.targets, data.classes, transform=transform, name=data.name)
        return train_classifier(data, steps=steps or clf_steps_for(len(data), batch_size, *schedule), seed=seed,
                                device=device, batch_size=batch_size, width=width, lr_schedule="cosine",
                                num_classes=labelled.num_classes, progress=progress, augment=augment)

    classifiers = [train(labelled)]
    stats: list[dict[str, Any]] = []
    for r in range(1, rounds + 1):
        conf, pred = predict_proba(classifiers[-1], pool).max(dim=1)  # (M,), (M,)
        keep, above = _select(conf, pred, fresh, threshold, labelled.num_classes, max_class_ratio)
        union = LabelledImages(torch.cat([labelled.images, pool[keep]]), torch.cat([labelled.targets, pred[keep]]),
                               labelled.classes, name=labelled.name)
        stats.append({"round": r, "above_threshold": above, "kept": len(keep),
                      "per_class": torch.bincount(pred[keep], minlength=labelled.num_classes).tolist()})
        classifiers.append(train(union))
    return PseudoLabels(union, classifiers, len(labelled), keep, conf[keep], stats)


def _select(conf: torch.Tensor, pred: torch.Tensor, candidates: torch.Tensor, threshold: float, num_classes: int,
            max_class_ratio: float | None) -> tuple[torch.Tensor, int]:
    """Pool rows to keep (sorted) and how many were above the threshold; see pseudo_label's class cap."""
    ok = candidates & (conf >= threshold)  # (M,)
    above = int(ok.sum())
    if max_class_ratio is None:
        return ok.nonzero().flatten(), above
    counts = torch.bincount(pred[ok], minlength=num_classes).double()
    cap = math.ceil(max_class_ratio * float(counts.median()))
    keep = []
    for c in range(num_classes):
        rows = (ok & (pred == c)).nonzero().flatten()
        order = torch.sort(conf[rows], descending=True, stable=True).indices  # most confident first, ties by row
        keep.append(rows[order[:cap]])
    return torch.sort(torch.cat(keep)).values, above


def _copies_of(pool: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """(M,) bool: which pool rows are byte-for-byte one of ``images`` (both in ganaug's normalisation)."""
    seen = {row.tobytes() for row in images.reshape(len(images), -1).numpy()}
    return torch.tensor([row.tobytes() in seen for row in pool.reshape(len(pool), -1).numpy()], dtype=torch.bool)


def load_pool(unlabelled: Any, like: LabelledImages) -> torch.Tensor:
    """An unlabelled pool as float32 images (M, C, H, W) in [-1, 1], shaped like ``like``'s images.

    Accepts what :func:`pseudo_label` documents for ``unlabelled``; labels, where present, are not read.
    """
    if isinstance(unlabelled, str) and unlabelled == "rest":
        fail("unlabelled", "images (a tensor/array, a dataset or a folder)", unlabelled,
             "'rest' needs the full dataset: labelled, pool = ganaug.load_dataset(name, n_per_class=k, "
             "unlabelled='rest'), then pass pool.")
    source = unlabelled
    if isinstance(unlabelled, (str, os.PathLike)):
        source = _ImageFiles(Path(unlabelled), like.image_shape[0])
    elif not (hasattr(unlabelled, "__getitem__") and hasattr(unlabelled, "__len__")):
        fail("unlabelled", "a tensor/array of images, a dataset or a folder of images", type(unlabelled).__name__,
             "Pass e.g. a tensor (N, C, H, W), a torchvision dataset or a path.", TypeError)
    if len(source) == 0:
        fail("unlabelled", "at least one image", "an empty pool (0 images)",
             "Pass the images to pseudo-label, or leave unlabelled=None to train on the labelled images only.")
    try:
        if isinstance(source, LabelledImages):
            x = source.images
        elif isinstance(source, (np.ndarray, torch.Tensor)):
            x = from_arrays(source, np.zeros(len(source), dtype=np.int64)).images
        else:  # a dataset: through load_dataset's reader, with every label replaced by 0
            x = load_dataset(_Unlabelled(source)).images
    except (ValueError, TypeError) as err:
        raise type(err)(f"unlabelled: {err}") from None
    if tuple(x.shape[1:]) != like.image_shape:
        fail("unlabelled", f"images of shape {like.image_shape} (C, H, W), like the labelled images",
             tuple(x.shape[1:]), "Resize / convert the pool to the labelled images' size and channels.")
    return x


class _Unlabelled:
    """A dataset of images or (image, label) items as (image, 0) items; the labels are never read."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i):
        item = self.ds[i]
        return (item[0] if isinstance(item, (tuple, list)) else item), 0


class _ImageFiles:
    """The image files under a folder (sub-folders included, sorted by path) as (uint8 array, 0) items."""

    def __init__(self, path: Path, channels: int):
        if not path.is_dir():
            raise DatasetNotFoundError(f"unlabelled: {str(path)!r} is not an existing folder. Pass a folder of "
                                       "image files (sub-folders are read too; their names are not labels).")
        self.files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        self.mode = "L" if channels == 1 else "RGB"  # the labelled images' channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image

        with Image.open(self.files[i]) as im:
            return np.asarray(im.convert(self.mode)), 0


def fit_data(data: LabelledImages, unlabelled: Any, kwargs: dict | None, seed: int, device: str | None,
             out_dir: str | Path | None, resume: Any, overwrite: bool, progress: bool) -> LabelledImages:
    """The GAN's training set for ``fit(..., unlabelled=...)``: labelled + pseudo-labelled pool images.

    With ``out_dir`` the pseudo-labels are stored in ``out_dir/pseudo_labels.pt`` (pool rows, labels,
    per-round counts); a resumed run reads them back instead of re-training the classifiers, so it
    trains on exactly the same images.
    """
    from .._outdir import check_out_dir

    path = Path(out_dir) / PSEUDO_LABELS_FILE if out_dir is not None else None
    if path is not None:  # refuse a folder that holds another run before pseudo-labelling (and writing) anything
        check_out_dir(path.parent, resume, overwrite)
    kwargs = dict(kwargs or {})
    for key in ("labelled", "unlabelled"):
        if key in kwargs:
            fail("pseudo_label_kwargs", "options of pseudo_label other than labelled/unlabelled", key,
                 f"Pass {key} to fit itself.", TypeError)
    kwargs = {"seed": seed, "device": device, "progress": progress, **kwargs}
    pool = load_pool(unlabelled, data)
    if resume and path is not None and path.exists():
        return load_pseudo_labels(path, data, pool, kwargs)
    result = pseudo_label(data, pool, **kwargs)
    if path is not None and int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 writes the file
        save_pseudo_labels(path, result, data, pool, kwargs)
    return result.data


def _cache_ids(data: LabelledImages, pool: torch.Tensor, kwargs: dict) -> dict[str, str]:
    # What defines the pseudo-labels: the images and pseudo_label's options (device and progress do not).
    settings = json.dumps({k: v for k, v in kwargs.items() if k not in ("device", "progress")},
                          sort_keys=True, default=repr)
    pool_id = fingerprint(LabelledImages(pool, torch.zeros(len(pool), dtype=torch.int64), ["pool"]))
    return {"labelled": fingerprint(data), "pool": pool_id, "settings": settings}


def save_pseudo_labels(path: str | Path, result: PseudoLabels, data: LabelledImages, pool: torch.Tensor,
                       kwargs: dict) -> None:
    """Write ``result`` (pool rows, labels, confidences, per-round counts) atomically to ``path``, tagged
    with fingerprints of ``data`` and ``pool`` and the ``pseudo_label`` options ``kwargs`` that made it."""
    atomic_save({"format": PSEUDO_LABELS_FORMAT, "version": 1, **_cache_ids(data, pool, kwargs),
                 "n_labelled": result.n_labelled, "n_pseudo": result.n_pseudo,
                 "pool_index": result.pool_index, "targets": result.pseudo.targets.clone(),
                 "confidence": result.confidence, "rounds": json.dumps(result.rounds)}, path)


def load_pseudo_labels(path: str | Path, data: LabelledImages, pool: torch.Tensor, kwargs: dict, *,
                       options: str = "pseudo_label_kwargs",
                       fix: str = "Resume with the original data and options, or start a new out_dir.") -> LabelledImages:
    """The union (``data`` + pseudo-labelled ``pool`` images) stored by :func:`save_pseudo_labels`.

    Refused (ValueError, ending with ``fix``) when ``data``, ``pool`` or the ``pseudo_label`` options
    ``kwargs`` (called ``options`` in the message) differ from the ones that wrote ``path``.
    """
    saved = safe_load(path, expected=(PSEUDO_LABELS_FORMAT,))
    if any(saved.get(k) != v for k, v in _cache_ids(data, pool, kwargs).items()):
        fail("unlabelled", f"the labelled images, pool and {options} that wrote {str(path)!r}", "different ones", fix)
    try:
        index, targets = saved["pool_index"].long(), saved["targets"].long()
        return LabelledImages(torch.cat([data.images, pool[index]]), torch.cat([data.targets, targets]),
                              data.classes, name=data.name)
    except (KeyError, IndexError, RuntimeError, AttributeError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} does not match the pool ({err}). Start a new "
                              "out_dir.") from None
