"""ganaug: class-conditional GAN data augmentation for small labelled image datasets.

The pipeline, one subpackage per stage (each lower one never imports a higher one):
``ganaug.data`` (datasets, transforms, splits) -> ``ganaug.classify`` (the small classifier,
pseudo-labels) -> ``ganaug.gan`` (networks, training, checkpoints) -> ``ganaug.synth`` (synthetic
datasets, mixing, filtering, oversampling) -> ``ganaug.metrics`` -> ``ganaug.bench``. This module
exports what a user needs day to day; every public name of a stage is in its subpackage's ``__all__``.
"""
from . import bench, classify, data, gan, metrics, synth
from .bench import compare_methods
from .classify import PseudoLabels, SmallCNN, predict_proba, pseudo_label, train_classifier
from .data import (AlbumentationsAdapter, DatasetNotFoundError, DigitAugment, LabelledImages, ToGanaugTensor, augmented_copies,
                   load_dataset, load_split, long_tailed_subset, stratified_subset, train_val_split)
from .gan import CheckpointError, ConditionalGenerator, TrainConfig, TrainingDivergedError, fit, load_generator
from .metrics import FID, KID, DensityCoverage, PrecisionRecall, evaluate
from .synth import (ConfidenceFilter, DiscriminatorFilter, FilterQuotaError, MixedBatchSampler, MixedDataset,
                    SampleFilter, SyntheticDataset, concat_datasets)

__version__ = "0.1.0"
# `ganaug.evaluate` is the function (also `ganaug.metrics.evaluate`); `format_report` is in `ganaug.metrics`.
__all__ = [
    "AlbumentationsAdapter", "CheckpointError", "ConditionalGenerator", "ConfidenceFilter", "DatasetNotFoundError",
    "DensityCoverage", "DigitAugment", "DiscriminatorFilter", "FID", "FilterQuotaError", "KID", "LabelledImages", "MixedBatchSampler",
    "MixedDataset", "PrecisionRecall", "PseudoLabels", "SampleFilter", "SmallCNN", "SyntheticDataset", "ToGanaugTensor",
    "TrainConfig", "TrainingDivergedError", "augmented_copies", "compare_methods", "concat_datasets", "evaluate", "fit",
    "load_dataset", "load_generator", "load_split", "long_tailed_subset", "predict_proba", "pseudo_label",
    "stratified_subset", "train_classifier", "train_val_split", "GANOversampler",
    "bench", "classify", "data", "gan", "metrics", "synth",
]


def __getattr__(name):
    # GANOversampler needs imbalanced-learn (pip install "ganaug[imblearn]"); import it only when asked for.
    if name == "GANOversampler":
        return synth.GANOversampler
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")
