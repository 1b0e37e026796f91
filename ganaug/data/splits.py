"""The (train, test) pair a dataset is evaluated on: official splits where they exist, else a seeded 70/30."""
from __future__ import annotations

from typing import Any

from .._checks import check_int
from .datasets import LabelledImages, load_dataset, train_val_split

OFFICIAL_SPLITS = ("mnist", "fashion-mnist")
TEST_FRACTION = 0.3


def load_split(source: Any = "digits", *, root=None, seed: int = 0, download: bool = False
               ) -> tuple[LabelledImages, LabelledImages]:
    """The (train, test) pair the metrics use.

    ``"mnist"`` and ``"fashion-mnist"``: the official training and test sets (from ``root``).
    Anything else :func:`~ganaug.load_dataset` accepts (``"digits"``, an image folder,
    ...): a stratified ``train_val_split(data, 0.3, seed)``, i.e. 70% train, 30% test.
    """
    if isinstance(source, str) and source.lower() in OFFICIAL_SPLITS:
        return (load_dataset(source, root=root, train=True, download=download),
                load_dataset(source, root=root, train=False, download=download))
    return train_val_split(load_dataset(source, root=root, download=download), TEST_FRACTION,
                           seed=check_int("seed", seed))
