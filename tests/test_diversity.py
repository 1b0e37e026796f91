import pytest
import torch

from ganaug.metrics.diversity import diversity_ratio, intra_class_diversity


def test_intra_class_diversity_by_hand():
    x = torch.zeros(4, 1, 1, 2)
    x[1, 0, 0, 0] = 3.0
    x[1, 0, 0, 1] = 4.0  # distance 5 from image 0 (class 0)
    labels = torch.tensor([0, 0, 1, 2])
    out = intra_class_diversity(x, labels, 3)
    assert out.dtype == torch.float64 and out[0].item() == pytest.approx(5.0)
    assert torch.isnan(out[1]) and torch.isnan(out[2])


def test_ratio_of_identical_sets_is_one():
    x, y = torch.randn(30, 1, 8, 8), torch.arange(30) % 3
    assert torch.allclose(diversity_ratio(x, y, x, y, 3), torch.ones(3, dtype=torch.float64))


def test_mismatched_inputs():
    with pytest.raises(ValueError, match=r"images/labels: expected images \(N, C, H, W\) and labels"):
        intra_class_diversity(torch.zeros(3, 1, 8, 8), torch.zeros(2, dtype=torch.long), 2)
