import torch

import ganaug.data.splits as splits
from ganaug.data.splits import load_split


def test_load_split_digits_is_seeded_70_30(digits):
    train, test = load_split("digits", seed=0)
    assert len(train) + len(test) == len(digits) and len(test) == round(0.3 * len(digits))
    again, _ = load_split("digits", seed=0)
    other, _ = load_split("digits", seed=1)
    assert torch.equal(train.images, again.images) and not torch.equal(train.images, other.images)


def test_load_split_mnist_is_official(monkeypatch, digits):
    calls = []

    def fake_load(source, root=None, train=True, download=False):
        calls.append((source, root, train, download))
        return digits

    monkeypatch.setattr(splits, "load_dataset", fake_load)
    assert load_split("MNIST", root="r") == (digits, digits)
    assert calls == [("MNIST", "r", True, False), ("MNIST", "r", False, False)]  # no re-split of either part
