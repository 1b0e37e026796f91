"""The feature space of the sample-quality metrics: a SmallCNN trained on the real training split.

Inception features (the usual FID) need downloaded weights and mean little for 8x8 or 28x28
grayscale images. Instead ganaug trains its own :class:`~ganaug.classifier.SmallCNN` on the real
training split of the dataset at hand and uses its penultimate layer (global average pool, 4 x
width values per image) as features. The trained weights are cached on disk under
``cache_dir/feature_extractors/`` (default ``$GANAUG_CACHE``, else ``~/.cache/ganaug``), keyed by
the dataset's name, a fingerprint of its images and labels, the seed, the epochs and the width.
Numbers computed with different extractors (another seed, epochs or dataset) are not comparable.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from .._checks import check_int, fail
from .._device import default_device
from .._files import VERSION, CheckpointError, atomic_save, safe_load
from ..classify.classifier import SmallCNN, train_classifier
from ..data.datasets import LabelledImages, fingerprint, load_dataset, train_val_split  # noqa: F401 (fingerprint re-exported)

FORMAT = "ganaug.feature_extractor"
OFFICIAL_SPLITS = ("mnist", "fashion-mnist")
TEST_FRACTION = 0.3


SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def default_cache_dir() -> Path:
    """``$GANAUG_CACHE`` if set, else ``~/.cache/ganaug``."""
    return Path(os.environ.get("GANAUG_CACHE") or Path.home() / ".cache" / "ganaug").expanduser()


def default_epochs(n_train: int) -> int:
    """About 30 000 image presentations, between 3 and 30 epochs (digits: 23, MNIST: 3)."""
    return max(3, min(30, 30_000 // max(1, n_train)))


def load_split(source: Any = "digits", *, root=None, seed: int = 0, download: bool = False
               ) -> tuple[LabelledImages, LabelledImages]:
    """The (train, test) pair the metrics use.

    ``"mnist"`` and ``"fashion-mnist"``: the official training and test sets (from ``root``).
    Anything else :func:`~ganaug.datasets.load_dataset` accepts (``"digits"``, an image folder,
    ...): a stratified ``train_val_split(data, 0.3, seed)``, i.e. 70% train, 30% test.
    """
    if isinstance(source, str) and source.lower() in OFFICIAL_SPLITS:
        return (load_dataset(source, root=root, train=True, download=download),
                load_dataset(source, root=root, train=False, download=download))
    return train_val_split(load_dataset(source, root=root, download=download), TEST_FRACTION,
                           seed=check_int("seed", seed))


def cache_path(train: LabelledImages, seed: int, epochs: int, width: int, cache_dir=None) -> Path:
    """Where :func:`feature_extractor` keeps the weights for this training split and setting."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", train.name) or "data"
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / "feature_extractors" / f"{name}-{fingerprint(train)}-seed{seed}-e{epochs}-w{width}.pt"


def feature_extractor(data: Any = "digits", seed: int = 0, cache_dir: str | os.PathLike | None = None, *,
                      epochs: int | None = None, width: int = 32, root=None, download: bool = False,
                      device: str | torch.device | None = None) -> SmallCNN:
    """A :class:`SmallCNN` trained on the real training split, loaded from the cache when present.

    ``data``: a dataset name or path (its training split is taken as in :func:`load_split`,
    with the same ``seed``), or the training :class:`~ganaug.datasets.LabelledImages` itself.
    Training: :func:`~ganaug.classifier.train_classifier` with ``epochs`` (default
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
    model = _load(path, train, width) if path.is_file() else None
    if model is None:
        model = train_classifier(train, epochs=epochs, seed=seed, width=width, device=device)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        spec = {"in_channels": model.in_channels, "num_classes": model.num_classes, "width": width,
                "classes": train.classes, "epochs": epochs, "seed": seed, "dataset": train.name}
        try:
            atomic_save({"format": FORMAT, "version": VERSION, "spec": json.dumps(spec), "state_dict": state}, path)
        except OSError as err:
            warnings.warn(f"feature extractor: could not write the cache file {path} ({err}); it will be "
                          "retrained next time. Pass cache_dir= (CLI: --cache-dir) a writable folder.", stacklevel=2)
    model.cache_file, model.epochs = str(path), epochs
    return model.to(device).eval().requires_grad_(False)


def _load(path: Path, train: LabelledImages, width: int) -> SmallCNN | None:
    try:
        obj = safe_load(path, expected=(FORMAT,))  # torch.load(weights_only=True) + format check
        spec = json.loads(obj["spec"])
        model = SmallCNN(spec["in_channels"], spec["num_classes"], width=spec["width"], classes=spec["classes"])
        if spec["classes"] != train.classes or spec["width"] != width:
            raise ValueError("the cached model was trained for other classes or width")
        model.load_state_dict(obj["state_dict"])
    except (CheckpointError, KeyError, TypeError, ValueError, RuntimeError) as err:
        warnings.warn(f"feature extractor: ignoring the unreadable cache file {path} "
                      f"({str(err).splitlines()[0][:120]}); retraining.", stacklevel=3)
        return None
    return model.eval()


def extract_features(model: SmallCNN, images: Any, batch_size: int = 512, progress: bool = False) -> torch.Tensor:
    """``model.features(images)``: float32 (N, F) on CPU, in eval mode, in batches of ``batch_size``.

    ``images``: a tensor (N, C, H, W) in [-1, 1] or a LabelledImages. The model's mode is restored.
    """
    if isinstance(images, LabelledImages):
        images = images.images
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        fail("images", "a tensor (N, C, H, W) or a LabelledImages",
             tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__,
             "Stack the images into one tensor.", TypeError if not isinstance(images, torch.Tensor) else ValueError)
    if images.shape[1] != getattr(model, "in_channels", images.shape[1]):
        fail("images", f"{model.in_channels} channel(s), as the feature extractor was trained on",
             images.shape[1], "Pass images of the dataset the extractor was trained on.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    starts = range(0, images.shape[0], batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="features", unit="batch", leave=False, dynamic_ncols=True)
    out = []
    with torch.no_grad():
        for s in starts:
            out.append(model.features(images[s:s + batch_size].to(device)).float().cpu())  # (b, F)
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 0)
