"""Shared helpers for the benchmark scripts (not part of the library)."""
from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

import ganaug

ROOT = Path(__file__).resolve().parents[1]


ROOT_HELP = "folder holding MNIST/raw (default $GANAUG_DATA, else ./data)"


def mnist_root(root: str | Path | None = None) -> Path | None:
    """The MNIST root (``root``, else $GANAUG_DATA, else ./data) if the official files (plain or .gz) are there."""
    root = Path(root if root is not None else ganaug.data.default_root())
    raw = root / "MNIST" / "raw"
    return root if any((raw / f"train-images-idx3-ubyte{gz}").exists() for gz in ("", ".gz")) else None


def machine() -> str:
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    return f"{platform.processor() or platform.machine()} / {dev} / torch {torch.__version__}"


def write_json(obj, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


def save_result(result, out: str | Path | None, default_name: str, tiny: bool) -> None:
    """Write ``result`` to ``out`` (default benchmarks/results/<default_name>); a ``--tiny`` run only with ``out``."""
    if tiny and out is None:
        print("--tiny: results not written (pass --out to write them)")
        return
    path = Path(out) if out is not None else ROOT / "benchmarks" / "results" / default_name
    write_json(result, path)
    print(f"wrote {path}")
