"""The results CSV of a benchmark: one row per finished run, appended safely, read back to skip done runs."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Sequence

from .._checks import fail

# The downstream benchmark's columns (benchmark.py); other benchmarks pass their own.
CSV_FIELDS = ("setting", "dataset", "eval_split", "size", "n_real", "n_classes", "seed", "method", "share",
              "accuracy", "balanced_accuracy", "val_accuracy", "gan_steps", "gan_wall_s", "gan_cas", "clf_steps",
              "wall_s", "device", "status", "finished_at", "gan_recall", "gan_coverage")


class ResultStore:
    """A CSV of finished runs: appended one row at a time (flushed and fsynced), read back to skip.

    ``fields``: the columns; ``ints`` / ``floats``: the columns parsed back as numbers (empty -> None / nan).
    A CSV written before the last columns were added (its header a prefix of ``fields``) is still read,
    the missing columns as empty, and appended to with its own header.
    """

    def __init__(self, path: str | os.PathLike, fields: Sequence[str] = CSV_FIELDS,
                 ints: Sequence[str] = ("size", "n_real", "n_classes", "seed", "gan_steps", "clf_steps"),
                 floats: Sequence[str] = ("accuracy", "balanced_accuracy", "val_accuracy", "gan_wall_s", "gan_cas",
                                          "wall_s", "gan_recall", "gan_coverage")):
        self.path = Path(path)
        self.fields, self.ints, self.floats = tuple(fields), tuple(ints), tuple(floats)

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            self._header(reader.fieldnames)
            return [self._parse(r) for r in reader]

    def _header(self, names: Sequence[str] | None) -> list[str]:
        names = list(names or [])
        if len(names) < 2 or names != list(self.fields[:len(names)]):
            fail("out", f"a results CSV with columns {', '.join(self.fields)}",
                 f"{self.path} with columns {names or None}", "Point --out at a new folder.")
        return names

    def done(self, setting: str, key: Sequence[str] = ("size", "seed", "method")) -> set[tuple]:
        """Keys of the ``ok`` rows of ``setting``."""
        return {tuple(r[k] for k in key) for r in self.rows() if r["setting"] == setting and r["status"] == "ok"}

    def append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as f:
            _lock(f)  # several processes may share one CSV (e.g. seeds split over two workers)
            try:
                fields = self.fields
                if f.seek(0, os.SEEK_END) > 0:  # an older CSV may lack the last columns: keep its header
                    with open(self.path, newline="") as g:
                        fields = self._header(next(csv.reader(g), None))
                writer = csv.DictWriter(f, fieldnames=fields)
                if f.tell() == 0:
                    writer.writeheader()
                writer.writerow({k: row.get(k, "") for k in fields})
                f.flush()
                os.fsync(f.fileno())
            finally:
                _lock(f, release=True)

    def _parse(self, r: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {k: r.get(k) or "" for k in self.fields}
        for k in self.ints:
            out[k] = int(r[k]) if r.get(k) not in (None, "") else None
        for k in self.floats:
            out[k] = float(r[k]) if r.get(k) not in (None, "") else float("nan")
        return out


def _lock(f, release: bool = False) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer per CSV there
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_UN if release else fcntl.LOCK_EX)


def select_rows(rows: Sequence[dict[str, Any]], setting: str | None = None) -> list[dict[str, Any]]:
    """The ``ok`` rows of one setting (default: the setting of the last row written)."""
    if not rows:
        return []
    setting = setting or rows[-1]["setting"]
    return [r for r in rows if r["setting"] == setting and r["status"] == "ok"]
