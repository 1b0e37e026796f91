"""Kernel distance between two feature sets (KID, Bińkowski et al. 2018), in float64.

KID is the unbiased estimate of the squared maximum mean discrepancy (MMD^2) with the cubic
polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged over random subsets of both sets. Unlike
FID it is unbiased, so it is close to 0 (and may be slightly negative) for two samples of the same
distribution, whatever the sample size.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_float, check_int
from ._featurebank import PairedFeatures, as_features

_FEW = "KID needs at least 2 samples per set (in practice a few hundred or more)."


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int = 3, gamma: float | None = None,
                  coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between float64 sets x (m, D) and y (n, D) with ``(gamma x.y + coef0)^degree``."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    m, n = x.shape[0], y.shape[0]
    kxx = (gamma * (x @ x.T) + coef0) ** degree  # (m, m)
    kyy = (gamma * (y @ y.T) + coef0) ** degree  # (n, n)
    kxy = (gamma * (x @ y.T) + coef0) ** degree  # (m, n)
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.sum() / (m * n))


def kid(real_features: Any, fake_features: Any, subsets: int = 100, subset_size: int = 1000,
        degree: int = 3, gamma: float | None = None, coef0: float = 1.0, seed: int = 0) -> tuple[float, float]:
    """KID between feature sets (N1, D) and (N2, D): ``(mean, std)`` of MMD^2 over ``subsets`` subsets.

    Each subset draws ``min(subset_size, N1, N2)`` rows of each set without replacement, with a
    numpy generator seeded by ``seed`` (same inputs and seed, same result). ``gamma=None`` means
    ``1 / D``. The std is over subsets (it measures the subset noise, not the generator's).
    """
    x = as_features("real_features", real_features, min_rows=2, fix=_FEW)
    y = as_features("fake_features", fake_features, min_rows=2, dim=x.shape[1], fix=_FEW)
    subsets = check_int("subsets", subsets, minimum=1)
    subset_size = check_int("subset_size", subset_size, minimum=2)
    degree = check_int("degree", degree, minimum=1)
    if gamma is not None:
        gamma = check_float("gamma", gamma, 0.0, low_open=True)
    coef0 = check_float("coef0", coef0)
    seed = check_int("seed", seed)
    m = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        ix = torch.from_numpy(rng.choice(x.shape[0], m, replace=False))
        iy = torch.from_numpy(rng.choice(y.shape[0], m, replace=False))
        values.append(mmd2_unbiased(x[ix], y[iy], degree, gamma, coef0))
    v = np.asarray(values)
    return float(v.mean()), float(v.std(ddof=1) if len(v) > 1 else 0.0)


class KID(PairedFeatures):
    """Stateful KID, torchmetrics-like: ``update(features, real=...)`` then ``compute() -> (mean, std)``.

    Each set keeps at most ``max_samples`` feature rows (a seeded uniform reservoir sample of the
    stream, see :class:`~ganaug._featurebank.FeatureBank`), so memory stays bounded on long streams.
    """

    def __init__(self, subsets: int = 100, subset_size: int = 1000, max_samples: int | None = 10_000,
                 seed: int = 0, degree: int = 3, gamma: float | None = None, coef0: float = 1.0):
        super().__init__(max_samples, seed)
        check_int("subsets", subsets, minimum=1)
        check_int("subset_size", subset_size, minimum=2)
        self.kwargs = dict(subsets=subsets, subset_size=subset_size, degree=degree, gamma=gamma, coef0=coef0,
                           seed=seed)

    def compute(self) -> tuple[float, float]:
        return kid(self.real.tensor(), self.fake.tensor(), **self.kwargs)
