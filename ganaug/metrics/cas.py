"""Classification Accuracy Score (CAS, Ravuri & Vinyals 2019): train on synthetic, test on real.

A fixed classifier is trained on generated images only and tested on the real test split; its
accuracy (overall and per class) is the score. The same classifier and schedule trained on the real
training split gives the ceiling (:func:`real_data_accuracy`): a generator whose samples are as
useful as real data scores about that.

Classifier and schedule (the defaults): :class:`~ganaug.SmallCNN` of width 32 (five
3x3 conv + batch-norm + ReLU layers, two 2x2 max-pools, global average pool, dropout 0.25, a
linear head), trained by :func:`~ganaug.train_classifier` with Adam (lr 1e-3, default
betas), batch 64, cross-entropy, ``epochs`` epochs over the training images, no augmentation, and a
cosine learning-rate decay to 0 over the whole schedule. The decay matters: with a constant lr the
score is one noisy Adam iterate (on 1,000 real MNIST digits per class x 5 epochs, 0.964 constant
vs 0.989 cosine). Initialisation, dropout and shuffling are seeded by ``seed``; the generated
images are drawn with the same ``seed``.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_choice, check_float, check_int, fail
from ..classify.classifier import LR_SCHEDULES, predict_proba, train_classifier
from ..data.datasets import LabelledImages


def check_generator(generator: Any, data: LabelledImages, arg: str = "test_data") -> None:
    """Fail unless ``generator`` samples images of ``data``'s shape and classes."""
    if not all(hasattr(generator, a) for a in ("sample", "classes", "image_shape")):
        fail("generator", "a ganaug generator (with sample(), classes and image_shape)", type(generator).__name__,
             "Load one with ganaug.load_generator(path) or train one with ganaug.fit(...).", TypeError)
    if not isinstance(data, LabelledImages):
        fail(arg, "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    if list(generator.classes) != data.classes:
        fail(arg, f"the generator's classes {list(generator.classes)}", data.classes,
             "Evaluate on the dataset the generator was trained on.")
    if tuple(generator.image_shape) != data.image_shape:
        fail(arg, f"images of the generator's shape {tuple(generator.image_shape)}", data.image_shape,
             "Evaluate on the dataset the generator was trained on.")


def per_class_accuracy(model: torch.nn.Module, data: LabelledImages) -> tuple[float, list[float | None]]:
    """(overall accuracy, accuracy per class; None for a class without test images)."""
    hit = predict_proba(model, data.images).argmax(dim=1) == data.targets
    per_class = [float(hit[data.targets == c].double().mean()) if bool((data.targets == c).any()) else None
                 for c in range(data.num_classes)]
    return float(hit.double().mean()), per_class


def _schedule(epochs, seed, width, batch_size, lr, lr_schedule) -> dict[str, Any]:
    return {"epochs": check_int("epochs", epochs, minimum=1), "seed": check_int("seed", seed),
            "width": check_int("width", width, minimum=1), "batch_size": check_int("batch_size", batch_size, minimum=1),
            "lr": check_float("lr", lr, 0.0, low_open=True),
            "lr_schedule": check_choice("lr_schedule", lr_schedule, LR_SCHEDULES)}


def classification_accuracy_score(generator: Any, test_data: LabelledImages, n_per_class: int = 1000,
                                  epochs: int = 10, seed: int = 0, *, width: int = 32, batch_size: int = 64,
                                  lr: float = 1e-3, lr_schedule: str = "cosine",
                                  device: str | torch.device | None = None, progress: bool = False) -> dict[str, Any]:
    """CAS: train the classifier on ``n_per_class`` generated images per class, test on ``test_data``.

    Returns ``{"accuracy", "per_class_accuracy" (one per class), "n_per_class", "epochs", "seed",
    "width", "batch_size", "lr", "lr_schedule"}``. The same arguments give the same numbers on CPU.
    """
    check_generator(generator, test_data)
    n_per_class = check_int("n_per_class", n_per_class, minimum=1)
    sched = _schedule(epochs, seed, width, batch_size, lr, lr_schedule)
    labels = torch.arange(test_data.num_classes).repeat_interleave(n_per_class)  # (K * n_per_class,)
    images, y = generator.sample(len(labels), labels=labels, seed=sched["seed"])
    synthetic = LabelledImages(images.detach().cpu().float(), y.detach().cpu().long(), test_data.classes,
                               name="synthetic")
    model = train_classifier(synthetic, sched["epochs"], seed=sched["seed"], device=device,
                             batch_size=sched["batch_size"], lr=sched["lr"], width=sched["width"],
                             lr_schedule=sched["lr_schedule"], progress=progress)
    acc, per_class = per_class_accuracy(model, test_data)
    return {"accuracy": acc, "per_class_accuracy": per_class, "n_per_class": n_per_class, **sched}


def real_data_accuracy(train_data: LabelledImages, test_data: LabelledImages, epochs: int = 10, seed: int = 0, *,
                       width: int = 32, batch_size: int = 64, lr: float = 1e-3, lr_schedule: str = "cosine",
                       device: str | torch.device | None = None, progress: bool = False) -> dict[str, Any]:
    """The CAS ceiling: the same classifier and schedule trained on the real ``train_data``.

    Returns ``{"accuracy", "per_class_accuracy", "n_train", "epochs", "seed", "width", "batch_size", "lr",
    "lr_schedule"}``.
    """
    for name, data in (("train_data", train_data), ("test_data", test_data)):
        if not isinstance(data, LabelledImages):
            fail(name, "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    if train_data.classes != test_data.classes or train_data.image_shape != test_data.image_shape:
        fail("test_data", f"the classes {train_data.classes} and image shape {train_data.image_shape} of train_data",
             (test_data.classes, test_data.image_shape), "Pass two splits of one dataset.")
    sched = _schedule(epochs, seed, width, batch_size, lr, lr_schedule)
    model = train_classifier(train_data, sched["epochs"], seed=sched["seed"], device=device,
                             batch_size=sched["batch_size"], lr=sched["lr"], width=sched["width"],
                             lr_schedule=sched["lr_schedule"], progress=progress)
    acc, per_class = per_class_accuracy(model, test_data)
    return {"accuracy": acc, "per_class_accuracy": per_class, "n_train": len(train_data), **sched}
