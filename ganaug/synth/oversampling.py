"""GANOversampler: an imbalanced-learn sampler that fills up classes with GAN-generated images.

``fit_resample(X, y)`` trains a class-conditional GAN (:func:`ganaug.fit`) on all of ``X`` and
returns the original samples followed by generated ones, as many per class as
``sampling_strategy`` asks for. It follows imbalanced-learn's sampler conventions, so it works in
an ``imblearn.pipeline.Pipeline`` in front of any scikit-learn classifier, with ``clone``,
``GridSearchCV`` and ``cross_validate``. Requires ``imbalanced-learn`` (>= 0.13).
"""
from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import re

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data
from imblearn.utils import check_sampling_strategy, check_target_type

from .._checks import check_float, check_int, fail
from ..data.datasets import from_arrays
from ..gan.training import TrainConfig, fit
from .filtering import ConfidenceFilter, SampleFilter
from .synthetic import SyntheticDataset

MIN_SIDE, MAX_SIDE = 8, 64  # image sides ganaug's GANs are built for

# Appended to scikit-learn's "The 'x' parameter of GANOversampler must be ... Got ... instead."
_PARAM_FIXES = {
    "sampling_strategy": "Pass 'auto', 'not majority', 'minority', 'not minority', 'all', a dict "
                         "{class: target count}, a callable, or a float in (0, 1] (binary y only).",
    "image_shape": "Pass the shape of one image, e.g. image_shape=(8, 8) or (3, 32, 32), or None.",
    "value_range": "Pass the pixel range of X, e.g. value_range=(0, 16), or None to infer it.",
    "config": "Pass a ganaug.TrainConfig(...) or None for the default.",
    "quality_filter": "Pass None, a confidence threshold in [0, 1], or a ganaug filter object "
                      "(ConfidenceFilter / DiscriminatorFilter).",
    "random_state": "Pass an int, a numpy RandomState or None.",
    "progress": "Pass True or False.",
}


def default_config() -> TrainConfig:
    """The training settings used when ``config=None``: a small MLP GAN, no files written."""
    return TrainConfig(arch="mlp", steps=1000, batch_size=64, width=32, z_dim=64, sample_every=0,
                       checkpoint_every=0)


