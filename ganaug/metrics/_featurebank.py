"""Shared input checks for feature-space metrics, and a bounded, seeded store of feature rows."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_int, fail


def as_features(arg: str, x: Any, min_rows: int = 1, dim: int | None = None, fix: str = "") -> torch.Tensor:
    """``x`` (N, D) as a float64 CPU tensor, or a one-sentence ValueError/TypeError naming ``arg``."""
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            fail(arg, "real-valued features", f"dtype {x.dtype}", "Pass float features (N, D).", TypeError)
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        fail(arg, "a tensor or numpy array of features (N, D)", type(x).__name__,
             "Stack the feature vectors into one (N, D) tensor.", TypeError)
    if x.dtype == torch.bool or x.is_complex():
        fail(arg, "real-valued features", f"dtype {x.dtype}", "Pass float features (N, D).", TypeError)
    if x.ndim != 2:
        fail(arg, "features of shape (N, D)", tuple(x.shape),
             "Flatten each sample to one row (x.flatten(1)), or compute features with "
             "ganaug.metrics.extract_features.")
    if x.shape[0] < min_rows:
        fail(arg, f"at least {min_rows} samples", x.shape[0], fix or "Pass more samples.")
    if dim is not None and x.shape[1] != dim:
        fail(arg, f"{dim} features per sample (as in the other set)", x.shape[1],
             "Compute both sets with the same feature extractor.")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        fail(arg, "finite feature values", "NaN or inf", "Check the images and the feature extractor.")
    return x


class FeatureBank:
    """Collects feature rows from a stream of batches, keeping at most ``max_samples`` of them.

    Up to ``max_samples`` every row is kept; beyond that, a uniform random subset of all rows seen
    (reservoir sampling, seeded by ``seed``, so the same stream gives the same subset).
    ``max_samples=None`` keeps everything. Rows are stored in float64.
    """

    def __init__(self, max_samples: int | None = None, seed: int = 0):
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, minimum=1)
        self.seed = check_int("seed", seed)
        self.reset()

    def reset(self) -> None:
        self.n_seen = 0
        self.dim: int | None = None
        self._chunks: list[torch.Tensor] = []
        self._rng = np.random.default_rng(self.seed)

    def update(self, features: Any, arg: str = "features") -> None:
        x = as_features(arg, features, dim=self.dim)  # (B, D) float64
        self.dim = x.shape[1]
        cap = self.max_samples
        kept = sum(c.shape[0] for c in self._chunks)
        if cap is None or kept + x.shape[0] <= cap:
            self._chunks.append(x.clone())
            self.n_seen += x.shape[0]
            return
        take = cap - kept  # fill the reservoir first, then replace at random
        buf = torch.cat(self._chunks + [x[:take]]) if take > 0 else torch.cat(self._chunks)
        rest = x[max(take, 0):]
        seen = self.n_seen + max(take, 0)
        # Row t of the stream (0-based) replaces slot j ~ U{0..t} when j < cap (Algorithm R).
        slots = self._rng.integers(0, np.arange(seen, seen + rest.shape[0]) + 1)
        for row, slot in enumerate(slots.tolist()):
            if slot < cap:
                buf[slot] = rest[row]
        self._chunks = [buf]
        self.n_seen += x.shape[0]

    def tensor(self) -> torch.Tensor:
        """The kept rows, float64 (n, D); (0, 0) before any update."""
        if not self._chunks:
            return torch.zeros(0, 0, dtype=torch.float64)
        if len(self._chunks) > 1:
            self._chunks = [torch.cat(self._chunks)]
        return self._chunks[0]


class PairedFeatures:
    """Base of the stateful metrics: ``update(features, real=True|False)`` feeds one of two banks."""

    def __init__(self, max_samples: int | None = None, seed: int = 0):
        self.real = FeatureBank(max_samples, seed=seed)
        self.fake = FeatureBank(max_samples, seed=check_int("seed", seed) + 1)

    def reset(self) -> None:
        self.real.reset()
        self.fake.reset()

    def update(self, features: Any, real: bool) -> None:
        bank, other = (self.real, self.fake) if real else (self.fake, self.real)
        if bank.dim is None and other.dim is not None:  # both sets must have the same width D
            bank.dim = other.dim
        bank.update(features, "real features" if real else "fake features")


def row_chunk(n_columns: int, budget: int = 1 << 24) -> int:
    """Rows per block so that a (rows, n_columns) float64 distance block stays near ``budget`` entries."""
    return max(1, budget // max(1, n_columns))
