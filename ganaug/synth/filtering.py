"""Rejection of poor generated samples: by a classifier's confidence, or by the GAN's discriminator.

A filter scores images of known intended classes and keeps those scoring at least a per-class
threshold. :class:`~ganaug.SyntheticDataset` calls :meth:`SampleFilter.prepare` once with
probe samples (to check the filter fits the generator and, for the discriminator, to calibrate the
thresholds), then :meth:`SampleFilter.accept` on every candidate. Scores are computed in fixed-size
blocks, so whether a sample is kept does not depend on the other samples of its batch.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .._blocks import run_in_blocks
from .._checks import check_float, fail
from ..classify.classifier import train_classifier
from ..gan.checkpoint import load_discriminator


class FilterQuotaError(ValueError):
    """A class of a filtered synthetic dataset cannot fill its quota within the allowed tries."""


class SampleFilter:
    """Base class: ``accept(images, labels)`` keeps samples whose score reaches their class's threshold."""

    thresholds: torch.Tensor | None = None  # float64 (num_classes,)

    def prepare(self, generator, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Check the filter against ``generator`` and calibrate it on probe samples (N, C, H, W), (N,)."""
        raise NotImplementedError

    def scores(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Quality score per sample, float64 (N,); higher is better."""
        raise NotImplementedError

    def accept(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Boolean mask (N,): which samples to keep."""
        if self.thresholds is None:
            fail("filter", "a prepared filter", "an unprepared one",
                 "Pass the filter to SyntheticDataset(quality_filter=...), which prepares it.")
        return self.scores(images, labels) >= self.thresholds[labels]

    def _per_class_cuts(self, images, labels, k: int, keep_fraction: float) -> torch.Tensor:
        # Each class's cut keeps the top keep_fraction of its probe scores, so no class starves.
        scores = self.scores(images, labels)
        cuts = torch.full((k,), float("-inf"), dtype=torch.float64)
        for c in range(k):
            s = scores[labels == c]
            if s.numel():
                cuts[c] = torch.quantile(s, 1.0 - keep_fraction)
        return cuts

    @staticmethod
    def _check_classes(what: str, classes, generator) -> None:
        if classes is not None and list(classes) != generator.classes:
            fail(f"{what} classes", f"the generator's classes {generator.classes}", list(classes),
                 f"Use a {what} trained on the same classes as the generator.")


class ConfidenceFilter(SampleFilter):
    """Keep a generated sample only if a classifier gives its intended class probability >= ``threshold``.

    ``threshold=None``: instead calibrate one cut per class on probe samples so that about
    ``keep_fraction`` of each class passes (the most confident ones); no class can starve.

    ``classifier``: a module mapping images (B, C, H, W) in [-1, 1] to logits (B, K) (or to
    probabilities with ``logits=False``), e.g. one from :func:`ganaug.train_classifier`.
    Leave it ``None`` and pass ``real`` (a LabelledImages) to have a :class:`~ganaug.SmallCNN`
    trained on the real data (``epochs``, ``width`` and ``seed`` are passed on). The classifier is
    copied to the generator's device and used in eval mode; the caller's model is left as it is.
    """

    def __init__(self, classifier: nn.Module | None = None, threshold: float | None = 0.8, *, real=None,
                 epochs: int = 5, width: int = 32, seed: int = 0, logits: bool = True, keep_fraction: float = 0.5):
        self.threshold = None if threshold is None else check_float("threshold", threshold, 0.0, 1.0)
        self.keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, low_open=True)
        self.logits = bool(logits)
        if classifier is None:
            if real is None:
                fail("classifier", "a trained classifier, or real= data to train one on", None,
                     "Pass ConfidenceFilter(my_model) or ConfidenceFilter(real=train_data).")
            classifier = train_classifier(real, epochs=epochs, seed=seed, width=width, device="cpu")
        elif not isinstance(classifier, nn.Module):
            fail("classifier", "a torch.nn.Module returning logits (B, K)", type(classifier).__name__,
                 "Wrap your model in an nn.Module, or let ganaug train one with real=...", TypeError)
        self.classifier = copy.deepcopy(classifier).eval().requires_grad_(False)
        self.classes = getattr(self.classifier, "classes", None)

    def prepare(self, generator, images, labels) -> None:
        self._check_classes("classifier", self.classes, generator)
        self.classifier.to(generator.device)
        try:
            out = run_in_blocks(self.classifier, images[:1], device=generator.device)
        except RuntimeError as err:  # e.g. a conv expecting 3 channels fed 1
            fail("classifier", f"a model accepting the generator's images {generator.image_shape}",
                 str(err).splitlines()[0][:100], "Use a classifier trained on images of this shape.")
        if out.ndim != 2 or out.shape[1] != generator.num_classes:
            fail("classifier", f"outputs (B, {generator.num_classes}), one per generator class",
                 tuple(out.shape), "Use a classifier trained on the generator's classes.")
        k = generator.num_classes
        self.thresholds = (torch.full((k,), self.threshold, dtype=torch.float64) if self.threshold is not None
                           else self._per_class_cuts(images, labels, k, self.keep_fraction))

    def scores(self, images, labels) -> torch.Tensor:
        device = next(self.classifier.parameters()).device
        out = run_in_blocks(self.classifier, images, device=device)  # (N, K)
        probs = torch.softmax(out.double(), dim=1) if self.logits else out.double()
        return probs.gather(1, labels[:, None]).squeeze(1)

    def __repr__(self) -> str:
        cut = f"threshold={self.threshold}" if self.threshold is not None else f"keep_fraction={self.keep_fraction}"
        return f"ConfidenceFilter({cut}, classifier={type(self.classifier).__name__})"


class DiscriminatorFilter(SampleFilter):
    """Discriminator rejection: keep samples the GAN's discriminator scores highly (Azadi et al., 2019).

    ``discriminator``: the path of a training checkpoint (``OUT/checkpoint.pt``, which holds D), or a
    :class:`~ganaug.gan.ConditionalDiscriminator`. ``threshold``: a fixed cut on D's logit for
    every class; by default (``None``) each class's cut is calibrated on probe samples so that about
    ``keep_fraction`` of them pass. A minibatch-stddev feature, if D has one, is computed per sample
    (it is 0), so a sample's score does not depend on its batch-mates.
    """

    def __init__(self, discriminator: Any, threshold: float | None = None, keep_fraction: float = 0.5):
        self.spec = None
        if isinstance(discriminator, nn.Module):
            d = copy.deepcopy(discriminator)
        elif isinstance(discriminator, (str, bytes)) or hasattr(discriminator, "__fspath__"):
            d, self.spec = load_discriminator(discriminator)
        else:
            fail("discriminator", "a training checkpoint path or a ConditionalDiscriminator",
                 type(discriminator).__name__, "Pass e.g. 'runs/x/checkpoint.pt'.", TypeError)
        if getattr(d, "mbstd_group", 0):
            d.mbstd_group = 1  # groups of one: the stddev feature is 0 for every sample
        self.discriminator = d.eval().requires_grad_(False)
        self.threshold = None if threshold is None else check_float("threshold", threshold)
        self.keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, low_open=True)

    def prepare(self, generator, images, labels) -> None:
        if self.spec is not None:
            self._check_classes("discriminator", self.spec["classes"], generator)
            if tuple(self.spec["image_shape"]) != generator.image_shape:
                fail("discriminator image shape", f"the generator's {generator.image_shape}",
                     tuple(self.spec["image_shape"]), "Use the checkpoint the generator was trained with.")
        n_out = self.discriminator.embed.num_embeddings if hasattr(self.discriminator, "embed") else None
        if n_out is not None and n_out != generator.num_classes:
            fail("discriminator", f"a discriminator for {generator.num_classes} classes", n_out,
                 "Use the discriminator trained together with this generator.")
        self.discriminator.to(generator.device)
        k = generator.num_classes
        if self.threshold is not None:
            self.thresholds = torch.full((k,), self.threshold, dtype=torch.float64)
            return
        self.thresholds = self._per_class_cuts(images, labels, k, self.keep_fraction)

    def scores(self, images, labels) -> torch.Tensor:
        device = next(self.discriminator.parameters()).device
        return run_in_blocks(self.discriminator, images, labels, device=device).double()  # (N,)

    def __repr__(self) -> str:
        cut = f"threshold={self.threshold}" if self.threshold is not None else f"keep_fraction={self.keep_fraction}"
        return f"DiscriminatorFilter({cut})"

