"""Atomic, safe-to-load files: generators and full training checkpoints.

Everything is stored as tensors, numbers and JSON strings, so ``torch.load(weights_only=True)`` can
read it without unpickling arbitrary objects from an untrusted file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

GENERATOR_FORMAT = "ganaug.generator"
CHECKPOINT_FORMAT = "ganaug.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not a ganaug file."""


def atomic_save(obj: Any, path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def safe_load(path, expected: tuple[str, ...] = (GENERATOR_FORMAT, CHECKPOINT_FORMAT)) -> dict:
    """Load a ganaug file with ``weights_only=True`` and check its format tag."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint: no file at {str(path)!r}. Pass the path of a file written by "
                              "gen.save(...) or by training (OUT/checkpoint.pt).")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, random bytes, a pickle with foreign classes, ...
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint: {str(path)!r} is not a readable ganaug file ({reason}). It may "
                              "be truncated or come from another program; re-create it.") from None
    if not isinstance(obj, dict) or obj.get("format") not in expected:
        got = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"checkpoint: expected a file of format {' or '.join(expected)}, got "
                              f"{got!r} in {str(path)!r}. Pass a file written by ganaug.")
    if obj.get("version") != VERSION:
        raise CheckpointError(f"checkpoint: expected format version {VERSION}, got {obj.get('version')!r} "
                              f"in {str(path)!r}. Re-create it with this ganaug version.")
    return obj


def check_finite(state: dict[str, torch.Tensor], what: str) -> None:
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            raise FloatingPointError(f"{what}: parameter {key!r} is NaN/inf; refusing to write it to disk.")


def save_generator(gen, path) -> Path:
    state = {k: v.detach().cpu() for k, v in gen.state_dict().items()}
    check_finite(state, "generator")
    return atomic_save({"format": GENERATOR_FORMAT, "version": VERSION, "spec": json.dumps(gen.spec),
                        "state_dict": state}, path)


def load_generator(path, device: str | torch.device | None = None):
    """Load a generator saved by ``gen.save`` or the EMA generator of a training checkpoint.

    ``device``: ``None`` picks cuda when available, else cpu.
    """
    from .models import build_generator

    obj = safe_load(path)
    try:
        spec = json.loads(obj["spec"])
        state = obj["state_dict"] if obj["format"] == GENERATOR_FORMAT else obj["G_ema"]
        gen = build_generator(spec)
        gen.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} has a ganaug header but its contents do not "
                              f"match ({str(err).splitlines()[0][:120]}). Re-create the file.") from None
    device = torch.device(device) if device is not None else default_device()
    return gen.to(device).eval()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
