import dataclasses
import importlib.util
import pickle
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("imblearn")

import imblearn.utils.estimator_checks as imblearn_checks  # noqa: E402
from imblearn.pipeline import Pipeline  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

from ganaug.synth.filtering import ConfidenceFilter  # noqa: E402
from ganaug.synth.oversampling import GANOversampler, default_config  # noqa: E402

from conftest import tiny_config  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# What GANOversampler says when X's rows cannot be images of 8..64 pixels a side.
NOT_IMAGES = r"image_shape: expected the shape of one image|pixels high and wide"


def tiny(**kw):
    return GANOversampler(**{"config": tiny_config(), "random_state": 0, **kw})


@pytest.fixture(scope="module")
def flat_digits():
    """Flat digits rows (64 features, floats 0..16), classes 0/1/2 with 30/10/5 rows."""
    X, y = load_digits(return_X_y=True)
    idx = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in ((0, 30), (1, 10), (2, 5))])
    return X[idx], y[idx]


def images(n_per_class=(12, 4), shape=(8, 8), dtype=np.uint8, seed=0):
    g = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = g.integers(0, 256, size=(len(y), *shape)).astype(dtype)
    return X, y


# ---- behaviour
def test_flat_digits_balanced_in_range(flat_digits):
    X, y = flat_digits
    sampler = tiny(image_shape=(8, 8))
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 30, 1: 30, 2: 30}
    assert X_res.shape == (90, 64) and X_res.dtype == X.dtype and y_res.dtype == y.dtype
    np.testing.assert_array_equal(X_res[: len(X)], X)  # originals first, unchanged
    assert X_res.min() >= 0.0 and X_res.max() <= 16.0  # inferred value_range: X's min/max
    np.testing.assert_array_equal(y_res[len(y):], [1] * 20 + [2] * 25)  # grouped by class
    assert sampler.sampling_strategy_ == {1: 20, 2: 25}
    assert sampler.value_range_ == (0.0, 16.0) and sampler.image_shape_ == (1, 8, 8)
    assert sampler.n_features_in_ == 64 and list(sampler.classes_) == [0, 1, 2]
    assert sampler.generator_.classes == ["0", "1", "2"] and len(sampler.history_) == 3
    # image_shape=None infers 8x8 from 64 features
    X_auto, _ = tiny().fit_resample(X, y)
    np.testing.assert_array_equal(X_auto, X_res)


def test_string_labels_dict_and_float_strategies(flat_digits):
    X, y = flat_digits
    names = np.array(["zero", "one", "two"])[y]
    X_res, y_res = tiny(sampling_strategy={"two": 12}).fit_resample(X, names)
    assert y_res.dtype == names.dtype and Counter(y_res.tolist()) == {"zero": 30, "one": 10, "two": 12}
    assert X_res.shape == (52, 64)
    binary = y[y != 2]
    _, y_bin = tiny(sampling_strategy=0.5).fit_resample(X[y != 2], binary)
    assert Counter(y_bin.tolist()) == {0: 30, 1: 15}
    _, y_all = tiny(sampling_strategy="minority").fit_resample(X, y)
    assert Counter(y_all.tolist()) == {0: 30, 1: 10, 2: 30}


@pytest.mark.parametrize("shape", [(8, 8), (1, 8, 8), (8, 10, 3), (3, 8, 8)])
def test_uint8_images_keep_layout_and_dtype(shape):
    X, y = images(shape=shape)
    X_res, y_res = tiny().fit_resample(X, y)
    assert X_res.shape == (24, *shape) and X_res.dtype == np.uint8
    np.testing.assert_array_equal(X_res[:16], X)
    assert Counter(y_res.tolist()) == {0: 12, 1: 12}


