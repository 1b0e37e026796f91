import itertools

import numpy as np
import pytest
import torch

from ganaug.metrics.kid import KID, kid, mmd2_unbiased


def brute_mmd2(x, y):
    k = lambda a, b: (a @ b / x.shape[1] + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_mmd_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3)) + 0.3
    assert mmd2_unbiased(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(brute_mmd2(x, y), rel=1e-10)
    mean, std = kid(x, y, subsets=1, subset_size=7)  # one subset holding everything: exactly the MMD
    assert mean == pytest.approx(brute_mmd2(x, y), rel=1e-10) and std == 0.0


def test_same_distribution_near_zero_shift_positive_and_seeded():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    same, _ = kid(x, y, subsets=20, subset_size=200)
    shifted, _ = kid(x, y + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.05 and shifted > 0.5
    assert kid(x, y, subsets=5, subset_size=50, seed=3) == kid(x, y, subsets=5, subset_size=50, seed=3)
    assert kid(x, y, subsets=5, subset_size=50, seed=3) != kid(x, y, subsets=5, subset_size=50, seed=4)


def test_stateful_with_reservoir():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(300, 4, generator=g), torch.randn(300, 4, generator=g)
    metric = KID(subsets=3, subset_size=50)
    for a, b in zip(x.split(70), y.split(70)):
        metric.update(a, real=True)
        metric.update(b, real=False)
    assert metric.compute() == kid(x, y, subsets=3, subset_size=50)  # under max_samples: everything kept
    capped = KID(subsets=3, subset_size=50, max_samples=100, seed=0)
    for a in x.split(70):
        capped.update(a, real=True)
    kept = capped.real.tensor()
    assert kept.shape == (100, 4) and capped.real.n_seen == 300 and kept.dtype == torch.float64
    rows = {tuple(r) for r in x.double().tolist()}
    assert all(tuple(r) in rows for r in kept.tolist()) and len({tuple(r) for r in kept.tolist()}) == 100
    assert bool((kept[:, 0] != x[:100, 0].double()).any())  # later rows made it in


def test_errors():
    with pytest.raises(ValueError, match=r"fake_features: expected at least 2 samples, got 1"):
        kid(torch.randn(5, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"fake_features: expected 3 features per sample"):
        kid(torch.randn(5, 3), torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"subset_size: expected an integer >= 2"):
        kid(torch.randn(5, 3), torch.randn(5, 3), subset_size=1)
    with pytest.raises(TypeError, match=r"subsets: expected an integer"):
        kid(torch.randn(5, 3), torch.randn(5, 3), subsets=2.5)
    with pytest.raises(ValueError, match=r"real_features: expected at least 2 samples, got 0"):
        KID().compute()
