"""Short proxy runs for choosing a GAN recipe: train for a fixed wall-clock budget, then a quick CAS.

    python benchmarks/recipe_search.py --root data --name aux64_lr4 --minutes 6 --threads 1 \\
        --set aux_weight=1 lr_g=4e-4 lr_d=4e-4

Each run trains ``ganaug.fit`` (``arch=mlp`` unless ``--set arch=...``) on the whole training split
for ``--minutes``, then scores the returned (EMA) generator with
``ganaug.metrics.classification_accuracy_score(gen, test, --cas-per-class, --cas-epochs, seed=0)`` on the
real test split. A proxy, not the final number: compare runs made under the same conditions (same
minutes and threads, nothing else on the CPU, or pairs run side by side with one thread each).
Appends one JSON line per run to ``OUT/runs.jsonl`` and keeps the generator in ``OUT/NAME/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

import ganaug
from _common import ROOT, machine
from ganaug.metrics import classification_accuracy_score


def parse_overrides(items: list[str]) -> dict:
    """``["aux_weight=1", "lr_g=4e-4"]`` -> TrainConfig keyword arguments, typed like the defaults."""
    fields = {f.name: f for f in dataclasses.fields(ganaug.TrainConfig)}
    defaults = ganaug.TrainConfig()
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"recipe_search: error: --set: expected FIELD=VALUE with FIELD a TrainConfig field "
                             f"({', '.join(sorted(fields))}), got {item!r}")
        default = getattr(defaults, key)
        kind = type(default) if default is not None and not isinstance(default, tuple) else None
        try:
            out[key] = (raw.lower() in ("1", "true", "yes")) if kind is bool else kind(raw) if kind else json.loads(raw)
        except ValueError:
            raise SystemExit(f"recipe_search: error: --set {key}: expected a value of type {kind.__name__}, "
                             f"got {raw!r}") from None
    return out


def run(data, test, name: str, minutes: float, overrides: dict, out: Path, cas_per_class: int,
        cas_epochs: int) -> dict:
    cfg = ganaug.TrainConfig(**{"arch": "mlp", "max_minutes": minutes, "steps": None, "sample_every": 0,
                                "checkpoint_every": 0, **overrides})
    last = {"step": 0}
    t0 = time.time()
    gen, _ = ganaug.fit(data, cfg, out_dir=out / name, overwrite=True, progress=False,
                        hooks=[lambda s: last.update(step=s.step)])
    train_s = time.time() - t0
    t0 = time.time()
    cas = classification_accuracy_score(gen, test, cas_per_class, cas_epochs, seed=0)
    return {"name": name, "overrides": overrides, "minutes": minutes, "steps": last["step"],
            "train_s": round(train_s, 1), "cas": cas["accuracy"],
            "per_class": [round(a, 4) for a in cas["per_class_accuracy"]], "cas_per_class": cas_per_class,
            "cas_epochs": cas_epochs, "cas_s": round(time.time() - t0, 1), "threads": torch.get_num_threads(),
            "machine": machine()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    p.add_argument("--root", default=None, help="folder holding MNIST")
    p.add_argument("--name", required=True, help="run name (sub-folder of --out)")
    p.add_argument("--minutes", type=float, default=6.0, help="training budget (default 6)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="TrainConfig overrides")
    p.add_argument("--cas-per-class", type=int, default=1000)
    p.add_argument("--cas-epochs", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "recipe_search"))
    args = p.parse_args(argv)
    overrides = parse_overrides(args.set)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = ganaug.load_dataset(args.dataset, root=args.root)
    test = ganaug.load_dataset(args.dataset, root=args.root, train=False)
    out = Path(args.out)
    row = run(data, test, args.name, args.minutes, overrides, out, args.cas_per_class, args.cas_epochs)
    print(json.dumps(row), flush=True)
    with open(out / "runs.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


if __name__ == "__main__":
    main()
