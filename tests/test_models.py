import pytest
import torch

import ganaug
from ganaug.gan.models import build_discriminator, build_generator, default_spec

CLASSES = [str(i) for i in range(3)]


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 11, 9)])
def test_shapes(arch, shape):
    spec = default_spec(arch, shape, CLASSES, z_dim=8, width=4)
    G, D = build_generator(spec), build_discriminator(spec)
    x = G(torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1]))
    assert x.shape == (5, *shape) and x.min() >= -1 and x.max() <= 1
    assert D(x, torch.zeros(5, dtype=torch.long)).shape == (5,)


def test_discriminator_uses_labels():
    spec = default_spec("mlp", (1, 8, 8), CLASSES, width=2)
    D = build_discriminator(spec, spectral_norm=False)
    x = torch.randn(1, 1, 8, 8).repeat(3, 1, 1, 1)
    out = D(x, torch.arange(3))
    assert len(set(out.tolist())) == 3


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_auxiliary_class_head(arch):
    spec = default_spec(arch, (1, 8, 8), CLASSES, width=2)
    D = build_discriminator(spec, mbstd_group=2, aux_classifier=True).eval()  # eval: no power iteration
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    logit, classes = D(x, y, with_class=True)
    assert logit.shape == (4,) and classes.shape == (4, 3)
    assert torch.equal(logit, D(x, y))  # the head does not change the real/fake logit
    twin = build_discriminator(spec, aux_classifier=True, twin_classifier=True).eval()
    logit, classes, twins = twin(x, y, with_class=True)
    assert logit.shape == (4,) and classes.shape == twins.shape == (4, 3)
    assert not torch.equal(classes, twins)  # two heads, not one reported twice
    assert build_discriminator(spec, twin_classifier=True).twin is None  # a twin needs the class head
    plain = build_discriminator(spec)
    assert plain.classify is None
    with pytest.raises(ValueError, match=r"with_class: expected a discriminator built with aux_classifier=True"):
        plain(x, y, with_class=True)


def make_gen(arch="mlp"):
    torch.manual_seed(0)
    return build_generator(default_spec(arch, (1, 8, 8), CLASSES, z_dim=8, width=2))


def test_sample_label_forms_and_determinism():
    G = make_gen("dcgan")
    x, y = G.sample(7, seed=3)
    assert x.shape == (7, 1, 8, 8) and y.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert torch.equal(x, G.sample(7, seed=3)[0])
    assert not torch.allclose(x, G.sample(7, seed=4)[0])
    assert G.sample(4, labels=2)[1].tolist() == [2, 2, 2, 2]
    assert G.sample(3, labels=[2, 0, 1])[1].tolist() == [2, 0, 1]
    assert G.sample(3, labels=torch.tensor([1, 1, 0]))[1].tolist() == [1, 1, 0]
    assert G.training  # sample() restores the mode


@pytest.mark.parametrize("labels, exc, match", [
    (3, ValueError, r"labels: expected class indices in \[0, 2\].*got 3"),
    ([0, -1, 1], ValueError, r"got -1"),
    ([0, 1], ValueError, r"labels: expected 3 labels"),
    ([0.5, 1, 1], TypeError, r"integer class indices"),
    ("abc", TypeError, r"labels: expected"),
])
def test_sample_bad_labels(labels, exc, match):
    with pytest.raises(exc, match=match):
        make_gen().sample(3, labels=labels)


def test_sample_with_truncation(monkeypatch):
    G = make_gen()
    seen = []
    forward = type(G).forward
    monkeypatch.setattr(type(G), "forward", lambda self, z, y: seen.append(z) or forward(self, z, y))
    x, _ = G.sample(200, seed=1, truncation=0.5)
    assert seen[0].abs().max() <= 0.5 and seen[0].std() < 0.35  # N(0, 1) cut at +-0.5: std 0.28
    assert torch.equal(x, G.sample(200, seed=1, truncation=0.5)[0])
    with pytest.raises(ValueError, match=r"truncation: expected a number in \(0.0"):
        G.sample(3, truncation=-1)


def test_sample_bad_n():
    with pytest.raises(ValueError, match=r"n: expected an integer >= 1"):
        make_gen().sample(0)


def test_unknown_arch():
    with pytest.raises(ValueError, match=r"arch: expected one of 'mlp', 'dcgan'.*got 'resnet'"):
        default_spec("resnet", (1, 8, 8), CLASSES)


def test_public_api():
    for name in ganaug.__all__:
        assert hasattr(ganaug, name)
