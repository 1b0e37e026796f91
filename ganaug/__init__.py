"""ganaug: class-conditional GAN data augmentation for small labelled image datasets."""
from .bench.benchmark import compare_methods
from .gan.checkpoint import CheckpointError, load_generator
from .classify.classifier import SmallCNN, predict_proba, train_classifier
from .data.datasets import (DatasetNotFoundError, LabelledImages, load_dataset, long_tailed_subset, stratified_subset,
                       train_val_split)
from .metrics.evaluate import evaluate
from .metrics.fid import FID
from .synth.filtering import ConfidenceFilter, DiscriminatorFilter, FilterQuotaError, SampleFilter
from .metrics.kid import KID
from .synth.mixing import MixedBatchSampler, MixedDataset, concat_datasets
from .gan.models import ConditionalGenerator
from .metrics.prdc import DensityCoverage, PrecisionRecall
from .classify.semi import PseudoLabels, pseudo_label
from .synth.synthetic import SyntheticDataset
from .gan.training import TrainConfig, TrainingDivergedError, fit
from .data.transforms import AlbumentationsAdapter, ToGanaugTensor, augmented_copies

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
        from .synth.oversampling import GANOversampler

        return GANOversampler
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")
