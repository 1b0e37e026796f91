import math

import pytest
import torch

from ganaug.classify.classifier import SmallCNN, accuracy, predict_proba, train_classifier
from ganaug.data.datasets import LabelledImages, train_val_split
from ganaug.gan.models import build_generator, default_spec
from ganaug.synth.synthetic import SyntheticDataset

from conftest import state_equal


@pytest.mark.parametrize("shape, k", [((1, 8, 8), 10), ((3, 64, 64), 2), ((3, 13, 29), 7), ((1, 28, 28), 1)])
def test_any_shape_and_class_count(shape, k):
    model = SmallCNN(shape[0], k, width=4).eval()
    assert model(torch.zeros(2, *shape)).shape == (2, k)


def test_learns_digits(digits):
    train, val = train_val_split(digits, 0.2, seed=0)
    model = train_classifier(train, epochs=2, seed=0, device="cpu", width=8)
    assert not model.training and model.classes == digits.classes
    assert accuracy(model, val) > 0.6  # chance is 0.1


def test_training_is_seeded(tiny):
    torch.manual_seed(5)
    before = torch.get_rng_state()
    model = train_classifier(tiny, epochs=2, seed=0, device="cpu", width=4, batch_size=8)
    assert torch.equal(before, torch.get_rng_state())  # the caller's RNG is untouched
    again = train_classifier(tiny, epochs=2, seed=0, device="cpu", width=4, batch_size=8)
    other = train_classifier(tiny, epochs=2, seed=1, device="cpu", width=4, batch_size=8)
    assert state_equal(model, again) and not state_equal(model, other)


def test_predict_proba(digits):
    model = SmallCNN(1, 10, width=4)
    model.train()
    probs = predict_proba(model, digits.images[:37], batch_size=16)
    assert probs.shape == (37, 10) and torch.allclose(probs.sum(1), torch.ones(37))
    assert model.training  # mode restored
    assert torch.equal(predict_proba(model, digits.subset(range(37))), probs)


def test_trains_through_any_dataset(tiny):
    flipped = LabelledImages(tiny.images, tiny.targets, tiny.classes, transform=lambda x: x.flip(-1))
    model = train_classifier(flipped, epochs=1, device="cpu", width=4, batch_size=8)
    assert model.num_classes == 4
    pairs = torch.utils.data.TensorDataset(tiny.images, tiny.targets)
    assert train_classifier(pairs, epochs=1, device="cpu", width=4, num_classes=4).num_classes == 4


class Counting(torch.utils.data.Dataset):
    """10 items of tiny data; records item fetches and resample(epoch) calls."""

    def __init__(self, data):
        self.data, self.classes, self.fetched, self.epochs = data, data.classes, 0, []

    def __len__(self):
        return 10

    def __getitem__(self, i):
        self.fetched += 1
        return self.data[i]

    def resample(self, epoch):
        self.epochs.append(epoch)


def test_steps_fix_the_schedule_and_resample_each_epoch(tiny):
    ds = Counting(tiny)
    train_classifier(ds, steps=5, batch_size=4, device="cpu", width=2, resample_each_epoch=True)
    # 3 batches per epoch (4 + 4 + 2 items): 5 steps = one full epoch, then 2 batches of the second
    # (+1: item 0 is read once up front to check the image shape).
    assert ds.fetched == 1 + 10 + 8 and ds.epochs == [1]
    plain = Counting(tiny)
    train_classifier(plain, epochs=2, batch_size=4, device="cpu", width=2)
    assert plain.fetched == 1 + 20 and plain.epochs == []
    a = train_classifier(tiny, steps=7, device="cpu", width=2, batch_size=8)
    b = train_classifier(tiny, steps=7, epochs=3, device="cpu", width=2, batch_size=8)  # steps win over epochs
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("kwargs, total", [(dict(epochs=2), 10), (dict(steps=7), 7)])
def test_cosine_schedule_decays_lr_to_zero(tiny, adam_lrs, kwargs, total):
    seen = adam_lrs
    train_classifier(tiny, batch_size=8, device="cpu", width=2, lr=1e-3, **kwargs)  # 5 batches per epoch
    assert seen == [1e-3] * total
    seen.clear()
    train_classifier(tiny, batch_size=8, device="cpu", width=2, lr=1e-3, lr_schedule="cosine", **kwargs)
    expected = [1e-3 * 0.5 * (1 + math.cos(math.pi * t / total)) for t in range(total)]
    assert seen == pytest.approx(expected) and seen[-1] < 0.05e-3


