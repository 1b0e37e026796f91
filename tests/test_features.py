from pathlib import Path

import pytest
import torch

import ganaug.metrics.feature_net as feature_net
from ganaug.data.datasets import fingerprint
from ganaug.data.splits import load_split
from ganaug.metrics.feature_cache import SHIPPED_WEIGHTS, cache_path, default_cache_dir
from ganaug.metrics.feature_net import default_epochs, feature_extractor
from ganaug.metrics.features import extract_features

from conftest import state_equal

FAST = dict(epochs=1, width=4, device="cpu")


@pytest.fixture(scope="module")
def train(digits):
    return load_split("digits", seed=0)[0]


def test_trains_once_then_loads_from_cache(train, tmp_path, monkeypatch):
    model = feature_extractor(train, seed=0, cache_dir=tmp_path, **FAST)
    path = Path(model.cache_file)
    assert path.is_file() and path.parent == tmp_path / "feature_extractors"
    assert path.name == f"digits-{fingerprint(train)}-seed0-e1-w4.pt"
    assert not model.training and not any(p.requires_grad for p in model.parameters())

    def no_training(*args, **kwargs):
        raise AssertionError("should have loaded the cached weights")

    monkeypatch.setattr(feature_net, "train_classifier", no_training)
    cached = feature_extractor(train, seed=0, cache_dir=tmp_path, **FAST)
    assert state_equal(model, cached) and cached.classes == train.classes
    f = extract_features(cached, train.images[:37], batch_size=16)
    assert f.shape == (37, 16) and f.dtype == torch.float32  # 4 * width features
    assert torch.equal(f, extract_features(model, train.images[:37]))


def test_cache_key_depends_on_seed_epochs_and_data(train, tmp_path):
    base = cache_path(train, 0, 1, 4, tmp_path)
    assert base != cache_path(train, 1, 1, 4, tmp_path) != cache_path(train, 0, 2, 4, tmp_path)
    changed = train.subset(range(len(train)))
    changed.images[0, 0, 0, 0] += 0.5
    assert fingerprint(changed) != fingerprint(train)


def test_by_name_and_env_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUG_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    model = feature_extractor("digits", seed=0, **FAST)
    assert Path(model.cache_file).parent == tmp_path / "feature_extractors"
    assert Path(model.cache_file).name.startswith("digits-") and model.epochs == 1
    assert default_epochs(1257) == 23 and default_epochs(60000) == 3


def test_corrupt_cache_is_retrained(train, tmp_path):
    path = cache_path(train, 0, 1, 4, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match=r"ignoring the unreadable cache file"):
        model = feature_extractor(train, seed=0, cache_dir=tmp_path, **FAST)
    assert isinstance(model, torch.nn.Module) and path.stat().st_size > 1000  # rewritten


def test_unwritable_cache_only_warns(train, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match=r"could not write the cache file"):
        model = feature_extractor(train, seed=0, cache_dir=blocker, **FAST)
    assert extract_features(model, train).shape == (len(train), 16)


def test_errors(train):
    with pytest.raises(TypeError, match=r"data: expected a dataset name or path, or the training LabelledImages"):
        feature_extractor(123)
    with pytest.raises(ValueError, match=r"epochs: expected an integer >= 1"):
        feature_extractor(train, epochs=0)
    from ganaug.classify.classifier import SmallCNN

    cnn = SmallCNN(1, 10, width=4)
    with pytest.raises(ValueError, match=r"images: expected 1 channel\(s\), as the feature extractor was trained on"):
        extract_features(cnn, torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match=r"images: expected a tensor \(N, C, H, W\) or a LabelledImages"):
        extract_features(cnn, [0])


def test_shipped_mnist_weights_are_used(mnist_root, tmp_path):
    from ganaug.classify.classifier import accuracy

    train, test = load_split("mnist", root=mnist_root)
    model = feature_extractor(train, seed=0, cache_dir=tmp_path, device="cpu")
    assert Path(model.cache_file).parent == SHIPPED_WEIGHTS  # no training, nothing cached
    assert not (tmp_path / "feature_extractors").exists()
    assert accuracy(model, test.subset(range(2000))) > 0.97
