import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import ganaug
from ganaug.synth.mixing import MixedBatchSampler, MixedDataset, concat_datasets
from ganaug.gan.models import build_generator, default_spec
from ganaug.synth.synthetic import SyntheticDataset
from ganaug.data.transforms import ToGanaugTensor

CLASSES = ["a", "b", "c", "d"]


def make_gen(shape=(1, 8, 8), classes=CLASSES):
    torch.manual_seed(0)
    return build_generator(default_spec("mlp", shape, classes, z_dim=8, width=2)).eval()


@pytest.fixture
def real(tiny):
    return ganaug.load_dataset((tiny.images, tiny.targets), classes=CLASSES)  # 40 items, 10 per class


@pytest.fixture
def synth():
    return SyntheticDataset(make_gen(), size=1000, seed=0)


class PILDataset(Dataset):
    """A torchvision-style dataset returning PIL images, with its own transform."""

    def __init__(self, data, transform=None):
        self.data, self.transform = data, transform
        self.classes, self.targets = data.classes, data.targets.tolist()

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        image = Image.fromarray(((self.data.images[i, 0] + 1) * 127.5).round().byte().numpy())
        return (self.transform(image) if self.transform else image), self.targets[i]


def test_share_of_each_epoch(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.5)
    assert (mixed.n_real, mixed.n_synthetic, len(mixed)) == (40, 40, 80)
    assert MixedDataset(real, synth, synthetic_share=0.25).n_synthetic == 13
    assert len(MixedDataset(real, synth, synthetic_share=0.0)) == 40
    assert (MixedDataset(real, synth, synthetic_share=1.0).n_real, len(MixedDataset(real, synth, 1.0))) == (0, 1000)
    assert torch.equal(mixed[3][0], real[3][0]) and torch.equal(mixed[45][0], synth[5][0])
    assert mixed.targets.tolist() == real.targets.tolist() + synth.targets[:40].tolist()
    assert "40 real + 40 synthetic" in repr(mixed)
    seen = 0
    for x, y in DataLoader(mixed, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.float32
        seen += len(y)
    assert seen == 80


def test_concatenation(real, synth):
    both = concat_datasets(real, synth)
    assert len(both) == 1040 and both.synthetic_share is None and "concatenation" in repr(both)
    assert torch.equal(both[1039][0], synth[999][0])


def test_batch_sampler_exact_share(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.25)  # 40 real, 13 synthetic
    sampler = MixedBatchSampler(mixed, batch_size=8, synthetic_share=0.5, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 10  # 40 real / 4 per batch
    for b in batches:
        assert len(b) == 8 and sum(i >= 40 for i in b) == 4
    assert sorted(i for b in batches for i in b if i < 40) == list(range(40))  # every real item once
    assert all(40 <= i < 53 for b in batches for i in b if i >= 40)
    again = MixedBatchSampler(mixed, batch_size=8, synthetic_share=0.5, seed=0)
    assert list(again) == batches and list(again) != batches  # seeded; the next pass is a new epoch
    again.set_epoch(0)
    assert list(again) == batches
    loader = DataLoader(mixed, batch_sampler=MixedBatchSampler(mixed, batch_size=8))  # share from mixed: 2 of 8
    x, y = next(iter(loader))
    assert x.shape == (8, 1, 8, 8) and y.shape == (8,)


def test_batch_sampler_last_batch_and_pure_synthetic(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.5)
    batches = list(MixedBatchSampler(mixed, batch_size=12, seed=1))  # 6 real per batch: 7 batches
    assert [len(b) for b in batches] == [12] * 6 + [8]
    assert len(list(MixedBatchSampler(mixed, batch_size=12, drop_last=True))) == 6
    only = MixedDataset(real, synth, synthetic_share=1.0)
    batches = list(MixedBatchSampler(only, batch_size=300))
    assert [len(b) for b in batches] == [300, 300, 300, 100] and sorted(sum(batches, [])) == list(range(1000))


def test_pil_real_dataset_and_transforms(real):
    pil_real = PILDataset(real)
    pil_synth = SyntheticDataset(make_gen(), size=100, output_format="pil")
    mixed = MixedDataset(pil_real, pil_synth, synthetic_share=0.5, transform=ToGanaugTensor())
    x, y = next(iter(DataLoader(mixed, batch_size=80)))
    assert x.shape == (80, 1, 8, 8) and torch.equal(x[:40], real.images)  # PIL round trip is exact
    # Or: the real side converts itself, the synthetic side stays a tensor.
    mixed = MixedDataset(PILDataset(real, transform=ToGanaugTensor()), SyntheticDataset(make_gen(), size=100))
    assert next(iter(DataLoader(mixed, batch_size=80)))[0].shape == (80, 1, 8, 8)
    with pytest.raises(ValueError, match=r"image type: expected synthetic items of the real items' type \(PIL image\)"):
        MixedDataset(pil_real, SyntheticDataset(make_gen(), size=100))


def test_resample_reaches_the_synthetic_side(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.5)
    before = mixed[50][0]
    mixed.resample()
    assert synth.epoch == 1 and not torch.equal(mixed[50][0], before) and torch.equal(mixed[5][0], real[5][0])


def test_mnist_real_dataset(mnist_root):
    import torchvision

    mnist = torchvision.datasets.MNIST(str(mnist_root), train=False, transform=ToGanaugTensor())
    synth = SyntheticDataset(make_gen((1, 28, 28), mnist.classes), size=20_000)
    mixed = MixedDataset(mnist, synth, synthetic_share=2 / 3)
    assert mixed.n_synthetic == 20_000
    x, y = next(iter(DataLoader(mixed, batch_size=64, shuffle=True)))
    assert x.shape == (64, 1, 28, 28) and float(x.min()) >= -1 and float(x.max()) <= 1


@pytest.mark.parametrize("share, exc", [(-0.1, ValueError), (1.5, ValueError), ("half", TypeError)])
def test_bad_share(real, synth, share, exc):
    with pytest.raises(exc, match="synthetic_share: expected"):
        MixedDataset(real, synth, synthetic_share=share)


def test_mismatches(real, synth, tiny):
    other = SyntheticDataset(make_gen(classes=["w", "x", "y", "z"]), size=100)
    with pytest.raises(ValueError, match=r"real dataset classes: expected the generator's classes \['w'"):
        MixedDataset(real, other)
    three = SyntheticDataset(make_gen(classes=["a", "b", "c"]), size=100)
    unnamed = torch.utils.data.TensorDataset(real.images, real.targets)
    unnamed.targets = real.targets
    with pytest.raises(ValueError, match=r"real dataset targets: expected labels in \[0, 2\]"):
        MixedDataset(unnamed, three)
    bigger = SyntheticDataset(make_gen(shape=(1, 10, 10)), size=100)
    with pytest.raises(ValueError, match=r"image shape: expected synthetic items shaped like the real ones \(1, 8, 8\), got \(1, 10, 10\)"):
        MixedDataset(real, bigger)
    with pytest.raises(ValueError, match="synthetic: expected at least 120 items"):
        MixedDataset(real, SyntheticDataset(make_gen(), size=100), synthetic_share=0.75)
    with pytest.raises(TypeError, match="synthetic: expected a SyntheticDataset"):
        MixedDataset(real, real)
    with pytest.raises(TypeError, match="real: expected a map-style dataset"):
        MixedDataset(42, synth)


def test_bad_sampler_arguments(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.5)
    with pytest.raises(ValueError, match="synthetic_share: expected a share that puts real and synthetic"):
        MixedBatchSampler(mixed, batch_size=4, synthetic_share=0.1)
    with pytest.raises(ValueError, match=r"synthetic_share: expected a share in \[0, 1\] \(the dataset is a plain"):
        MixedBatchSampler(concat_datasets(real, synth), batch_size=4)
    with pytest.raises(ValueError, match="batch_size: expected an integer >= 1"):
        MixedBatchSampler(mixed, batch_size=0)
    with pytest.raises(ValueError, match="synthetic_share: expected"):
        MixedBatchSampler(mixed, batch_size=4, synthetic_share=2)
    with pytest.raises(TypeError, match="dataset: expected a MixedDataset"):
        MixedBatchSampler(real, batch_size=4)


class _Uniform(torch.nn.Module):
    """A 'classifier' that answers every image with equal logits: softmax = 1/K."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):  # (B, C, H, W) -> (B, K)
        return torch.zeros(x.shape[0], self.k)


def test_teacher_soft_labels(real, synth):
    mixed = MixedDataset(real, synth, synthetic_share=0.5, teacher=_Uniform(4), teacher_weight=0.4)
    items = mixed.__getitems__([0, 1, len(real), len(real) + 1])
    for (x, y), hard in zip(items[:2], real.targets[:2]):
        assert y.dtype == torch.float32 and torch.equal(y, torch.eye(4)[hard])  # real: one-hot
    for (x, y), hard in zip(items[2:], synth.targets[:2]):
        assert torch.allclose(y, 0.6 * torch.eye(4)[hard] + 0.4 * 0.25)  # synthetic: blended with the teacher
    assert torch.equal(mixed.targets, MixedDataset(real, synth, synthetic_share=0.5).targets)  # still hard
    x, y = next(iter(DataLoader(mixed, batch_size=16, shuffle=True)))
    assert y.shape == (16, 4) and torch.allclose(y.sum(1), torch.ones(16))
    with pytest.raises(TypeError, match="teacher: expected a torch classifier"):
        MixedDataset(real, synth, teacher="model")
    with pytest.raises(ValueError, match=r"teacher_weight: expected a number in \[0.0, 1.0\]"):
        MixedDataset(real, synth, teacher=_Uniform(4), teacher_weight=1.5)
    with pytest.raises(ValueError, match="teacher: expected a classifier with 4 outputs"):
        MixedDataset(real, synth, teacher=_Uniform(3))[len(real)]
    pil = SyntheticDataset(make_gen(), size=1000, seed=0, output_format="pil")
    with pytest.raises(ValueError, match="teacher: expected a SyntheticDataset with output_format='tensor'"):
        MixedDataset(PILDataset(real), pil, teacher=_Uniform(4))
