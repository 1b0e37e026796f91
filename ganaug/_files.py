"""Atomic, safe-to-load ganaug files: the container every ganaug file format uses.

A file is a ``torch.save`` dict of tensors, numbers and JSON strings with a ``format`` tag and a
``version``, so ``torch.load(weights_only=True)`` reads it without unpickling arbitrary objects from an
untrusted file; before torch reads a byte, the zip archive is checked against documented limits (entry
count, uncompressed size). Writes go to a temp file, fsync, rename. What a format holds is up to its
owner: ``gan/checkpoint.py`` (generators, training checkpoints), ``metrics/feature_net.py`` (feature
extractor cache), ``classify/semi.py`` (pseudo-labels).
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

VERSION = 1

# Limits a file must respect before torch reads it (docs/robustness.md lists them).
MAX_FILE_BYTES = 2 << 30  # uncompressed size of all archive entries
MAX_ENTRIES = 10_000  # archive entries (a checkpoint has a few hundred)


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


def safe_load(path, expected: tuple[str, ...]) -> dict:
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



def save_weights(path, format: str, spec: Mapping[str, Any], state: Mapping[str, torch.Tensor], what: str) -> Path:
    """Write one network: ``{format, version, spec (JSON text), state_dict (CPU tensors)}``, refusing NaN/inf."""
    state = {k: v.detach().cpu() for k, v in state.items()}
    check_finite(state, what)
    return atomic_save({"format": format, "version": VERSION, "spec": json.dumps(spec), "state_dict": state}, path)
