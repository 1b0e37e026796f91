"""Atomic, safe-to-load files: generators and full training checkpoints (this module owns both formats).

Everything is stored as tensors, numbers and JSON strings, so ``torch.load(weights_only=True)`` can
read it without unpickling arbitrary objects from an untrusted file. Before anything is allocated a
file is checked against documented limits: the zip archive (entry count, uncompressed size), then the
JSON spec (sizes within ``SPEC_LIMITS``, parameter count from a shape-only build on the ``meta``
device), then every tensor's name and shape; weights must be finite, on save and on load.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

GENERATOR_FORMAT = "ganaug.generator"
CHECKPOINT_FORMAT = "ganaug.checkpoint"
VERSION = 1

# Limits a file must respect before anything is built from it (docs/robustness.md lists them).
MAX_FILE_BYTES = 2 << 30  # uncompressed size of all archive entries
MAX_ENTRIES = 10_000  # archive entries (a checkpoint has a few hundred)
MAX_PARAMS = 250_000_000  # parameters of one network (1 GB of float32)
SPEC_LIMITS = {"z_dim": 4096, "width": 1024, "embed_dim": 4096, "classes": 10_000, "side": (8, 64)}


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not a ganaug file."""


class DiskFullError(OSError):
    """The disk filled up while writing a file; the previous version of the file is unchanged."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_save(obj: Any, path, write: Any = None) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then rename over ``path``.

    ``write(obj, file)`` replaces ``torch.save`` for other formats (e.g. ``numpy.savez_compressed``).

    The file gets the permissions of a plain ``open()`` (0666 minus the umask). A full disk raises
    :class:`DiskFullError` and leaves any previous file at ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as f:
            (write or torch.save)(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            full = DiskFullError(f"no space left on the device while writing {str(path)!r}; the previous "
                                 "file there (if any) is unchanged. Free disk space and run again.")
            full.errno = err.errno
            raise full from None
        raise
    return path


def _check_archive(path: Path) -> None:
    # torch.save writes a zip of stored (uncompressed) entries; a file that inflates to much more than
    # its own size, or has absurdly many entries, is refused before torch reads a byte of it.
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} is not a readable ganaug file (not a zip archive: "
                              f"{_reason(err)}). It may be truncated or come from another program; re-create it."
                              ) from None
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_ENTRIES or total > MAX_FILE_BYTES or total > 2 * size + (1 << 20):
        raise CheckpointError(f"checkpoint: {str(path)!r} is refused: {len(infos):,} archive entries inflating to "
                              f"{total:,} bytes from a {size:,}-byte file (limits: {MAX_ENTRIES:,} entries, "
                              f"{MAX_FILE_BYTES:,} bytes, no compression). Use a file written by ganaug.")


def _reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:120] if text else type(err).__name__


def safe_load(path, expected: tuple[str, ...] = (GENERATOR_FORMAT, CHECKPOINT_FORMAT)) -> dict:
    """Load a ganaug file with ``weights_only=True`` (after the archive checks) and check its format tag."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint: no file at {str(path)!r}. Pass the path of a file written by "
                              "gen.save(...) or by training (OUT/checkpoint.pt).")
    _check_archive(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, random bytes, a pickle with foreign classes, ...
        raise CheckpointError(f"checkpoint: {str(path)!r} is not a readable ganaug file ({_reason(err)}). It may "
                              "be truncated or come from another program; re-create it.") from None
    if not isinstance(obj, dict) or obj.get("format") not in expected:
        got = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"checkpoint: expected a file of format {' or '.join(expected)}, got "
                              f"{got!r} in {str(path)!r}. Pass a file written by ganaug.")
    if obj.get("version") != VERSION:
        raise CheckpointError(f"checkpoint: expected format version {VERSION}, got {obj.get('version')!r} "
                              f"in {str(path)!r}. Re-create it with this ganaug version.")
    return obj


def check_finite(state: Mapping[str, Any], what: str) -> None:
    """Refuse NaN/inf weights (raises FloatingPointError): used before every save."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            raise FloatingPointError(f"{what}: parameter {key!r} is NaN/inf; refusing to write it to disk.")


def check_spec(spec: Any, path: Any = "spec") -> dict:
    """The generator/discriminator description of a file, checked against ``SPEC_LIMITS``."""
    from .models import ARCHS

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
    from .models import build_discriminator

    spectral = config.get("spectral_norm")
    spectral = spectral if spectral is not None else config.get("loss") != "wgan-gp"
    aux = float(config.get("aux_weight", 0.0)) > 0
    return build_discriminator(spec, spectral, int(config.get("minibatch_std", 0)), aux,
                               bool(config.get("aux_twin", False)))


def save_generator(gen, path) -> Path:
    state = {k: v.detach().cpu() for k, v in gen.state_dict().items()}
    check_finite(state, "generator")
    return atomic_save({"format": GENERATOR_FORMAT, "version": VERSION, "spec": json.dumps(gen.spec),
                        "state_dict": state}, path)


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
    from .models import build_generator

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
    from .models import build_generator

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


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
