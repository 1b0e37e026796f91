"""Datasets, transforms and splits: the labelled images everything else starts from."""
from .datasets import (IMAGE_EXTENSIONS, NAMED_DATASETS, DatasetNotFoundError, LabelledImages, default_root,
                       fingerprint, from_arrays, load_dataset, long_tail_counts, long_tailed_subset, stratified_subset,
                       train_val_split)
from .batch_augment import DigitAugment
from .splits import load_split
from .targets import check_same_classes, dataset_targets
from .transforms import (AlbumentationsAdapter, ToGanaugTensor, augmented_copies, digit_augmentation, to_ganaug_tensor,
                         to_uint8_hwc)

__all__ = [
    "IMAGE_EXTENSIONS", "NAMED_DATASETS", "AlbumentationsAdapter", "DatasetNotFoundError", "DigitAugment",
    "LabelledImages",
    "ToGanaugTensor", "augmented_copies", "check_same_classes", "dataset_targets", "default_root", "digit_augmentation",
    "fingerprint", "from_arrays", "load_dataset", "load_split", "long_tail_counts", "long_tailed_subset",
    "stratified_subset", "to_ganaug_tensor", "to_uint8_hwc", "train_val_split",
]
