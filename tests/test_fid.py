import numpy as np
import pytest
import torch
from scipy import linalg

from ganaug.metrics.fid import FID, FeatureStats, fid, frechet_distance


def scipy_frechet(mu1, s1, mu2, s2):
    covmean = linalg.sqrtm(s1 @ s2).real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [1, 3, 16])
def test_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2, s1, s2 = rng.standard_normal(d), rng.standard_normal(d), spd(rng, d), spd(rng, d)
    ours = frechet_distance(mu1, s1, torch.from_numpy(mu2), torch.from_numpy(s2))  # numpy and torch accepted
    assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-8, abs=1e-9)


def test_rank_deficient_covariances_match_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 8)), rng.standard_normal((6, 8)) + 0.5  # fewer samples than dimensions
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    ours = frechet_distance(x.mean(0), s1, y.mean(0), s2)
    assert ours == pytest.approx(scipy_frechet(x.mean(0), s1, y.mean(0), s2), rel=1e-5, abs=1e-6)


def test_fid_against_itself_is_zero_and_shift_is_positive():
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = torch.full((8,), 0.5)
    assert fid(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)  # same covariance
    assert fid(x, 2 * x) > 1.0


def test_streaming_equals_one_shot_and_numpy_cov():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(200, 6, generator=g) * 3 + 1, torch.randn(150, 6, generator=g)
    metric = FID()
    for block in x.split(37):
        metric.update(block, real=True)
    for block in y.float().split(64):
        metric.update(block, real=False)
    assert metric.compute() == pytest.approx(fid(x, y), rel=1e-10)
    mu, cov = metric.real.mean_cov()
    assert mu.dtype == torch.float64 and np.allclose(cov.numpy(), np.cov(x.numpy(), rowvar=False))
    metric.reset()
    assert metric.real.n == 0 and metric.fake.n == 0


def test_errors():
    with pytest.raises(ValueError, match=r"real_features: expected at least 2 samples, got 1"):
        fid(torch.zeros(1, 4), torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"fake_features: expected 4 features per sample .*got 3"):
        fid(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"real_features: expected features of shape \(N, D\)"):
        fid(torch.zeros(5, 1, 2, 2), torch.zeros(5, 4))
    with pytest.raises(TypeError, match=r"real_features: expected a tensor or numpy array"):
        fid([[0.0, 1.0]], torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"fake_features: expected finite feature values"):
        fid(torch.randn(5, 2), torch.tensor([[0.0, float("nan")]] * 3))
    with pytest.raises(ValueError, match=r"sigma2: expected shape \(3, 3\) to match mu1"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"mu2: expected shape \(3,\) to match mu1"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match=r"sigma1: expected a symmetric covariance matrix"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"sigma1: expected a covariance matrix \(D, D\)"):
        frechet_distance(np.zeros(2), np.zeros(2), np.zeros(2), np.eye(2))
    metric = FID()
    metric.update(torch.randn(4, 3), real=True)
    with pytest.raises(ValueError, match=r"fake features: expected 3 features per sample"):
        metric.update(torch.randn(4, 5), real=False)
    with pytest.raises(ValueError, match=r"fake features: expected at least 2 samples to estimate a covariance"):
        metric.compute()
    with pytest.raises(ValueError, match=r"train: expected at least 2 samples"):
        FeatureStats("train").mean_cov()
