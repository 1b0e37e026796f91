"""The feature space of the sample-quality metrics: a SmallCNN trained on the real training split.

Inception features (the usual FID) need downloaded weights and mean little for 8x8 or 28x28
grayscale images. Instead ganaug trains its own :class:`~ganaug.SmallCNN` on the real
training split of the dataset at hand and uses its penultimate layer (global average pool, 4 x
width values per image) as features. The trained weights are cached on disk under
``cache_dir/feature_extractors/`` (default ``$GANAUG_CACHE``, else ``~/.cache/ganaug``), keyed by
the dataset's name, a fingerprint of its images and labels, the seed, the epochs and the width.
Numbers computed with different extractors (another seed, epochs or dataset) are not comparable.
"""
from __future__ import annotations

import os
from typing import Any

import torch

from .._checks import check_int, fail
from .._device import default_device
from ..classify.classifier import SmallCNN, train_classifier
from ..data.datasets import LabelledImages
from ..data.splits import load_split
from .feature_cache import SHIPPED_WEIGHTS, cache_path, load_cached, save_cached


def default_epochs(n_train: int) -> int:
    """About 30 000 image presentations, between 3 and 30 epochs (digits: 23, MNIST: 3)."""
    return max(3, min(30, 30_000 // max(1, n_train)))


def feature_extractor(data: Any = "digits", seed: int = 0, cache_dir: str | os.PathLike | None = None, *,
                      epochs: int | None = None, width: int = 32, root=None, download: bool = False,
                      device: str | torch.device | None = None) -> SmallCNN:
    """A :class:`SmallCNN` trained on the real training split, loaded from the cache when present.

    ``data``: a dataset name or path (its training split is taken as in :func:`load_split`,
    with the same ``seed``), or the training :class:`~ganaug.LabelledImages` itself.
    Training: :func:`~ganaug.train_classifier` with ``epochs`` (default
    :func:`default_epochs`), ``width``, batch 64, Adam lr 1e-3, seeded by ``seed``. The returned
    model is in eval mode, with gradients off, on ``device`` (default: cuda if available); its
    ``cache_file`` and ``epochs`` attributes say where it came from. A cache file that cannot be
    read is retrained with a warning; a cache folder that cannot be written only warns.
    """
    seed = check_int("seed", seed)
    if isinstance(data, LabelledImages):
        train = data
    elif isinstance(data, (str, os.PathLike)):
        train, _ = load_split(data, root=root, seed=seed, download=download)
    else:
        fail("data", "a dataset name or path, or the training LabelledImages", type(data).__name__,
             "Pass e.g. feature_extractor('digits') or feature_extractor(train_split).", TypeError)
    width = check_int("width", width, minimum=1)
    epochs = default_epochs(len(train)) if epochs is None else check_int("epochs", epochs, minimum=1)
    device = torch.device(device) if device is not None else default_device()
    path = cache_path(train, seed, epochs, width, cache_dir)
    # Weights shipped in the package (official MNIST, seed 0, default epochs/width) make numbers
    # comparable between users; the file name carries the data fingerprint, so only an exact match is used.
    shipped = SHIPPED_WEIGHTS / path.name
    if shipped.is_file():
        path = shipped
    model = load_cached(path, train, width) if path.is_file() else None
    if model is None:
        model = train_classifier(train, epochs=epochs, seed=seed, width=width, device=device)
        save_cached(model, path, train, epochs, seed, width)
    model.cache_file, model.epochs = str(path), epochs
    return model.to(device).eval().requires_grad_(False)
