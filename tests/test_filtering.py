import pickle

import pytest
import torch
from torch import nn

import ganaug
from ganaug.gan.checkpoint import CheckpointError
from ganaug.classify.classifier import SmallCNN
from ganaug.synth.filtering import ConfidenceFilter, DiscriminatorFilter, FilterQuotaError, SampleFilter
from ganaug.gan.models import build_generator, default_spec
from ganaug.synth.synthetic import SyntheticDataset

from conftest import tiny_config

CLASSES = ["a", "b", "c", "d"]


def make_gen(classes=CLASSES):
    torch.manual_seed(0)
    return build_generator(default_spec("mlp", (1, 8, 8), classes, z_dim=8, width=2)).eval()


class PixelClassifier(nn.Module):
    """Pseudo-random logits from the first pixels: confident for some samples, not for others."""

    def __init__(self, k=4):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(3.0))
        self.k = k

    def forward(self, x):  # (B, C, H, W) -> (B, K)
        return torch.sin(1000 * x.flatten(1)[:, : self.k]) * self.scale


class Constant(nn.Module):
    """Always very sure of class 0."""

    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([12.0, 0.0, 0.0, 0.0]))

    def forward(self, x):
        return self.logits.expand(x.shape[0], 4)


def test_confidence_filter_keeps_only_confident_samples():
    flt = ConfidenceFilter(PixelClassifier(), threshold=0.3)
    ds = SyntheticDataset(make_gen(), size=400, quality_filter=flt, probe_per_class=64)
    rates = ds.acceptance_rates
    assert list(rates) == CLASSES and all(0.0 < r < 1.0 for r in rates.values())
    items = ds.__getitems__(list(range(400)))
    images = torch.stack([x for x, _ in items])
    labels = torch.tensor([y for _, y in items])
    assert torch.equal(labels, ds.targets)
    assert bool((flt.scores(images, labels) >= 0.3).all())
    observed = ds.observed_acceptance_rates()
    assert all(0.0 < r < 1.0 for r in observed.values())
    assert "probe" in ds.filter_report() and "Acceptance rates (probe)" in repr(ds)
    # Which candidate an item keeps does not depend on what it is generated with: a few scattered
    # items (several candidates each per pass) give the same images as whole blocks.
    again = SyntheticDataset(make_gen(), size=400, quality_filter=flt, probe_per_class=64, cache_mb=1e-6)
    picked = [399, 0, 123, 7]
    assert all(torch.equal(x, images[i]) for (x, _), i in zip(again.__getitems__(picked), picked))
    clone = pickle.loads(pickle.dumps(again))  # what DataLoader workers receive
    assert torch.equal(clone[123][0], images[123]) and clone.acceptance_rates == rates


def test_confidence_filter_keep_fraction_serves_every_class():
    # Constant is sure of class 0 only: a fixed threshold would starve classes b-d, a per-class cut keeps
    # about keep_fraction of each (its scores tie within a class, so every sample reaches the cut).
    flt = ConfidenceFilter(PixelClassifier(), threshold=None, keep_fraction=0.25)
    ds = SyntheticDataset(make_gen(), size=200, quality_filter=flt, probe_per_class=200)
    assert all(0.15 < r < 0.35 for r in ds.acceptance_rates.values())
    assert flt.thresholds.shape == (4,) and "keep_fraction=0.25" in repr(flt)
    items = ds.__getitems__(list(range(200)))
    images, labels = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
    assert bool((flt.scores(images, labels) >= flt.thresholds[labels]).all())
    starving = SyntheticDataset(make_gen(), size=8, quality_filter=ConfidenceFilter(Constant(), threshold=None))
    assert all(r == 1.0 for r in starving.acceptance_rates.values())


def test_classifier_trained_on_real_data(tiny):
    real = ganaug.load_dataset((tiny.images, tiny.targets), classes=CLASSES)
    flt = ConfidenceFilter(real=real, threshold=0.0, epochs=1, width=4)
    assert flt.classes == CLASSES
    ds = SyntheticDataset(make_gen(), size=20, quality_filter=flt, probe_per_class=8)
    assert set(ds.acceptance_rates.values()) == {1.0}
    with pytest.raises(ValueError, match=r"classifier classes: expected the generator's classes \['w'"):
        SyntheticDataset(make_gen(["w", "x", "y", "z"]), size=20, quality_filter=flt)


