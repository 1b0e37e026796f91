import numpy as np
import pytest
import torch

import ganaug
from ganaug.data.datasets import from_arrays


def test_digits_default_is_normalised(digits):
    assert len(digits) == 1797 and digits.image_shape == (1, 8, 8)
    assert digits.images.dtype == torch.float32
    assert float(digits.images.min()) == -1.0 and float(digits.images.max()) == 1.0
    assert digits.classes == [str(i) for i in range(10)]
    image, target = digits[5]
    assert image.shape == (1, 8, 8) and isinstance(target, int) and target == int(digits.targets[5])
    assert "Number of datapoints: 1797" in repr(digits)


def test_transforms_are_applied(digits):
    ds = ganaug.LabelledImages(digits.images, digits.targets, digits.classes,
                               transform=lambda x: x * 0, target_transform=lambda t: t + 100)
    image, target = ds[3]
    assert float(image.abs().sum()) == 0 and target == int(digits.targets[3]) + 100


def test_layouts_and_ranges():
    x = np.zeros((6, 10, 12, 3), dtype=np.uint8)
    x[0, 0, 0, 0] = 255
    data = ganaug.load_dataset((x, [0, 1, 2, 0, 1, 2]))
    assert data.image_shape == (3, 10, 12)
    assert float(data.images.max()) == 1.0 and float(data.images.min()) == -1.0
    flat01 = torch.rand(4, 9, 9)
    assert torch.allclose(from_arrays(flat01, [0, 1, 0, 1]).images[:, 0], flat01 * 2 - 1)
    custom = from_arrays(np.full((2, 8, 8), 8.0), [0, 1], value_range=(0, 16))
    assert torch.all(custom.images == 0)


def test_mnist_loads_from_root(mnist_root):
    data = ganaug.load_dataset("mnist", root=mnist_root, train=False)
    assert len(data) == 10000 and data.image_shape == (1, 28, 28) and data.num_classes == 10


def test_missing_mnist_error_names_fix(tmp_path):
    with pytest.raises(ganaug.DatasetNotFoundError, match=r"looked for .*MNIST.*download=True.*root"):
        ganaug.load_dataset("mnist", root=tmp_path)


def test_image_folder(tmp_path):
    from PIL import Image

    for name, value in (("cat", 0), ("dog", 200)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), value + i, dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    data = ganaug.load_dataset(tmp_path)
    assert data.classes == ["cat", "dog"] and data.image_shape == (1, 8, 8)
    assert data.class_counts() == [3, 3]


def test_torchvision_style_dataset():
    from PIL import Image

    items = [(Image.fromarray(np.full((8, 8), i * 20, dtype=np.uint8)), i % 2) for i in range(6)]

    class DS:
        classes = ["a", "b"]

        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    data = ganaug.load_dataset(DS())
    assert data.classes == ["a", "b"] and len(data) == 6 and data.image_shape == (1, 8, 8)


def test_stratified_subset_is_exact_and_seeded(digits):
    a = ganaug.stratified_subset(digits, 7, seed=1)
    b = ganaug.stratified_subset(digits, 7, seed=1)
    c = ganaug.stratified_subset(digits, 7, seed=2)
    assert a.class_counts() == [7] * 10
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert len(ganaug.load_dataset("digits", n_per_class=3)) == 30


def test_train_val_split_stratified_and_seeded(digits):
    tr, va = ganaug.train_val_split(digits, 0.2, seed=0)
    tr2, va2 = ganaug.train_val_split(digits, 0.2, seed=0)
    assert len(tr) + len(va) == len(digits) and abs(len(va) - 359) <= 1
    assert torch.equal(va.targets, va2.targets) and torch.equal(tr.images, tr2.images)
    assert min(va.class_counts()) >= 30


