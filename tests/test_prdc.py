import pytest
import torch

from ganaug.metrics.prdc import DensityCoverage, PrecisionRecall, density_coverage, knn_radii, precision_recall


def cloud(n, d=4, seed=0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_knn_radii_by_hand():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_identical_sets():
    x = cloud(200)
    assert precision_recall(x, x) == (1.0, 1.0)
    density, coverage = density_coverage(x, x, k=5)
    assert coverage == 1.0
    assert density == pytest.approx(6 / 5, abs=0.02)  # each real ball holds itself + its 5 neighbours


def test_same_distribution_high_far_shift_zero():
    x, y = cloud(400, seed=0), cloud(400, seed=1)
    p, r = precision_recall(x, y)
    d, c = density_coverage(x, y)
    assert p > 0.6 and r > 0.6 and 0.7 < d < 1.3 and c > 0.8
    assert precision_recall(x, cloud(400, seed=1, shift=50.0)) == (0.0, 0.0)
    assert density_coverage(x, cloud(400, seed=1, shift=50.0)) == (0.0, 0.0)


def test_collapsed_fakes_have_precision_but_no_recall():
    x = cloud(300)
    collapsed = x[:1].repeat(300, 1) + 1e-3 * cloud(300, seed=2)  # every fake near one real sample
    p, r = precision_recall(x, collapsed)
    _, c = density_coverage(x, collapsed)
    assert p == 1.0 and r < 0.05 and c < 0.1


def test_stateful_matches_functions():
    x, y = cloud(120, seed=3), cloud(90, seed=4)
    pr, dc = PrecisionRecall(k=3), DensityCoverage(k=5)
    for metric in (pr, dc):
        for block in x.split(50):
            metric.update(block, real=True)
        metric.update(y, real=False)
    assert pr.compute() == precision_recall(x, y, k=3)
    assert dc.compute() == density_coverage(x, y, k=5)


def test_errors():
    with pytest.raises(ValueError, match=r"real_features: expected at least 4 samples, got 3.*lower k"):
        precision_recall(cloud(3), cloud(10))
    with pytest.raises(ValueError, match=r"fake_features: expected at least 6 samples, got 5"):
        density_coverage(cloud(10), cloud(5))
    with pytest.raises(ValueError, match=r"fake_features: expected 4 features per sample"):
        precision_recall(cloud(10), cloud(10, d=3))
    with pytest.raises(ValueError, match=r"k: expected an integer >= 1"):
        density_coverage(cloud(10), cloud(10), k=0)
    with pytest.raises(ValueError, match=r"real_features: expected at least 4 samples, got 0"):
        PrecisionRecall().compute()
