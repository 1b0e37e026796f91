"""Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017).

Everything is accumulated and computed in float64. :class:`FID` streams: it keeps only the count,
the sum and the sum of outer products of the features of each set, never the features themselves.
The features normally come from :func:`ganaug.metrics.feature_extractor` (a small CNN trained on
the real data), not from Inception, so the numbers are comparable only between runs that use the
same extractor (same dataset, seed and epochs).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import fail
from ._featurebank import as_features


def _as_matrix(arg: str, x: Any, ndim: int) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor) or x.is_complex() or x.dtype == torch.bool:
        fail(arg, "a real tensor or numpy array", type(x).__name__, "Pass the statistics as float arrays.",
             TypeError)
    if x.ndim != ndim:
        want = "a mean vector (D,)" if ndim == 1 else "a covariance matrix (D, D)"
        fail(arg, want, tuple(x.shape), "Pass mu as (D,) and sigma as (D, D).")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        fail(arg, "finite values", "NaN or inf", "Check the features the statistics came from.")
    return x


def _sqrt_psd(s: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues -> 0)."""
    w, v = torch.linalg.eigh(s)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))`` for two Gaussians, in float64.

    ``(S1 S2)^(1/2)`` is not symmetric, but its trace equals that of ``(A S2 A)^(1/2)`` with
    ``A = S1^(1/2)``, which is symmetric positive semi-definite: two symmetric eigendecompositions,
    no complex ``sqrtm`` and no imaginary round-off. The result is clipped at 0.
    """
    mu1, mu2 = _as_matrix("mu1", mu1, 1), _as_matrix("mu2", mu2, 1)
    sigma1, sigma2 = _as_matrix("sigma1", sigma1, 2), _as_matrix("sigma2", sigma2, 2)
    d = mu1.shape[0]
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if s.shape != (d, d):
            fail(name, f"shape ({d}, {d}) to match mu1", tuple(s.shape), "Pass statistics of the same features.")
        if not torch.allclose(s, s.T, rtol=1e-6, atol=1e-9 * float(s.abs().max().clamp(min=1.0))):
            fail(name, "a symmetric covariance matrix", "an asymmetric matrix", "Pass a covariance matrix.")
    if mu2.shape != (d,):
        fail("mu2", f"shape ({d},) to match mu1", tuple(mu2.shape), "Pass statistics of the same features.")
    a = _sqrt_psd((sigma1 + sigma1.T) / 2)
    m = a @ ((sigma2 + sigma2.T) / 2) @ a
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    diff = mu1 - mu2
    value = float(diff @ diff + sigma1.trace() + sigma2.trace() - 2.0 * tr_sqrt)
    return max(value, 0.0)


class FeatureStats:
    """Streaming mean and covariance of feature rows: count, sum and sum of outer products in float64."""

    def __init__(self, name: str = "features"):
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.total: torch.Tensor | None = None  # (D,)
        self.outer: torch.Tensor | None = None  # (D, D)

    def update(self, features: Any) -> None:
        x = as_features(self.name, features, dim=None if self.total is None else self.total.shape[0])  # (B, D)
        if self.total is None:
            self.total = torch.zeros(x.shape[1], dtype=torch.float64)
            self.outer = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
        self.total += x.sum(dim=0)
        self.outer += x.T @ x
        self.n += x.shape[0]

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean (D,), unbiased covariance (D, D)), float64; needs at least 2 samples."""
        if self.n < 2:
            fail(self.name, "at least 2 samples to estimate a covariance", self.n,
                 "Call update() with more samples before compute().")
        mu = self.total / self.n
        cov = (self.outer - self.n * torch.outer(mu, mu)) / (self.n - 1)
        return mu, (cov + cov.T) / 2


class FID:
    """Stateful Fréchet Inception-style distance, torchmetrics-like.

    ``update(features, real=True|False)`` adds a batch (N, D) to one of the two sets; ``compute()``
    returns the Fréchet distance between the Gaussians fitted to them. Memory does not grow with
    the number of samples (O(D^2) per set).
    """

    def __init__(self):
        self.real = FeatureStats("real features")
        self.fake = FeatureStats("fake features")

    def reset(self) -> None:
        self.real.reset()
        self.fake.reset()

    def update(self, features: Any, real: bool) -> None:
        target, other = (self.real, self.fake) if real else (self.fake, self.real)
        if target.total is None and other.total is not None:  # first batch of this set: same D as the other
            as_features(target.name, features, dim=other.total.shape[0])
        target.update(features)

    def compute(self) -> float:
        mu1, s1 = self.real.mean_cov()
        mu2, s2 = self.fake.mean_cov()
        return frechet_distance(mu1, s1, mu2, s2)


def fid(real_features: Any, fake_features: Any) -> float:
    """Fréchet distance between two feature sets (N1, D) and (N2, D), each with at least 2 rows."""
    metric = FID()
    metric.update(as_features("real_features", real_features, min_rows=2,
                              fix="FID needs at least 2 samples per set (in practice thousands)."), real=True)
    metric.update(as_features("fake_features", fake_features, min_rows=2, dim=metric.real.total.shape[0],
                              fix="FID needs at least 2 samples per set (in practice thousands)."), real=False)
    return metric.compute()