class GANOversampler(BaseOverSampler):
    """Over-sample classes with images from a class-conditional GAN trained on ``X``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        How many samples each class should have after resampling, exactly as in imbalanced-learn's
        over-samplers: ``'auto'`` (= ``'not majority'``), ``'minority'``, ``'not minority'``,
        ``'all'``, a dict ``{class: target count}``, a callable ``y -> dict``, or (binary ``y``
        only) a float: the wanted minority / majority ratio.
    image_shape : tuple of int, default=None
        Shape of one image when ``X`` is flat (n_samples, n_features): ``(H, W)``, ``(C, H, W)`` or
        ``(H, W, C)`` with C in {1, 3}, in the order the rows were flattened from. ``None`` takes a
        square greyscale image when ``n_features`` is a square number (64 -> 8x8). Not needed
        when ``X`` is already images: (N, H, W), (N, C, H, W) or (N, H, W, C). Sides must be
        8 to 64 pixels.
    value_range : (low, high), default=None
        Pixel range of ``X``, mapped to the GAN's [-1, 1] and back. ``None``: (0, 255) for uint8
        ``X``, otherwise the minimum and maximum of ``X`` (e.g. 0..16 for scikit-learn's digits).
    config : ganaug.TrainConfig, default=None
        GAN training settings; ``None`` uses :func:`default_config`. Stored as given and copied
        when used: ``seed`` is replaced by one drawn from ``random_state`` and ``batch_size`` is
        capped at the number of samples.
    quality_filter : float or SampleFilter, default=None
        Keep only good generated samples: a float is the confidence threshold of a
        :class:`~ganaug.ConfidenceFilter` whose small CNN is trained on ``X``; a
        :class:`~ganaug.SampleFilter` object is used as given (a copy of it).
    random_state : int, RandomState instance or None, default=None
        Seeds training and generation. ``None`` draws from numpy's global random state, as
        scikit-learn does; pass an int for reproducible output.
    progress : bool, default=False
        Show a tqdm progress bar while the GAN trains.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples generated per class.
    classes_ : ndarray
        Class labels in sorted order; the GAN's class ``i`` is ``classes_[i]``.
    generator_ : ganaug.ConditionalGenerator or None
        The trained generator (``None`` when there was nothing to generate, so no GAN was trained).
    history_ : list of dict
        Training log of the GAN (see :func:`ganaug.fit`).
    image_shape_ : tuple of int
        ``(C, H, W)`` of the images the GAN works on.
    value_range_ : tuple of float
        The pixel range used to map ``X`` to [-1, 1] and generated images back.
    acceptance_rates_ : dict or None
        Per-class acceptance rates of ``quality_filter`` (``None`` without a filter).
    n_features_in_ : int
        Number of values per sample (``H * W * C`` for image input).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string column names.

    Notes
    -----
    ``fit`` only checks ``X``, ``y`` and the sampling strategy (imbalanced-learn's convention);
    the GAN is trained by ``fit_resample``, which is what ``imblearn.pipeline.Pipeline`` calls.
    Output keeps X's layout, container (array, list, DataFrame) and dtype: integer X gets rounded,
    clipped pixels; float X gets pixels in ``value_range_``. Generated samples come after the
    original ones, grouped by class in the order of ``sampling_strategy_``.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "image_shape": [tuple, list, None],
        "value_range": [tuple, list, None],
        "config": [TrainConfig, None],
        "quality_filter": [Interval(numbers.Real, 0, 1, closed="both"), SampleFilter, None],
        "progress": ["boolean"],
    }

    def __init__(self, *, sampling_strategy="auto", image_shape=None, value_range=None, config=None,
                 quality_filter=None, random_state=None, progress=False):
        super().__init__(sampling_strategy=sampling_strategy)
        self.image_shape = image_shape
        self.value_range = value_range
        self.config = config
        self.quality_filter = quality_filter
        self.random_state = random_state
        self.progress = progress

    # ---- imbalanced-learn hooks
    def _validate_params(self):
        try:
            super()._validate_params()
        except InvalidParameterError as err:
            found = re.match(r"The '(\w+)' parameter", str(err))
            fix = _PARAM_FIXES.get(found.group(1), "") if found else ""
            raise InvalidParameterError(f"{err} {fix}".rstrip()) from None

    def _check_X_y(self, X, y, accept_sparse=None):
        ndim = getattr(X, "ndim", None)
        if ndim is not None and ndim not in (2, 3, 4):
            _bad_ndim(X)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, accept_sparse=False, allow_nd=True,
                             ensure_all_finite=False)
        if X.ndim not in (2, 3, 4):
            _bad_ndim(X)
        if X.dtype == bool:
            fail("X", "numeric pixel values", "dtype bool", "Convert X first, e.g. X.astype(np.uint8).",
                 TypeError)
        if X.dtype.kind in "fc" and not np.isfinite(X).all():
            bad = ~np.isfinite(X.reshape(len(X), -1))
            fail("X", "finite values (no NaN or inf)",
                 f"{int(bad.sum())} NaN/inf value(s) in {int(bad.any(axis=1).sum())} sample(s)",
                 "Drop or repair those samples before resampling; a GAN cannot learn missing pixels.")
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return X, y, binarize_y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Check ``X``, ``y`` and the sampling strategy; the GAN is trained by ``fit_resample``.

        Sets ``sampling_strategy_``, ``n_features_in_`` and ``image_shape_``. Returns ``self``.
        """
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
        self._resolve_image(X)
        return self

    def _fit_resample(self, X, y):
        sample_shape, layout = self._resolve_image(X)
        self.value_range_ = self._resolve_range(X)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        counts = {label: int(n) for label, n in self.sampling_strategy_.items() if n > 0}
        self.generator_, self.history_, self.acceptance_rates_ = None, [], None
        if not counts:  # already as balanced as asked: nothing to generate, no GAN to train
            return X.copy(), y.copy()

        rng = check_random_state(self.random_state)
        train_seed, sample_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        lo, hi = self.value_range_
        scaled = np.clip((X.astype(np.float64) - lo) / (hi - lo) * 2.0 - 1.0, -1.0, 1.0)  # float64 math
        data = from_arrays(scaled.astype(np.float32).reshape(len(X), *sample_shape), encoder.transform(y),
                           classes=[str(c) for c in self.classes_], value_range=(-1.0, 1.0), name="X")
        base = self.config if self.config is not None else default_config()
        cfg = dataclasses.replace(copy.deepcopy(base), seed=train_seed,
                                  batch_size=max(2, min(base.batch_size, len(data))))
        self.generator_, self.history_ = fit(data, cfg, progress=bool(self.progress))

        codes = encoder.transform(list(counts))
        images = self._generate(data, codes, [counts[c] for c in counts], sample_seed)  # (n, C, H, W)
        X_new = _to_user(images, layout, X.shape[1:], X.dtype, lo, hi)
        y_new = np.repeat(self.classes_[codes], [counts[c] for c in counts])
        return np.concatenate([X, X_new]), np.concatenate([y, y_new.astype(y.dtype, copy=False)])

    def _more_tags(self):  # scikit-learn < 1.6
        return {"X_types": ["2darray", "3darray", "dataframe"]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

    # ---- helpers
    def _resolve_image(self, X) -> tuple[tuple[int, ...], str]:
        """Shape of one sample as the user lays it out, and its layout ("hw", "chw" or "hwc")."""
        flat = X.ndim == 2
        if flat:
            d = X.shape[1]
            if self.image_shape is None:
                side = math.isqrt(d)
                if side * side != d:
                    fail("image_shape", "the shape of one image, because X is flat (n_samples, n_features)",
                         f"None, and {d} features per row is not a square number of pixels",
                         f"Pass image_shape=(H, W) or (C, H, W) with H * W * C == {d}, "
                         "or pass X as images (N, H, W) / (N, C, H, W).")
                sample = (side, side)
            else:
                sample = _check_image_shape(self.image_shape)
                if math.prod(sample) != d:
                    fail("image_shape", f"a shape with {d} values (X has {d} features per row)",
                         self.image_shape, "Pass the shape the rows were flattened from, e.g. "
                         "image_shape=(8, 8) for 64 features.")
        else:
            sample = tuple(int(s) for s in X.shape[1:])
            if self.image_shape is not None and _check_image_shape(self.image_shape) != sample:
                fail("image_shape", f"None or X's own image shape {sample}", self.image_shape,
                     "Drop image_shape: it is only needed for flat X.")
        layout = _layout(sample, "image_shape" if flat else "X")
        c, h, w = _chw(sample, layout)
        if not (MIN_SIDE <= min(h, w) and max(h, w) <= MAX_SIDE):
            got = f"{h}x{w} images" + (f" ({X.shape[1]} feature(s) per row)" if flat else "")
            fail("X", f"images {MIN_SIDE} to {MAX_SIDE} pixels high and wide (what ganaug's GANs are built for)",
                 got, "Resize the images into that range. GANOversampler generates images; for generic "
                 "tabular features use e.g. imblearn.over_sampling.SMOTE.")
        self.image_shape_ = (c, h, w)
        return sample, layout

    def _resolve_range(self, X) -> tuple[float, float]:
        if self.value_range is None:
            if X.dtype == np.uint8:
                return 0.0, 255.0
            lo, hi = float(X.min()), float(X.max())
            return (lo, hi) if hi > lo else (lo, lo + 1.0)
        vr = self.value_range
        if len(vr) != 2:
            fail("value_range", "two numbers (low, high)", vr, "Pass e.g. value_range=(0, 255).")
        lo, hi = (check_float("value_range", v) for v in vr)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            fail("value_range", "finite (low, high) with low < high", vr, "Pass e.g. value_range=(0, 255).")
        x_lo, x_hi = float(X.min()), float(X.max())
        if x_lo < lo or x_hi > hi:
            fail("X", f"values inside value_range {(lo, hi)}", f"values from {x_lo} to {x_hi}",
                 "Pass value_range=(min, max) covering your data, or None to infer it.")
        return lo, hi

    def _generate(self, data, codes, counts, seed):
        if self.quality_filter is None:
            labels = np.repeat(codes, counts)
            images, _ = self.generator_.sample(len(labels), labels=labels, seed=seed)
            return images.numpy()
        qf = self.quality_filter
        if isinstance(qf, bool):
            fail("quality_filter", "None, a threshold in [0, 1] or a SampleFilter", qf,
                 "Pass e.g. quality_filter=0.8.", TypeError)
        if isinstance(qf, numbers.Real):
            qf = ConfidenceFilter(real=data, threshold=float(qf), seed=seed)
        else:
            qf = copy.deepcopy(qf)  # prepared (calibrated) inside; the user's object stays as it was
        per_class = [0] * len(self.classes_)
        for code, n in zip(codes, counts):
            per_class[int(code)] = n
        ds = SyntheticDataset(self.generator_, class_counts=per_class, seed=seed, quality_filter=qf,
                              device=self.generator_.device)
        self.acceptance_rates_ = dict(ds.acceptance_rates or {})
        items = ds.__getitems__(list(range(len(ds))))
        images = np.stack([x.numpy() for x, _ in items])
        labels = np.array([t for _, t in items])
        order = np.concatenate([np.flatnonzero(labels == code) for code in codes])  # grouped by class
        return images[order]


def _bad_ndim(X):
    fail("X", "flat images (n_samples, n_features) or images (N, H, W), (N, C, H, W), (N, H, W, C)",
         f"a {X.ndim}-D array of shape {tuple(X.shape)}",
         "Reshape X, e.g. X.reshape(len(X), -1) for flat rows (then pass image_shape).")


def _check_image_shape(value) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) not in (2, 3):
        fail("image_shape", "(H, W), (C, H, W) or (H, W, C)", value, "Pass e.g. image_shape=(8, 8).", TypeError)
    return tuple(check_int("image_shape", v, minimum=1, fix="Pass positive whole numbers, e.g. (8, 8).")
                 for v in value)


