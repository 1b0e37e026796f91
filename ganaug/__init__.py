"""ganaug: class-conditional GAN data augmentation for small labelled image datasets."""
from .benchmark import compare_methods
from .checkpoint import CheckpointError, load_generator
from .classifier import SmallCNN, predict_proba, train_classifier
from .datasets import (DatasetNotFoundError, LabelledImages, load_dataset, long_tailed_subset, stratified_subset,
                       train_val_split)
from .evaluate import evaluate
from .fid import FID
from .filtering import ConfidenceFilter, DiscriminatorFilter, FilterQuotaError, SampleFilter
from .kid import KID
from .mixing import MixedBatchSampler, MixedDataset, concat_datasets
from .models import ConditionalGenerator
from .prdc import DensityCoverage, PrecisionRecall
from .semi import PseudoLabels, pseudo_label
from .synthetic import SyntheticDataset
from .training import TrainConfig, TrainingDivergedError, fit
from .transforms import AlbumentationsAdapter, ToGanaugTensor, augmented_copies

__version__ = "0.1.0"
# `ganaug.evaluate` is the function; its helpers stay importable with `from ganaug.evaluate import format_report`.
__all__ = [
    "AlbumentationsAdapter", "CheckpointError", "ConditionalGenerator", "ConfidenceFilter", "DatasetNotFoundError",
    "DensityCoverage", "DiscriminatorFilter", "FID", "FilterQuotaError", "KID", "LabelledImages", "MixedBatchSampler",
    "MixedDataset", "PrecisionRecall", "PseudoLabels", "SampleFilter", "SmallCNN", "SyntheticDataset", "ToGanaugTensor", "TrainConfig",
    "TrainingDivergedError", "augmented_copies", "compare_methods", "concat_datasets", "evaluate", "fit", "load_dataset", "load_generator",
    "long_tailed_subset", "predict_proba", "pseudo_label", "stratified_subset", "train_classifier", "train_val_split",
    "GANOversampler",
]


def __getattr__(name):
    # GANOversampler needs imbalanced-learn (pip install "ganaug[imblearn]"); import it only when asked for.
    if name == "GANOversampler":
        from .oversampling import GANOversampler

        return GANOversampler
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")
