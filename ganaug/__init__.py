"""ganaug: class-conditional GAN data augmentation for small labelled image datasets."""
from .checkpoint import CheckpointError, load_generator
from .datasets import DatasetNotFoundError, LabelledImages, load_dataset, stratified_subset, train_val_split
from .models import ConditionalGenerator
from .training import TrainConfig, TrainingDivergedError, fit

__version__ = "0.1.0"
__all__ = [
    "CheckpointError", "ConditionalGenerator", "DatasetNotFoundError", "LabelledImages", "TrainConfig",
    "TrainingDivergedError", "fit", "load_dataset", "load_generator", "stratified_subset", "train_val_split",
]
