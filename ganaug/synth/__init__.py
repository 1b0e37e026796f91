"""Synthetic data from a trained generator: datasets, mixing with real data, filtering, oversampling."""
from .filtering import ConfidenceFilter, DiscriminatorFilter, FilterQuotaError, SampleFilter
from .mixing import MixedBatchSampler, MixedDataset, concat_datasets
from .synthetic import SyntheticDataset

__all__ = ["ConfidenceFilter", "DiscriminatorFilter", "FilterQuotaError", "GANOversampler", "MixedBatchSampler",
           "MixedDataset", "SampleFilter", "SyntheticDataset", "concat_datasets", "default_oversampler_config"]


def __getattr__(name):
    # The oversampler needs imbalanced-learn (pip install "ganaug[imblearn]"); import it only when asked for.
    if name in ("GANOversampler", "default_oversampler_config"):
        from . import oversampling

        return {"GANOversampler": oversampling.GANOversampler,
                "default_oversampler_config": oversampling.default_config}[name]
    raise AttributeError(f"module 'ganaug.synth' has no attribute {name!r}")