@pytest.mark.parametrize("images, labels, exc, match", [
    (np.zeros((4, 5)), [0, 1, 0, 1], ValueError, r"images: expected shape"),
    (np.zeros((4, 2, 8, 8)), [0, 1, 0, 1], ValueError, r"images: expected shape"),
    (np.zeros((4, 4, 4)), [0, 1, 0, 1], ValueError, r"between 8 and 64"),
    (np.array([["a"] * 64] * 2).reshape(2, 8, 8), [0, 1], TypeError, r"images: expected a numeric array"),
    ([[0.0]], [0], TypeError, r"images: expected a numpy array or torch tensor"),
    (np.full((2, 8, 8), np.nan), [0, 1], ValueError, r"finite pixel values.*NaN"),
    (np.full((2, 8, 8), np.inf), [0, 1], ValueError, r"finite pixel values"),
    (np.zeros((2, 8, 8)), [0.5, 1.0], TypeError, r"labels: expected integer class indices"),
    (np.zeros((2, 8, 8)), [0, -1], ValueError, r"labels: expected non-negative"),
    (np.zeros((3, 8, 8)), [0, 1], ValueError, r"labels: expected a 1-D array of 3 labels"),
    (np.zeros((3, 8, 8)), [0, 2, 2], ValueError, r"no samples for class\(es\) \[1\]"),
])
def test_bad_arrays(images, labels, exc, match):
    with pytest.raises(exc, match=match):
        ganaug.load_dataset((images, labels))


def test_bad_range_and_classes():
    with pytest.raises(ValueError, match=r"inside value_range"):
        from_arrays(np.full((2, 8, 8), 20.0), [0, 1], value_range=(0, 16))
    with pytest.raises(ValueError, match=r"one class name per label"):
        from_arrays(np.zeros((2, 8, 8)), [0, 2], classes=["a", "b"])


def test_bad_subset_and_source(digits, tmp_path):
    with pytest.raises(ValueError, match=r"n_per_class: expected at most 174"):
        ganaug.stratified_subset(digits, 1000)
    with pytest.raises(ValueError, match=r"n_per_class: expected an integer >= 1"):
        ganaug.stratified_subset(digits, 0)
    with pytest.raises(ValueError, match=r"val_fraction"):
        ganaug.train_val_split(digits, 1.0)
    with pytest.raises(ganaug.DatasetNotFoundError, match=r"neither a known dataset name"):
        ganaug.load_dataset(str(tmp_path / "nope"))
    with pytest.raises(TypeError, match=r"source: expected"):
        ganaug.load_dataset(42)


def test_long_tail_counts_follow_the_exponential_profile():
    from ganaug.data.datasets import long_tail_counts

    assert long_tail_counts(10, 10, 500) == [500, 387, 300, 232, 180, 139, 108, 83, 65, 50]
    assert long_tail_counts(10, 100, 500) == [500, 300, 180, 108, 65, 39, 23, 14, 8, 5]
    assert long_tail_counts(3, 1, 7) == [7, 7, 7]


def test_long_tailed_subset_is_exact_and_seeded(digits):
    a = ganaug.long_tailed_subset(digits, 10, 100, seed=1)
    b = ganaug.long_tailed_subset(digits, 10, 100, seed=1)
    c = ganaug.long_tailed_subset(digits, 10, 100, seed=2)
    assert a.class_counts() == [100, 77, 60, 46, 36, 28, 22, 17, 13, 10]
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert a.classes == digits.classes


def test_stratified_subset_unchanged_by_the_shared_draw(digits):
    # stratified_subset and long_tailed_subset share one per-class draw: equal counts must match.
    a = ganaug.stratified_subset(digits, 9, seed=3)
    b = ganaug.long_tailed_subset(digits, 1, 9, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets)


@pytest.mark.parametrize("args, exc, match", [
    ((10, 200), ValueError, r"n_max: expected a long tail that fits the data \(class '0' has only 178 images, "
                            r"the tail asks for 200\), got 200\. Lower n_max"),
    ((0.5, 100), ValueError, r"ratio: expected a number in \[1.0, inf\], got 0.5\. Pass the imbalance ratio"),
    ((300, 100), ValueError, r"ratio: expected a ratio below 200 with n_max=100.*got 300.0\. Lower the ratio"),
    ((10, 0), ValueError, r"n_max: expected an integer >= 1, got 0"),
    ((10, 2.5), TypeError, r"n_max: expected an integer, got 2.5"),
    (("10", 100), TypeError, r"ratio: expected a number, got '10'"),
])
def test_bad_long_tail(digits, args, exc, match):
    with pytest.raises(exc, match=match):
        ganaug.long_tailed_subset(digits, *args)


def test_long_tail_needs_two_classes():
    one_class = from_arrays(np.zeros((4, 8, 8)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"num_classes: expected an integer >= 2, got 1\. A long tail needs"):
        ganaug.long_tailed_subset(one_class, 10, 2)