def test_flat_rgb_rows_and_float32_range():
    X, y = images(shape=(8, 8, 3), dtype=np.float32)
    X = X.reshape(len(X), -1) / 255.0 * 2 - 1  # flat float32 rows in about [-1, 1]
    X = X.astype(np.float32)
    sampler = tiny(image_shape=(8, 8, 3))
    X_res, _ = sampler.fit_resample(X, y)
    assert X_res.shape == (24, 192) and X_res.dtype == np.float32
    lo, hi = sampler.value_range_
    assert sampler.image_shape_ == (3, 8, 8) and X_res.min() >= lo and X_res.max() <= hi
    X_int, _ = tiny(image_shape=(8, 8, 3), value_range=(0, 255)).fit_resample((X * 100).clip(0).astype(np.int16), y)
    assert X_int.dtype == np.int16 and X_int.min() >= 0 and X_int.max() <= 255


def test_random_state_reproducible_and_list_input(flat_digits):
    X, y = flat_digits
    a, _ = tiny().fit_resample(X, y)
    b, _ = tiny().fit_resample(X, y)
    c, _ = tiny(random_state=1).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    X_list, y_list = tiny().fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and isinstance(y_list, list)
    np.testing.assert_allclose(np.array(X_list), a)


def test_nothing_to_generate_trains_nothing():
    X, y = images(n_per_class=(8, 8))
    sampler = tiny()
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    assert sampler.generator_ is None and set(sampler.sampling_strategy_.values()) == {0}


def test_params_clone_and_no_mutation(flat_digits):
    X, y = flat_digits
    cfg = tiny_config()
    sampler = GANOversampler(config=cfg, image_shape=(8, 8), random_state=0)
    params = sampler.get_params()
    assert params["config"] is cfg and params["image_shape"] == (8, 8) and params["sampling_strategy"] == "auto"
    twin = clone(sampler)
    assert twin.get_params()["config"] == cfg and not hasattr(twin, "generator_")
    before = dataclasses.asdict(cfg)
    sampler.fit_resample(X, y)
    assert dataclasses.asdict(cfg) == before  # seed / batch_size are set on a copy
    assert sampler.set_params(sampling_strategy="all", progress=True) is sampler
    assert sampler.get_params()["sampling_strategy"] == "all"
    restored = pickle.loads(pickle.dumps(sampler))
    for net in (sampler.generator_, restored.generator_):
        images_, _ = net.sample(4, labels=1, seed=3)
        assert images_.shape == (4, 1, 8, 8)
    assert torch.equal(sampler.generator_.sample(4, seed=3)[0], restored.generator_.sample(4, seed=3)[0])


def test_fit_checks_without_training(flat_digits):
    X, y = flat_digits
    sampler = tiny()
    assert sampler.fit(X, y) is sampler
    assert sampler.sampling_strategy_ == {1: 20, 2: 25} and sampler.image_shape_ == (1, 8, 8)
    assert not hasattr(sampler, "generator_")
    with pytest.raises(ValueError, match=NOT_IMAGES):
        tiny().fit(X[:, :20], y)


