import pytest
import torch

from ganaug.metrics.cas import classification_accuracy_score, real_data_accuracy
from ganaug.data.datasets import LabelledImages
from ganaug.data.splits import load_split

from replay_generator import ReplayGenerator

FAST = dict(width=8, device="cpu")


@pytest.fixture(scope="module")
def split(digits):
    return load_split("digits", seed=0)


def test_perfect_generator_scores_real_accuracy(split):
    train, test = split
    cas = classification_accuracy_score(ReplayGenerator(train), test, n_per_class=120, epochs=10, seed=0, **FAST)
    real = real_data_accuracy(train, test, epochs=10, seed=0, **FAST)
    assert real["accuracy"] > 0.85
    assert cas["accuracy"] == pytest.approx(real["accuracy"], abs=0.05)
    assert len(cas["per_class_accuracy"]) == 10 and all(0.0 <= a <= 1.0 for a in cas["per_class_accuracy"])
    assert cas["n_per_class"] == 120 and cas["epochs"] == 10 and cas["width"] == 8 and real["n_train"] == len(train)


def test_seeded_and_noise_scores_chance(split):
    train, test = split
    gen = ReplayGenerator(train)
    a = classification_accuracy_score(gen, test, n_per_class=20, epochs=1, seed=3, **FAST)
    assert a == classification_accuracy_score(gen, test, n_per_class=20, epochs=1, seed=3, **FAST)

    class Noise(ReplayGenerator):
        def sample(self, n, labels=None, seed=None):
            _, y = super().sample(n, labels, seed)
            return torch.rand(n, *self.image_shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1, y

    assert classification_accuracy_score(Noise(train), test, n_per_class=20, epochs=2, seed=0, **FAST)["accuracy"] < 0.3


def test_errors(split):
    train, test = split
    gen = ReplayGenerator(train)
    other = LabelledImages(test.images, test.targets, [f"c{i}" for i in range(10)])
    with pytest.raises(ValueError, match=r"test_data: expected the generator's classes \['0', '1'"):
        classification_accuracy_score(gen, other)
    bigger = LabelledImages(torch.zeros(10, 1, 16, 16), torch.arange(10), test.classes)
    with pytest.raises(ValueError, match=r"test_data: expected images of the generator's shape \(1, 8, 8\)"):
        classification_accuracy_score(gen, bigger)
    with pytest.raises(ValueError, match=r"n_per_class: expected an integer >= 1"):
        classification_accuracy_score(gen, test, n_per_class=0)
    with pytest.raises(TypeError, match=r"generator: expected a ganaug generator"):
        classification_accuracy_score(object(), test)
    with pytest.raises(TypeError, match=r"test_data: expected a LabelledImages"):
        classification_accuracy_score(gen, test.images)
    with pytest.raises(ValueError, match=r"epochs: expected an integer >= 1"):
        real_data_accuracy(train, test, epochs=0)
    with pytest.raises(ValueError, match=r"test_data: expected the classes"):
        real_data_accuracy(train, other)
