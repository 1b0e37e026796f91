"""Guard a training output folder: one run at a time, no silent replacement, no stale temp files.

A run holds ``OUT/.ganaug.lock`` with an exclusive ``flock`` while it writes into ``OUT``. The kernel
drops the lock when the process ends in any way (kill -9 included), so a lock is never stale; the file
itself stays (removing it would let two processes lock two different files of the same name).
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from ._checks import check_bool, fail

LOCK_NAME = ".ganaug.lock"
RUN_FILES = ("checkpoint.pt", "generator.pt")  # a folder holding either holds a run
# Written by the run (and so replaced by overwrite=True); anything else in the folder is left alone.
SAMPLE_GLOBS = ("samples/step_*.png", "samples/final.png")
TEMP_GLOBS = tuple(f".{name}.*.tmp" for name in RUN_FILES)  # atomic_save's temp names


class OutDirInUseError(RuntimeError):
    """Another process is writing into the same output folder."""


def check_out_dir(out: Path, resume, overwrite: bool) -> None:
    """Refuse a folder that holds a run unless the caller resumes or overwrites it; nothing is written."""
    if not isinstance(overwrite, bool):
        check_bool("overwrite", overwrite)
    if resume and overwrite:
        fail("overwrite", "either resume or overwrite, not both", "resume and overwrite",
             "Pass resume=True (--resume) to continue the run, or overwrite=True (--overwrite) to replace it.")
    if out.exists() and not out.is_dir():
        fail("out_dir", "a folder (new or existing)", f"a file: {out}",
             "Pass the path of a folder for the run's files.")
    held = [name for name in RUN_FILES if (out / name).exists()]
    if held and not resume and not overwrite:
        fail("out_dir", "a new or empty folder, or resume/overwrite for one that holds a run",
             f"a folder holding a run ({', '.join(held)}): {out}",
             "Pass resume=True (CLI: --resume) to continue it, overwrite=True (CLI: --overwrite) to replace it, "
             "or another out_dir.")


class RunLock:
    """``with RunLock(out):`` holds ``out/.ganaug.lock`` exclusively, or raises :class:`OutDirInUseError`."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # no flock (Windows): run without the lock
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutDirInUseError(
                f"out_dir: {str(self.path.parent)!r} is in use by another ganaug run ({holder}). Wait for it to "
                "finish or stop it, or pass another out_dir (CLI: --out).") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # closing the descriptor releases the lock
            os.close(self.fd)
            self.fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"


def clean_temps(out: Path) -> list[Path]:
    """Delete temp files left by an interrupted atomic write (kill -9 mid-save); call under the lock."""
    stale = [p for pattern in TEMP_GLOBS for p in out.glob(pattern)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def clear_run(out: Path) -> None:
    """Remove the files of the run in ``out`` (for overwrite=True); call under the lock."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for pattern in SAMPLE_GLOBS:
        for p in out.glob(pattern):
            p.unlink(missing_ok=True)
