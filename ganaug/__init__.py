"""ganaug: class-conditional GAN data augmentation for small labelled image datasets."""
from .checkpoint import CheckpointError, load_generator
from .classifier import SmallCNN, predict_proba, train_classifier
from .datasets import (DatasetNotFoundError, LabelledImages, load_dataset, long_tailed_subset, stratified_subset,
                       train_val_split)
from .filtering import ConfidenceFilter, DiscriminatorFilter, FilterQuotaError
from .mixing import MixedBatchSampler, MixedDataset, concat_datasets
from .models import ConditionalGenerator
from .synthetic import SyntheticDataset
from .training import TrainConfig, TrainingDivergedError, fit
from .transforms import AlbumentationsAdapter, ToGanaugTensor

__version__ = "0.1.0"
__all__ = [
    "AlbumentationsAdapter", "CheckpointError", "ConditionalGenerator", "ConfidenceFilter", "DatasetNotFoundError",
    "DiscriminatorFilter", "FilterQuotaError", "LabelledImages", "MixedBatchSampler", "MixedDataset", "SmallCNN",
    "SyntheticDataset", "ToGanaugTensor", "TrainConfig", "TrainingDivergedError", "concat_datasets", "fit",
    "load_dataset", "load_generator", "long_tailed_subset", "predict_proba", "stratified_subset", "train_classifier",
    "train_val_split", "GANOversampler",
]


def __getattr__(name):
    # GANOversampler needs imbalanced-learn (pip install "ganaug[imblearn]"); import it only when asked for.
    if name == "GANOversampler":
        from .oversampling import GANOversampler

        return GANOversampler
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")
