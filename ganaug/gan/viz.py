"""Pictures: sample grids as PNG."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


def save_grid(images: torch.Tensor, path, nrow: int = 10, min_size: int = 28) -> Path:
    """Save images (N, C, H, W) in [-1, 1] as one PNG grid, ``nrow`` images per row.

    Small images (e.g. 8x8 digits) are enlarged with nearest-neighbour so that they stay visible.
    """
    from torchvision.utils import make_grid
    from PIL import Image

    x = images.detach().float().cpu().clamp(-1, 1)  # (N, C, H, W)
    scale = max(1, -(-min_size // min(x.shape[-2:])))
    if scale > 1:
        x = F.interpolate(x, scale_factor=scale, mode="nearest")
    grid = make_grid((x + 1) / 2, nrow=nrow, padding=2, pad_value=1.0)  # (3, H', W') in [0, 1]
    grid = grid[:1] if x.shape[1] == 1 else grid  # make_grid repeats grey to RGB; keep one channel
    array = (grid.mul(255).round().to(torch.uint8).permute(1, 2, 0)).numpy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)
    return path