def _layout(sample: tuple[int, ...], arg: str) -> str:
    # Same rule as ganaug.data.from_arrays: channels first if the first axis is 1 or 3.
    if len(sample) == 2:
        return "hw"
    if sample[0] in (1, 3):
        return "chw"
    if sample[-1] in (1, 3):
        return "hwc"
    fail(arg, "images (H, W), (C, H, W) or (H, W, C) with C in {1, 3}", sample,
         "Use 1 (greyscale) or 3 (RGB) channels.")


def _chw(sample, layout) -> tuple[int, int, int]:
    if layout == "hw":
        return (1, *sample)
    return tuple(sample) if layout == "chw" else (sample[2], sample[0], sample[1])


def _to_user(images: np.ndarray, layout: str, shape, dtype, lo: float, hi: float) -> np.ndarray:
    """Generated (n, C, H, W) in [-1, 1] -> X's per-sample ``shape``, ``dtype`` and pixel range."""
    if layout == "hw":
        images = images[:, 0]
    elif layout == "hwc":
        images = images.transpose(0, 2, 3, 1)
    x = (images.astype(np.float64) + 1.0) / 2.0 * (hi - lo) + lo
    x = np.clip(x, lo, hi).reshape(len(images), *shape)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = np.clip(np.rint(x), info.min, info.max)
    return np.ascontiguousarray(x.astype(dtype))
