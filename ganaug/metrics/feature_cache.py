"""Where trained feature extractors are kept on disk, and reading/writing them.

``cache_dir/feature_extractors/`` (default ``$GANAUG_CACHE``, else ``~/.cache/ganaug``) holds one file
per training split and setting, keyed by the dataset's name, a fingerprint of its images and labels,
the seed, the epochs and the width; weights shipped with the package (``ganaug/weights``) are used
when their key matches exactly.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

from .._files import VERSION, CheckpointError, atomic_save, safe_load
from ..classify.classifier import SmallCNN
from ..data.datasets import LabelledImages, fingerprint

FORMAT = "ganaug.feature_extractor"
SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def default_cache_dir() -> Path:
    """``$GANAUG_CACHE`` if set, else ``~/.cache/ganaug``."""
    return Path(os.environ.get("GANAUG_CACHE") or Path.home() / ".cache" / "ganaug").expanduser()


def cache_path(train: LabelledImages, seed: int, epochs: int, width: int, cache_dir=None) -> Path:
    """Where :func:`feature_extractor` keeps the weights for this training split and setting."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", train.name) or "data"
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / "feature_extractors" / f"{name}-{fingerprint(train)}-seed{seed}-e{epochs}-w{width}.pt"


def save_cached(model: SmallCNN, path: Path, train: LabelledImages, epochs: int, seed: int, width: int) -> None:
    """Write a trained extractor to ``path``; a folder that cannot be written only warns."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    spec = {"in_channels": model.in_channels, "num_classes": model.num_classes, "width": width,
            "classes": train.classes, "epochs": epochs, "seed": seed, "dataset": train.name}
    try:
        atomic_save({"format": FORMAT, "version": VERSION, "spec": json.dumps(spec), "state_dict": state}, path)
    except OSError as err:
        warnings.warn(f"feature extractor: could not write the cache file {path} ({err}); it will be "
                      "retrained next time. Pass cache_dir= (CLI: --cache-dir) a writable folder.", stacklevel=3)


def load_cached(path: Path, train: LabelledImages, width: int) -> SmallCNN | None:
    """The cached extractor at ``path``, or ``None`` (with a warning) when it cannot be used."""
    try:
        obj = safe_load(path, expected=(FORMAT,))  # torch.load(weights_only=True) + format check
        spec = json.loads(obj["spec"])
        model = SmallCNN(spec["in_channels"], spec["num_classes"], width=spec["width"], classes=spec["classes"])
        if spec["classes"] != train.classes or spec["width"] != width:
            raise ValueError("the cached model was trained for other classes or width")
        model.load_state_dict(obj["state_dict"])
    except (CheckpointError, KeyError, TypeError, ValueError, RuntimeError) as err:
        warnings.warn(f"feature extractor: ignoring the unreadable cache file {path} "
                      f"({str(err).splitlines()[0][:120]}); retraining.", stacklevel=4)
        return None
    return model.eval()
