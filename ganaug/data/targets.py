"""The labels of any map-style dataset, and the check that a dataset uses a generator's classes."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from .._checks import fail


def dataset_targets(ds: Any, read_items: bool = True) -> torch.Tensor | None:
    """Labels of a torchvision-style dataset as int64 (N,).

    Uses its ``targets`` (also through ``Subset``); without them, reads every item when
    ``read_items`` (slow for big datasets with transforms), else returns ``None``.
    """
    if isinstance(ds, Subset):
        inner = dataset_targets(ds.dataset, read_items=False)
        if inner is not None:
            return inner[torch.as_tensor(list(ds.indices), dtype=torch.long)]
    t = getattr(ds, "targets", None)
    if t is None:
        if not read_items:
            return None
        t = [int(ds[i][1]) for i in range(len(ds))]
    return torch.as_tensor(np.asarray(t.cpu() if isinstance(t, torch.Tensor) else t)).long().reshape(-1)


def check_same_classes(real: Any, classes: list[str], what: str = "real dataset") -> None:
    """Check a real dataset uses the generator's classes (names if it has ``classes``, label range if it has ``targets``)."""
    real_classes = getattr(real, "classes", None)
    if real_classes is not None and [str(c) for c in real_classes] != classes:
        fail(f"{what} classes", f"the generator's classes {classes}", [str(c) for c in real_classes],
             "Use a generator trained on this dataset (same class names, same order).")
    targets = dataset_targets(real, read_items=False)
    if targets is not None and targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= len(classes)):
        bad = int(targets.min()) if int(targets.min()) < 0 else int(targets.max())
        fail(f"{what} targets", f"labels in [0, {len(classes) - 1}] (the generator's {len(classes)} classes)",
             bad, "Use a generator trained on this dataset.")