def test_pipeline_with_sklearn_classifier(flat_digits):
    X, y = flat_digits
    pipe = Pipeline([("gan", tiny(image_shape=(8, 8))), ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    assert dict(pipe.named_steps["gan"].sampling_strategy_) == {1: 20, 2: 25}
    assert 0.0 <= pipe.score(X, y) <= 1.0
    assert clone(pipe).get_params()["gan__image_shape"] == (8, 8)
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy")
    assert scores.shape == (3,) and np.all((0.0 <= scores) & (scores <= 1.0))


class FirstPixel(nn.Module):
    """Logits from the first pixels: deterministic, untrained, any number of classes."""

    def __init__(self, k):
        super().__init__()
        self.k = k
        self.scale = nn.Parameter(torch.tensor(3.0))

    def forward(self, x):  # (B, C, H, W) -> (B, K)
        return torch.sin(1000 * x.flatten(1)[:, : self.k]) * self.scale


def test_quality_filter_object_and_threshold(flat_digits):
    X, y = flat_digits
    flt = ConfidenceFilter(FirstPixel(3), threshold=0.2)
    sampler = tiny(quality_filter=flt)
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 30, 1: 30, 2: 30} and X_res.shape == (90, 64)
    assert flt.thresholds is None  # the user's filter object was copied, not prepared in place
    assert set(sampler.acceptance_rates_) == {"0", "1", "2"}
    scores = flt.classifier(torch.as_tensor(X_res[len(X):] / 8.0 - 1.0, dtype=torch.float32).view(-1, 1, 8, 8))
    probs = torch.softmax(scores.double(), 1).gather(1, torch.as_tensor(y_res[len(X):])[:, None]).squeeze(1)
    assert bool((probs >= 0.2 - 1e-3).all())  # every kept sample passed the filter (up to float rounding)
    _, y_thr = tiny(quality_filter=0.0).fit_resample(X, y)  # a float: ConfidenceFilter trained on X
    assert Counter(y_thr.tolist()) == {0: 30, 1: 30, 2: 30}


def test_default_config_is_small():
    cfg = default_config()
    assert cfg.arch == "mlp" and cfg.sample_every == 0 and cfg.checkpoint_every == 0
    assert GANOversampler().get_params()["config"] is None


# ---- errors
@pytest.mark.parametrize("X_shape, kw, exc, match", [
    ((45, 20), {}, ValueError, r"image_shape: expected the shape of one image.*20 features per row is not a square"),
    ((45, 64), {"image_shape": (8, 9)}, ValueError, r"image_shape: expected a shape with 64 values"),
    ((45, 64), {"image_shape": "8x8"}, ValueError, r"The 'image_shape' parameter.*Got '8x8'.*image_shape=\(8, 8\)"),
    ((45, 64), {"image_shape": (8, 0)}, ValueError, r"image_shape: expected an integer >= 1"),
    ((45, 16), {}, ValueError, r"X: expected images 8 to 64 pixels high and wide.*4x4 images"),
    ((45, 2, 8, 8, 1), {}, ValueError, r"X: expected flat images .*5-D array of shape"),
    ((45, 5, 8, 8), {}, ValueError, r"X: expected images \(H, W\), \(C, H, W\) or \(H, W, C\) with C in \{1, 3\}"),
    ((45, 8, 8), {"image_shape": (8, 9)}, ValueError, r"image_shape: expected None or X's own image shape"),
    ((45, 64), {"sampling_strategy": "everything"}, ValueError,
     r"The 'sampling_strategy' parameter of GANOversampler must be .* Got 'everything' instead\. Pass 'auto'"),
    ((45, 64), {"value_range": (0, 10)}, ValueError, r"X: expected values inside value_range \(0.0, 10.0\)"),
    ((45, 64), {"value_range": (5, 5)}, ValueError, r"value_range: expected finite \(low, high\) with low < high"),
    ((45, 64), {"quality_filter": 1.5}, ValueError, r"The 'quality_filter' parameter.*Got 1.5"),
])
def test_errors(flat_digits, X_shape, kw, exc, match):
    X, y = flat_digits
    X = np.resize(X, X_shape)
    with pytest.raises(exc, match=match):
        tiny(**kw).fit_resample(X, y)


def test_nan_and_sparse_errors(flat_digits):
    X, y = flat_digits
    X = X.copy()
    X[3, 5] = np.nan
    nan_error = r"X: expected finite values \(no NaN or inf\), got '1 NaN/inf value\(s\) in 1 sample"
    with pytest.raises(ValueError, match=nan_error):
        tiny().fit_resample(X, y)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dense data is required"):
        tiny().fit_resample(scipy_sparse.csr_matrix(np.nan_to_num(X)), y)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        tiny().fit_resample(np.nan_to_num(X), np.zeros(len(X)))


# ---- scikit-learn / imbalanced-learn estimator checks
# scikit-learn's checks fit on random 2-D arrays of 1 to 10 columns. Such rows cannot be images of
# 8 to 64 pixels a side, so GANOversampler refuses them (already in ``fit``, which checks the image
# layout like every other input) with its "not an image" error. These checks are run and must fail
# with exactly that error, nothing else; every other scikit-learn check must pass.
SKLEARN_NOT_IMAGES = {
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent",
    "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
}
# imbalanced-learn's checks mostly use one 1000 x 20 data set (sample_dataset_generator): there it
# is swapped for the same rows and labels with 44 extra noise columns (64 = 8x8 "images"), so those
# checks run in full. Three checks build their own 2- or 3-column data and are refused like the
# above; check_samplers_pandas_sparse feeds a sparse DataFrame, and GANOversampler refuses sparse X
# (images are dense). The pandas checks are skipped by imbalanced-learn where pandas is missing.
IMBLEARN_NOT_IMAGES = {"check_samplers_fit", "check_sampler_get_feature_names_out",
                       "check_sampler_get_feature_names_out_pandas"}
IMBLEARN_SPARSE = {"check_samplers_pandas_sparse"}
_ORIGINAL_DATASET = imblearn_checks.sample_dataset_generator


def _image_dataset():
    X, y = _ORIGINAL_DATASET()  # (1000, 20), 3 imbalanced classes
    noise = np.random.RandomState(0).normal(size=(len(X), 44))
    return np.hstack([X, noise]), y


def refused_as_not_images(check, estimator):
    """The check fails, and only because GANOversampler refused its data as "not images".

    Some checks re-raise the estimator's error inside an AssertionError of their own; the message
    or the chained cause must then still be GANOversampler's "not images" error.
    """
    with pytest.raises((ValueError, AssertionError)) as info:
        check(estimator)
    err, texts = info.value, []
    while err is not None:
        texts.append(str(err))
        err = err.__cause__ or err.__context__
    assert re.search(NOT_IMAGES, "\n".join(texts)), texts


def _name(check):
    return check.func.__name__ + "".join(f"[{k}={v}]" for k, v in sorted(check.keywords.items()))


SKLEARN_CHECKS = list(estimator_checks_generator(tiny(), legacy=True))
IMBLEARN_CHECKS = list(imblearn_checks.estimator_checks_generator(tiny(), legacy=True))


@pytest.mark.parametrize("estimator, check", SKLEARN_CHECKS, ids=[_name(c) for _, c in SKLEARN_CHECKS])
def test_sklearn_estimator_checks(estimator, check):
    if check.func.__name__ in SKLEARN_NOT_IMAGES:
        refused_as_not_images(check, estimator)
    else:
        check(estimator)


@pytest.mark.parametrize("estimator, check", IMBLEARN_CHECKS, ids=[_name(c) for _, c in IMBLEARN_CHECKS])
def test_imblearn_estimator_checks(estimator, check, monkeypatch):
    monkeypatch.setattr(imblearn_checks, "sample_dataset_generator", _image_dataset)
    if check.func.__name__ in IMBLEARN_NOT_IMAGES:
        refused_as_not_images(check, estimator)
    elif check.func.__name__ in IMBLEARN_SPARSE:
        with pytest.raises(TypeError, match="dense data is required"):
            check(estimator)
    else:
        check(estimator)


def test_imblearn_param_validation():
    imblearn_checks.check_param_validation("GANOversampler", tiny())


def test_check_lists_are_current():
    names = {c.func.__name__ for _, c in SKLEARN_CHECKS}
    assert SKLEARN_NOT_IMAGES <= names, SKLEARN_NOT_IMAGES - names
    names = {c.func.__name__ for _, c in IMBLEARN_CHECKS}
    assert IMBLEARN_NOT_IMAGES - {"check_sampler_get_feature_names_out_pandas"} <= names


# ---- example
def test_example_imblearn_pipeline(capsys):
    spec = importlib.util.spec_from_file_location("imblearn_pipeline", EXAMPLES / "imblearn_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--tiny"])
    assert set(results) == {"classifier alone", "RandomOverSampler", "GANOversampler"}
    assert all(0.0 <= r["balanced_accuracy"] <= 1.0 for r in results.values())
    out = capsys.readouterr().out
    assert "GANOversampler generated" in out and "balanced acc" in out
