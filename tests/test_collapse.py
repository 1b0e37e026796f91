import pytest
import torch

from ganaug.metrics.collapse import mode_collapse_report, nearest_real_distance
from ganaug.data.datasets import train_val_split


def test_nearest_real_distance_by_hand():
    real = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    samples = torch.tensor([[0.0, 0.0], [3.0, 5.0], [0.6, 0.8]])
    out = nearest_real_distance(samples, real)
    assert out.dtype == torch.float64 and torch.allclose(out, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))
    images = torch.zeros(2, 1, 2, 2)
    images[1, 0, 0, 0] = 2.0
    assert nearest_real_distance(images, images[:1]).tolist() == [0.0, 2.0]  # images are flattened


@pytest.fixture(scope="module")
def split(digits):
    return train_val_split(digits, 0.3, seed=0)


def test_real_test_images_look_healthy(split):
    train, test = split
    report = mode_collapse_report(test.images, test.targets, train, test)
    assert report["collapsed_classes"] == [] and report["copying_classes"] == []
    row = report["per_class"][0]
    assert row["diversity_ratio"] == pytest.approx(1.0) and row["nearest_ratio"] == pytest.approx(1.0)
    assert row["near_copy_fraction"] < 0.1 and row["class"] == "0"


def test_flags_collapse_and_copying(split):
    train, test = split
    fake, y = train.images.clone(), train.targets.clone()  # a generator replaying its training set...
    three = y == 3
    fake[three] = fake[three][:1]  # ...except class 3, which always draws the same image
    report = mode_collapse_report(fake, y, train, test)
    rows = {r["class"]: r for r in report["per_class"]}
    assert report["collapsed_classes"] == ["3"]
    assert rows["3"]["diversity_generated"] < 1e-6
    assert set(report["copying_classes"]) == {c for c in train.classes}  # copies sit at distance 0
    assert rows["5"]["nearest_train_generated"] < 1e-6 and rows["5"]["near_copy_fraction"] == 1.0


def test_missing_class_gives_none(split):
    train, test = split
    keep = train.targets != 7
    report = mode_collapse_report(train.images[keep][:300] + 0.1, train.targets[keep][:300], train, test)
    row = report["per_class"][7]
    assert row["n_generated"] == 0 and row["diversity_ratio"] is None and row["nearest_ratio"] is None
    assert not row["collapsed"] and not row["copying"]


def test_errors(split):
    train, test = split
    with pytest.raises(ValueError, match=r"real: expected 64 values per sample \(as the other set\), got 4"):
        nearest_real_distance(torch.zeros(3, 64), torch.zeros(3, 4))
    with pytest.raises(TypeError, match=r"samples: expected a non-empty tensor"):
        nearest_real_distance([[0.0]], torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"fake: expected generated images \(N, 1, 8, 8\)"):
        mode_collapse_report(torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), train, test)
    with pytest.raises(ValueError, match=r"fake_labels: expected a tensor of 4 labels"):
        mode_collapse_report(torch.zeros(4, 1, 8, 8), torch.zeros(3, dtype=torch.long), train, test)
    with pytest.raises(ValueError, match=r"fake_labels: expected class indices in \[0, 9\]"):
        mode_collapse_report(torch.zeros(4, 1, 8, 8), torch.full((4,), 10), train, test)
    with pytest.raises(TypeError, match=r"train: expected a LabelledImages"):
        mode_collapse_report(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), train.images, test)
