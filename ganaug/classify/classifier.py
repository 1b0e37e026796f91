"""A small CNN image classifier: quality filtering of generated samples, metrics and benchmarks.

Works on any (C, H, W) image of 8..64 pixels and any number of classes: two conv blocks with 2x2
pooling, a third conv, then global average pooling, so the head does not depend on the image size.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from .._checks import check_choice, check_float, check_int, fail
from .._progress import bar as tqdm_bar
from .._device import default_device
from ..data.datasets import LabelledImages


LR_SCHEDULES = ("constant", "cosine")


class SmallCNN(nn.Module):
    """Conv classifier for images (B, C, H, W) in ganaug's [-1, 1]; returns logits (B, num_classes).

    ``classes`` (optional) records which class names the outputs stand for, so that code reusing the
    model (e.g. :class:`~ganaug.ConfidenceFilter`) can check it against a generator.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.25,
                 classes: Sequence[str] | None = None):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        w = check_int("width", width, minimum=1)
        check_float("dropout", dropout, 0.0, 1.0)
        if classes is not None and len(classes) != num_classes:
            fail("classes", f"{num_classes} class names (one per output)", list(classes),
                 "Pass one name per class, or leave classes=None.")
        self.classes = [str(c) for c in classes] if classes is not None else None

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(in_channels, w), *block(w, w), nn.MaxPool2d(2),  # (B, w, H/2, W/2)
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),  # (B, 2w, H/4, W/4)
            *block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, 4w)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, H, W) -> logits (B, K)
        return self.head(self.features(x))


def _first_item_shape(data) -> tuple[int, ...]:
    image, _ = data[0]
    if not isinstance(image, torch.Tensor):
        fail("data", "items (image tensor (C, H, W), label)", type(image).__name__,
             "Give the dataset a transform that returns tensors, e.g. ganaug.ToGanaugTensor().",
             TypeError)
    if image.ndim != 3 or not 8 <= min(image.shape[1:]) <= max(image.shape[1:]) <= 64:
        fail("data", "image tensors (C, H, W) of 8..64 pixels", tuple(image.shape),
             "Resize the images into that range.")
    return tuple(image.shape)