def test_progress_bar_counts_batches(tiny, capsys):
    train_classifier(tiny, epochs=2, batch_size=8, device="cpu", width=2, progress=True)
    err = capsys.readouterr().err
    assert "classifier" in err and "0/10" in err  # 10 batches in all
    train_classifier(tiny, epochs=1, batch_size=8, device="cpu", width=2)
    assert capsys.readouterr().err == ""


def test_bad_input(tiny):
    with pytest.raises(ValueError, match="lr_schedule: expected one of 'constant', 'cosine', got 'step'"):
        train_classifier(tiny, lr_schedule="step")
    with pytest.raises(ValueError, match="steps: expected an integer >= 1, got 0"):
        train_classifier(tiny, steps=0)
    with pytest.raises(TypeError, match="resample_each_epoch: expected a dataset with a resample"):
        train_classifier(tiny, resample_each_epoch=True)
    with pytest.raises(ValueError, match="epochs: expected an integer >= 1, got 0"):
        train_classifier(tiny, epochs=0)
    with pytest.raises(ValueError, match=r"lr: expected a number in \(0.0"):
        train_classifier(tiny, lr=-1)
    pairs = torch.utils.data.TensorDataset(tiny.images, tiny.targets)
    with pytest.raises(ValueError, match="num_classes: expected the number of classes"):
        train_classifier(pairs)
    with pytest.raises(ValueError, match=r"data: expected labels in \[0, 1\]"):
        train_classifier(pairs, num_classes=2, epochs=1, device="cpu", width=2)
    pil = SyntheticDataset(build_generator(default_spec("mlp", (1, 8, 8), ["a", "b"], z_dim=4, width=2)),
                           size=8, output_format="pil")
    with pytest.raises(TypeError, match=r"data: expected items \(image tensor"):
        train_classifier(pil, epochs=1)
    with pytest.raises(ValueError, match="images: expected 1 channel"):
        predict_proba(SmallCNN(1, 4, width=2), torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match=r"images: expected a tensor \(N, C, H, W\)"):
        predict_proba(SmallCNN(1, 4, width=2), [1, 2])
    with pytest.raises(ValueError, match="classes: expected 4 class names"):
        SmallCNN(1, 4, classes=["a"])


def test_soft_labels_train_with_the_probability_cross_entropy(tiny):
    # One-hot soft labels are the hard labels written as probabilities: the same seeded run, the same weights.
    hard = torch.utils.data.TensorDataset(tiny.images, tiny.targets)
    soft = torch.utils.data.TensorDataset(tiny.images, torch.eye(4)[tiny.targets])
    a = train_classifier(hard, num_classes=4, steps=6, batch_size=8, device="cpu", width=2)
    b = train_classifier(soft, num_classes=4, steps=6, batch_size=8, device="cpu", width=2)
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    uniform = torch.utils.data.TensorDataset(tiny.images, torch.full((40, 4), 0.25))
    c = train_classifier(uniform, num_classes=4, steps=6, batch_size=8, device="cpu", width=2)
    assert not torch.allclose(a.head[1].weight, c.head[1].weight)
    with pytest.raises(ValueError, match=r"data: expected soft labels of shape \(batch, 4\)"):
        train_classifier(torch.utils.data.TensorDataset(tiny.images, torch.rand(40, 3)), num_classes=4, steps=1)


def test_init_continues_training_a_given_model(tiny):
    first = train_classifier(tiny, steps=3, batch_size=8, device="cpu", width=2)
    before = {k: v.clone() for k, v in first.state_dict().items()}
    again = train_classifier(tiny, steps=3, batch_size=8, device="cpu", width=2, init=first)
    assert again is first and not torch.equal(before["head.1.weight"], again.head[1].weight)
    fresh = train_classifier(tiny, steps=3, batch_size=8, device="cpu", width=2)
    assert not torch.equal(fresh.head[1].weight, again.head[1].weight)  # not a new model from scratch
    with pytest.raises(ValueError, match="init: expected a SmallCNN for 1 channel\\(s\\) and 4 classes"):
        train_classifier(tiny, steps=1, init=SmallCNN(1, 3, width=2))
    with pytest.raises(ValueError, match="init: expected a SmallCNN"):
        train_classifier(tiny, steps=1, init=torch.nn.Linear(2, 2))


def test_clf_steps_for_is_40_epochs_within_3000_and_12000_batches():
    from ganaug.classify.classifier import clf_steps_for

    assert clf_steps_for(100) == 3000 and clf_steps_for(5000) == 3125 and clf_steps_for(59_000) == 12_000
    assert clf_steps_for(5000, batch_size=32) == 6250
    assert clf_steps_for(5000, epochs=20, min_steps=100, max_steps=1000) == 1000
