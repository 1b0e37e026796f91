"""Features of images under a trained feature extractor (see ``feature_net.py``), in batches."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int, fail
from .._progress import track
from ..classify.classifier import SmallCNN
from ..data.datasets import LabelledImages


def extract_features(model: SmallCNN, images: Any, batch_size: int = 512, progress: bool = False) -> torch.Tensor:
    """``model.features(images)``: float32 (N, F) on CPU, in eval mode, in batches of ``batch_size``.

    ``images``: a tensor (N, C, H, W) in [-1, 1] or a LabelledImages. The model's mode is restored.
    """
    if isinstance(images, LabelledImages):
        images = images.images
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        fail("images", "a tensor (N, C, H, W) or a LabelledImages",
             tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__,
             "Stack the images into one tensor.", TypeError if not isinstance(images, torch.Tensor) else ValueError)
    if images.shape[1] != getattr(model, "in_channels", images.shape[1]):
        fail("images", f"{model.in_channels} channel(s), as the feature extractor was trained on",
             images.shape[1], "Pass images of the dataset the extractor was trained on.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    starts = range(0, images.shape[0], batch_size)
    if progress:
        starts = track(starts, desc="features", unit="batch", leave=False)
    out = []
    with torch.no_grad():
        for s in starts:
            out.append(model.features(images[s:s + batch_size].to(device)).float().cpu())  # (b, F)
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 0)
