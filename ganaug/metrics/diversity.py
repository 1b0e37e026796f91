"""Sample-quality metrics. Pure functions plus small stateful accumulators (float64)."""
from __future__ import annotations

import torch

from .._checks import fail


def intra_class_diversity(images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                          max_per_class: int = 500) -> torch.Tensor:
    """Mean pairwise L2 distance between images of the same class, per class: float64 (num_classes,).

    A generator that ignores its noise (mode collapse) draws near-identical images per class and scores
    close to 0; compare against the same number for real images. Classes with fewer than 2 images get NaN.
    """
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        fail("images/labels", "images (N, C, H, W) and labels (N,) of the same length",
             (tuple(images.shape), tuple(labels.shape)), "Pass one label per image.")
    out = torch.full((num_classes,), float("nan"), dtype=torch.float64)
    flat = images.detach().flatten(1).to(torch.float64).cpu()  # (N, D)
    labels = labels.detach().cpu()
    for c in range(num_classes):
        x = flat[labels == c][:max_per_class]  # (n_c, D)
        if x.shape[0] >= 2:
            d = torch.cdist(x, x)  # (n_c, n_c), zero diagonal
            out[c] = d.sum() / (x.shape[0] * (x.shape[0] - 1))
    return out


def diversity_ratio(fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor,
                    real_labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class intra-class diversity of generated images divided by that of real images (float64).

    About 1 means generated classes vary as much as the real ones; well below 1 means mode collapse.
    """
    return (intra_class_diversity(fake, fake_labels, num_classes)
            / intra_class_diversity(real, real_labels, num_classes))
