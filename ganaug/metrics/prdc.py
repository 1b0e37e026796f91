"""Precision / recall (Kynkäänniemi et al. 2019) and density / coverage (Naeem et al. 2020).

All four estimate the real and generated "manifolds" in feature space as unions of balls: around
each sample, a ball reaching its k-th nearest neighbour of the same set.

* precision: share of generated samples inside the real manifold (are they realistic?);
* recall: share of real samples inside the generated manifold (is the variety covered?);
* density: how many real balls contain a generated sample, on average, divided by k (about 1 for
  two samples of the same distribution; above 1 when samples crowd dense real regions);
* coverage: share of real balls (radius: k-th neighbour) that hold at least one generated sample.

A point exactly on a ball's boundary counts as inside (``<=``), so two identical sets score
precision = recall = coverage = 1. Distances are Euclidean, computed in float64 blocks, so memory
stays bounded for tens of thousands of samples. The scores depend on k and on the set sizes:
compare numbers computed with the same k and the same numbers of samples.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int
from ._featurebank import PairedFeatures, as_features, row_chunk


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x (N, D) to its k-th nearest other row, float64 (N,); needs N > k."""
    n = x.shape[0]
    step = row_chunk(n)
    out = []
    for s in range(0, n, step):
        d = torch.cdist(x[s:s + step], x)  # (b, N)
        rows = torch.arange(d.shape[0])
        d[rows, s + rows] = float("inf")  # a sample is not its own neighbour
        out.append(d.kthvalue(k, dim=1).values)
    return torch.cat(out)


def _checked(real: Any, fake: Any, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    k = check_int("k", k, minimum=1)
    fix = f"Pass more than k={k} samples per set (in practice thousands), or lower k."
    x = as_features("real_features", real, min_rows=k + 1, fix=fix)
    y = as_features("fake_features", fake, min_rows=k + 1, dim=x.shape[1], fix=fix)
    return x, y, k


def _scan(real: torch.Tensor, fake: torch.Tensor, real_radii: torch.Tensor,
          fake_radii: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One blocked pass over fake x real distances.

    Returns (per fake sample: number of real balls containing it (M,), per real sample: whether
    some fake sample lies in its ball (N,), per real sample: whether it lies in some fake ball (N,)).
    """
    counts = []
    covered = torch.zeros(real.shape[0], dtype=torch.bool)
    in_fake = torch.zeros(real.shape[0], dtype=torch.bool)
    step = row_chunk(real.shape[0])
    for s in range(0, fake.shape[0], step):
        d = torch.cdist(fake[s:s + step], real)  # (b, N)
        inside = d <= real_radii[None, :]
        counts.append(inside.sum(dim=1))
        covered |= inside.any(dim=0)
        if fake_radii is not None:
            in_fake |= (d <= fake_radii[s:s + step, None]).any(dim=0)
    return torch.cat(counts), covered, in_fake


def precision_recall(real_features: Any, fake_features: Any, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of fake vs real features, k-NN balls."""
    x, y, k = _checked(real_features, fake_features, k)
    counts, _, in_fake = _scan(x, y, knn_radii(x, k), knn_radii(y, k))
    return float((counts > 0).double().mean()), float(in_fake.double().mean())


def density_coverage(real_features: Any, fake_features: Any, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of fake vs real features; balls around real samples only."""
    x, y, k = _checked(real_features, fake_features, k)
    counts, covered, _ = _scan(x, y, knn_radii(x, k), None)
    return float(counts.double().sum() / (k * y.shape[0])), float(covered.double().mean())


class PrecisionRecall(PairedFeatures):
    """Stateful :func:`precision_recall`: ``update(features, real=...)``, ``compute() -> (precision, recall)``.

    k-NN radii need every sample at once, so the features are stored (float64, at most
    ``max_samples`` per set, a seeded uniform subset beyond that; ``None`` keeps all).
    """

    def __init__(self, k: int = 3, max_samples: int | None = None, seed: int = 0):
        super().__init__(max_samples, seed)
        self.k = check_int("k", k, minimum=1)

    def compute(self) -> tuple[float, float]:
        return precision_recall(self.real.tensor(), self.fake.tensor(), self.k)


class DensityCoverage(PairedFeatures):
    """Stateful :func:`density_coverage`: ``update(features, real=...)``, ``compute() -> (density, coverage)``."""

    def __init__(self, k: int = 5, max_samples: int | None = None, seed: int = 0):
        super().__init__(max_samples, seed)
        self.k = check_int("k", k, minimum=1)

    def compute(self) -> tuple[float, float]:
        return density_coverage(self.real.tensor(), self.fake.tensor(), self.k)