def clf_steps_for(n_real: int, batch_size: int = 64, epochs: int = 40, min_steps: int = 3000,
                  max_steps: int = 12_000) -> int:
    """The classifier schedule sized for ``n_real`` labelled images: ``epochs`` epochs, clipped to
    ``[min_steps, max_steps]`` batches (default 40 epochs, 3,000 to 12,000)."""
    return max(min_steps, min(max_steps, -(-epochs * n_real // batch_size)))


def train_classifier(data: Any, epochs: int = 10, *, seed: int = 0, device: str | torch.device | None = None,
                     batch_size: int = 64, lr: float = 1e-3, width: int = 32,
                     num_classes: int | None = None, steps: int | None = None,
                     resample_each_epoch: bool = False, lr_schedule: str = "constant",
                     progress: bool = False, init: SmallCNN | None = None, augment: Any = None) -> SmallCNN:
    """Train a :class:`SmallCNN` on labelled images and return it in eval mode.

    ``data``: a :class:`~ganaug.LabelledImages`, or any dataset of ``(image tensor (C, H, W),
    label)`` items (e.g. a :class:`~ganaug.MixedDataset`); its ``classes`` attribute gives the
    number of outputs unless ``num_classes`` is passed. Seeded: the same seed gives the same weights
    on CPU; the global torch RNG is left untouched. ``device``: ``None`` = cuda if available.
    ``steps``: train for exactly this many batches instead (as many epochs as that takes), so that
    datasets of different sizes get the same schedule. ``resample_each_epoch``: call
    ``data.resample(epoch)`` before every epoch after the first (a :class:`~ganaug.MixedDataset`
    or :class:`~ganaug.SyntheticDataset` then serves fresh synthetic images each epoch).
    ``lr_schedule``: ``"constant"`` keeps ``lr``; ``"cosine"`` decays it to 0 over the whole schedule
    (Loshchilov & Hutter, 2017), so the returned weights are a converged point rather than one noisy
    Adam iterate. ``progress``: a progress bar over the batches. ``init``: continue training this
    model (e.g. pre-trained on synthetic images) with a fresh optimiser instead of a new one.

    Labels may be class indices or soft labels: float vectors (K,) of class probabilities (e.g. from
    a :class:`~ganaug.MixedDataset` with a ``teacher``); a batch of soft labels is trained with the
    cross-entropy against the probabilities.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    if steps is not None:
        steps = check_int("steps", steps, minimum=1, fix="Pass steps >= 1, or steps=None to train by epochs.")
    if resample_each_epoch and not callable(getattr(data, "resample", None)):
        fail("resample_each_epoch", "a dataset with a resample(epoch) method", type(data).__name__,
             "Pass a MixedDataset/SyntheticDataset, or resample_each_epoch=False.", TypeError)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, 0.0, low_open=True)
    seed = check_int("seed", seed)
    check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")) or len(data) == 0:
        fail("data", "a non-empty dataset of (image, label) items", type(data).__name__,
             "Pass a LabelledImages or another map-style dataset.", TypeError)
    classes = getattr(data, "classes", None)
    if num_classes is None:
        if classes is None:
            fail("num_classes", "the number of classes (the dataset has no `classes` attribute)", None,
                 "Pass num_classes=K.")
        num_classes = len(classes)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    c = _first_item_shape(data)[0]
    device = torch.device(device) if device is not None else default_device()
    if augment is not None and not callable(augment):
        fail("augment", "a callable on image batches (B, C, H, W), or None", type(augment).__name__,
             "Pass e.g. ganaug.DigitAugment(image_size, seed), or None.", TypeError)
    plain = isinstance(data, LabelledImages) and data.transform is None and data.target_transform is None

    # Everything random (init, dropout, shuffling) under a forked, seeded global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        names = classes if classes is not None and len(classes) == num_classes else None
        if init is None:
            model = SmallCNN(c, num_classes, width=width, classes=names).to(device)
        else:
            if not isinstance(init, SmallCNN) or (init.in_channels, init.num_classes) != (c, num_classes):
                fail("init", f"a SmallCNN for {c} channel(s) and {num_classes} classes",
                     type(init).__name__ if not isinstance(init, SmallCNN) else
                     f"a SmallCNN for {init.in_channels} channel(s) and {init.num_classes} classes",
                     "Pass a model trained on data of the same shape and classes, or init=None.")
            model = init.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        shuffle_rng = torch.Generator().manual_seed(seed)
        if plain:  # in-memory tensors: index them directly, no DataLoader overhead
            x_all, y_all = data.images, data.targets
            batches = lambda: (  # noqa: E731
                (x_all[idx], y_all[idx]) for idx in torch.randperm(len(data), generator=shuffle_rng).split(batch_size))
        else:
            loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=shuffle_rng)
            batches = lambda: iter(loader)  # noqa: E731
        per_epoch = -(-len(data) // batch_size) if plain else len(loader)
        total = steps if steps is not None else epochs * per_epoch
        sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * t / total)))
                 if lr_schedule == "cosine" else None)
        bar = tqdm_bar(total, desc="classifier", unit="batch", leave=False) if progress else None
        model.train()
        done, epoch = 0, 0
        while (done < steps) if steps is not None else (epoch < epochs):
            if epoch > 0 and resample_each_epoch:
                data.resample(epoch)
            epoch += 1
            # islice stops before fetching a batch the schedule will not use.
            for x, y in itertools.islice(batches(), None if steps is None else steps - done):
                done += 1
                x, y = x.to(device), torch.as_tensor(y).to(device)
                _check_labels(y, num_classes)
                if augment is not None:
                    x = augment(x)  # (B, C, H, W), the same shape
                loss = nn.functional.cross_entropy(model(x), y)  # y: (B,) indices or (B, K) probabilities
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
    return model.eval()


def _check_labels(y: torch.Tensor, num_classes: int) -> None:
    if y.is_floating_point():  # soft labels (B, K)
        if y.ndim != 2 or y.shape[1] != num_classes:
            fail("data", f"soft labels of shape (batch, {num_classes})", tuple(y.shape),
                 "Give each item a probability vector over the classes, or an integer class index.")
        return
    if int(y.max()) >= num_classes or int(y.min()) < 0:
        fail("data", f"labels in [0, {num_classes - 1}]", int(y.max()), "Pass num_classes matching the labels.")


def predict_proba(model: nn.Module, images: Any, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities (N, K) float32 on CPU for images (N, C, H, W) in [-1, 1] (or a LabelledImages).

    Runs in eval mode on the model's device, in batches of ``batch_size``; the model's mode is restored.
    """
    if isinstance(images, LabelledImages):
        images = images.images
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        fail("images", "a tensor (N, C, H, W) or a LabelledImages",
             tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__,
             "Stack the images into one tensor.", TypeError)
    expected_c = getattr(model, "in_channels", images.shape[1])
    if images.shape[1] != expected_c:
        fail("images", f"{expected_c} channel(s), as the model was trained on", images.shape[1],
             "Pass images of the model's channel count.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(model.parameters(), torch.empty(0)).device  # a parameterless model runs on cpu
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            logits = model(images[start:start + batch_size].to(device))  # (b, K)
            out.append(torch.softmax(logits.float(), dim=1).cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, getattr(model, "num_classes", 0))


def accuracy(model: nn.Module, data: LabelledImages) -> float:
    """Top-1 accuracy of ``model`` on a :class:`~ganaug.LabelledImages` (its transforms unused)."""
    if not isinstance(data, LabelledImages):
        fail("data", "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    pred = predict_proba(model, data.images).argmax(dim=1)
    return float((pred == data.targets).float().mean())
