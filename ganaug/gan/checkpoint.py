"""Generator files and full training checkpoints: reading both, and the training-checkpoint format.

A generator file (format ``ganaug.generator``) is one network record written by
``ConditionalGenerator.save`` (``_files.save_weights``: spec + weights). A training checkpoint (format
``ganaug.checkpoint``: G, D, G_ema, both optimizers, RNG states, history) is written and read only here.

Files use the safe container of ``ganaug/_files.py`` (tensors, numbers and JSON strings, loaded with
``torch.load(weights_only=True)`` after the archive checks). Before a network is allocated its file
is checked against documented limits: the JSON spec (sizes within ``SPEC_LIMITS``, parameter count from
a shape-only build on the ``meta`` device), then every tensor's name and shape; weights must be finite,
on save and on load. The discriminator of a run is built by one rule, :func:`discriminator_for`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from .._device import default_device
from .._files import (MAX_ENTRIES, MAX_FILE_BYTES, VERSION, CheckpointError, DiskFullError,  # noqa: F401 (re-exported)
                      _reason, atomic_save, check_finite)
from .._files import safe_load as _safe_load
from .models import ARCHS, GENERATOR_FORMAT, build_discriminator, build_generator

CHECKPOINT_FORMAT = "ganaug.checkpoint"

# Limits a network must respect before it is built (docs/robustness.md lists them).
MAX_PARAMS = 250_000_000  # parameters of one network (1 GB of float32)
SPEC_LIMITS = {"z_dim": 4096, "width": 1024, "embed_dim": 4096, "classes": 10_000, "side": (8, 64)}


def safe_load(path, expected: tuple[str, ...] = (GENERATOR_FORMAT, CHECKPOINT_FORMAT)) -> dict:
    """Load a generator file or training checkpoint (``weights_only=True``, archive and format checks)."""
    return _safe_load(path, expected)


def check_spec(spec: Any, path: Any = "spec") -> dict:
    """The generator/discriminator description of a file, checked against ``SPEC_LIMITS``."""
    def bad(what: str):
        raise CheckpointError(f"checkpoint: {str(path)!r} has an invalid network spec ({what}). Limits: "
                              f"{SPEC_LIMITS}. Use a file written by ganaug.")

    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            bad("not JSON")
    if not isinstance(spec, dict):
        bad(f"a {type(spec).__name__}, not an object")
    if spec.get("arch") not in ARCHS:
        bad(f"arch {spec.get('arch')!r}")
    shape = spec.get("image_shape")
    lo, hi = SPEC_LIMITS["side"]
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(v) is int for v in shape)
            and shape[0] in (1, 3) and lo <= shape[1] <= hi and lo <= shape[2] <= hi):
        bad(f"image_shape {shape!r}")
    classes = spec.get("classes")
    if not (isinstance(classes, list) and 1 <= len(classes) <= SPEC_LIMITS["classes"]
            and all(isinstance(c, str) for c in classes)):
        bad(f"classes {str(classes)[:60]}")
    for key in ("z_dim", "width", "embed_dim"):
        v = spec.get(key)
        if type(v) is not int or not 1 <= v <= SPEC_LIMITS[key]:
            bad(f"{key} {v!r}")
    return spec


def count_parameters(build) -> tuple[int, torch.nn.Module]:
    """Parameters of the network ``build()`` makes, built on the meta device (shapes only, no memory)."""
    with torch.device("meta"):
        shell = build()
    return sum(p.numel() for p in shell.parameters()), shell


def _checked_build(build, state: Any, what: str, path) -> torch.nn.Module:
    # Shapes first, on the meta device (no memory), then the real network and its weights.
    n, shell = count_parameters(build)
    if n > MAX_PARAMS:
        raise CheckpointError(f"checkpoint: {str(path)!r} describes a {what} of {n:,} parameters (limit "
                              f"{MAX_PARAMS:,}). Use a file written by ganaug.")
    expected = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint: {str(path)!r} has no usable {what} weights. Re-create the file.")
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        diff = sorted(set(got.items()) ^ set(expected.items()))[:2]
        raise CheckpointError(f"checkpoint: {str(path)!r} has {what} weights that do not match its spec "
                              f"(e.g. {diff}). Re-create the file.")
    for key, value in state.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"checkpoint: {str(path)!r} has NaN/inf {what} weights ({key!r}); the run that "
                                  "wrote it had diverged. Use an earlier checkpoint or re-train.")
    net = build()
    net.load_state_dict(state)
    return net


def discriminator_for(spec: dict, config: Mapping[str, Any]):
    """The discriminator of a training run: the one rule from spec and TrainConfig fields to D."""
    spectral = config.get("spectral_norm")
    spectral = spectral if spectral is not None else config.get("loss") != "wgan-gp"
    aux = float(config.get("aux_weight", 0.0)) > 0
    return build_discriminator(spec, spectral, int(config.get("minibatch_std", 0)), aux,
                               bool(config.get("aux_twin", False)))


def save_training_checkpoint(path, *, config_json: str, spec: dict, data_id: str, step: int, nets: dict,
                             optimizers: dict, rngs: list, history: list, log: dict) -> Path:
    """Write a resumable training checkpoint: ``nets`` G, D, G_ema; ``optimizers`` opt_G, opt_D."""
    for name, net in nets.items():
        check_finite(net.state_dict(), name)
    return atomic_save({"format": CHECKPOINT_FORMAT, "version": VERSION, "config": config_json,
                        "spec": json.dumps(spec), "data": data_id, "step": step,
                        **{name: net.state_dict() for name, net in nets.items()},
                        **{name: opt.state_dict() for name, opt in optimizers.items()},
                        "rng": rngs[0], "rng_ranks": rngs, "world_size": len(rngs),
                        "history": json.dumps(history), "log": json.dumps(log)}, path)


def load_training_checkpoint(path) -> dict:
    """A training checkpoint with its spec checked, ``config`` parsed to a dict and G, D, G_ema checked
    against the spec and for NaN/inf (shapes on the meta device, before any network is built)."""
    obj = safe_load(path, expected=(CHECKPOINT_FORMAT,))
    spec = check_spec(obj.get("spec"), path)
    try:
        config = json.loads(obj["config"])
        if not isinstance(config, dict):
            raise TypeError("config is not an object")
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} has no readable training config ({_reason(err)}). "
                              "Re-create it by training.") from None
    for name in ("G", "G_ema"):
        _checked_build(lambda: build_generator(spec), obj.get(name), "generator", path)
    _checked_build(lambda: discriminator_for(spec, config), obj.get("D"), "discriminator", path)
    return {**obj, "spec": spec, "config_dict": config}


def load_generator(path, device: str | torch.device | None = None):
    """Load a generator saved by ``gen.save`` or the EMA generator of a training checkpoint.

    ``device``: ``None`` picks cuda when available, else cpu.
    """
    obj = safe_load(path)
    spec = check_spec(obj.get("spec"), path)
    state = obj.get("state_dict") if obj["format"] == GENERATOR_FORMAT else obj.get("G_ema")
    gen = _checked_build(lambda: build_generator(spec), state, "generator", path)
    device = torch.device(device) if device is not None else default_device()
    return gen.to(device).eval()


def load_discriminator(path) -> tuple[torch.nn.Module, dict]:
    """Rebuild the discriminator of a training checkpoint; returns ``(D in eval mode on CPU, spec)``."""
    obj = safe_load(path, expected=(CHECKPOINT_FORMAT,))
    spec = check_spec(obj.get("spec"), path)
    try:
        config = json.loads(obj["config"])
        config.get("loss")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} has a ganaug header but no usable discriminator "
                              f"({_reason(err)}). Re-create it by training.") from None
    d = _checked_build(lambda: discriminator_for(spec, config), obj.get("D"), "discriminator", path)
    return d.eval(), spec

