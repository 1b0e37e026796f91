"""The default device of every training and inference entry point."""
from __future__ import annotations

import torch


def default_device() -> torch.device:
    """cuda when available, else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