def test_impossible_quota_is_refused():
    flt = ConfidenceFilter(Constant(), threshold=0.9)
    with pytest.raises(FilterQuotaError, match=r"quality_filter: expected every class to fill its quota.*"
                                               r"acceptance rate of 0.0% for class 'b'.*Lower the filter's threshold"):
        SyntheticDataset(make_gen(), size=40, quality_filter=flt, probe_per_class=16)
    only_a = SyntheticDataset(make_gen(), class_counts={"a": 5}, quality_filter=flt, probe_per_class=16)
    assert only_a.acceptance_rates["a"] == 1.0 and len(only_a) == 5
    assert issubclass(FilterQuotaError, ValueError)


def test_item_running_out_of_tries():
    class Switch(SampleFilter):
        def __init__(self):
            self.score = 1.0

        def prepare(self, generator, images, labels):
            self.thresholds = torch.full((generator.num_classes,), 0.5, dtype=torch.float64)

        def scores(self, images, labels):
            return torch.full((len(labels),), self.score, dtype=torch.float64)

    flt = Switch()
    ds = SyntheticDataset(make_gen(), size=10, quality_filter=flt, max_tries=3, probe_per_class=4)
    flt.score = 0.0  # from now on every candidate is rejected
    with pytest.raises(FilterQuotaError, match=r"quality_filter: expected item \d \(class '[a-d]'\) to pass "
                                               r"within max_tries=3 candidates"):
        ds[0]


def test_discriminator_filter_from_checkpoint(tiny, tmp_path):
    real = ganaug.load_dataset((tiny.images, tiny.targets), classes=CLASSES)
    cfg = tiny_config(minibatch_std=2, aux_weight=0.5, aux_twin=True)  # D with both class heads
    gen, _ = ganaug.fit(real, cfg, out_dir=tmp_path, progress=False)
    flt = DiscriminatorFilter(tmp_path / "checkpoint.pt", keep_fraction=0.5)
    ds = SyntheticDataset(gen, size=64, quality_filter=flt, probe_per_class=40)
    assert all(abs(r - 0.5) <= 0.03 for r in ds.acceptance_rates.values())
    items = ds.__getitems__(list(range(64)))
    images, labels = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
    assert bool((flt.scores(images, labels) >= flt.thresholds[labels]).all())
    # a sample's score does not depend on its batch-mates (minibatch-stddev is per sample)
    assert torch.equal(flt.scores(images[:1], labels[:1]), flt.scores(images, labels)[:1])
    fixed = DiscriminatorFilter(tmp_path / "checkpoint.pt", threshold=-1e9)
    assert set(SyntheticDataset(gen, size=8, quality_filter=fixed, probe_per_class=4).acceptance_rates.values()) == {1.0}
    with pytest.raises(ValueError, match=r"discriminator classes: expected the generator's classes \['w'"):
        SyntheticDataset(make_gen(["w", "x", "y", "z"]), size=8, quality_filter=flt)
    with pytest.raises(CheckpointError, match="expected a file of format ganaug.checkpoint"):
        DiscriminatorFilter(tmp_path / "generator.pt")


def test_bad_filter_arguments():
    with pytest.raises(ValueError, match=r"threshold: expected a number in \[0.0, 1.0\], got 1.5"):
        ConfidenceFilter(PixelClassifier(), threshold=1.5)
    with pytest.raises(ValueError, match="classifier: expected a trained classifier, or real= data"):
        ConfidenceFilter()
    with pytest.raises(TypeError, match="classifier: expected a torch.nn.Module"):
        ConfidenceFilter(lambda x: x)
    with pytest.raises(ValueError, match=r"classifier: expected outputs \(B, 4\)"):
        SyntheticDataset(make_gen(), size=8, quality_filter=ConfidenceFilter(SmallCNN(1, 3, width=2)))
    with pytest.raises(ValueError, match=r"classifier: expected a model accepting the generator's images \(1, 8, 8\)"):
        SyntheticDataset(make_gen(), size=8, quality_filter=ConfidenceFilter(SmallCNN(3, 4, width=2)))
    with pytest.raises(ValueError, match=r"keep_fraction: expected a number in \(0.0, 1.0\]"):
        ConfidenceFilter(PixelClassifier(), threshold=None, keep_fraction=0)
    with pytest.raises(ValueError, match=r"keep_fraction: expected a number in \(0.0, 1.0\]"):
        DiscriminatorFilter(ganaug.gan.models.build_discriminator(make_gen().spec), keep_fraction=0)
    with pytest.raises(TypeError, match="discriminator: expected a training checkpoint path"):
        DiscriminatorFilter(42)
    with pytest.raises(ValueError, match="filter: expected a prepared filter"):
        ConfidenceFilter(PixelClassifier()).accept(torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long))
