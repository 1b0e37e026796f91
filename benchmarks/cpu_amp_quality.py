"""Do the CPU speed options cost quality? The mlp recipe trained each way, then CAS.

    python benchmarks/cpu_amp_quality.py --root data --steps 2000
    python benchmarks/cpu_amp_quality.py --root data --budget-cpu-s 360 --variants float32,bf16,bf16-compile
    python benchmarks/cpu_amp_quality.py --tiny       # seconds: checks that the script works

Trains the recommended mlp recipe (``arch="mlp", aux_weight=0.5, aux_twin=True, z_dim=128,
lr_g=lr_d=4e-4``) with the same seed once per ``--variants`` entry: ``float32`` (the default
training), ``bf16`` (``cpu_amp=True``), ``bf16-compile`` (``cpu_amp=True, compile=True``) or
``float32-compile``, and scores each generator by CAS (``ganaug.metrics.classification_accuracy_score``:
a classifier trained on ``--n-per-class`` generated images per class, tested on the real test
split). With ``--steps``, every variant makes the same number of steps (quality per step; the speed
per step is benchmarks/train_speed.py's). With ``--budget-cpu-s S``, every variant trains until its
training thread has used S CPU seconds, compilation included (quality per unit of compute: on an
idle core, a fixed wall-clock budget), and the steps it made are reported. CPU seconds are those of
the training thread, so other processes on the machine do not shift the budget; with a budget,
compilation runs in that thread and without torch.compile's caches (a cold compile, as in a first
run). 1 torch thread by default. Writes benchmarks/results/cpu_amp_quality.json (``--out``).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs from a plain checkout too (no pip install)
    sys.path.insert(0, str(ROOT))

import ganaug  # noqa: E402
from _common import ROOT_HELP, machine, mnist_root, save_result  # noqa: E402
from ganaug.metrics import classification_accuracy_score  # noqa: E402
from train_speed import MLP  # noqa: E402

VARIANTS = {"float32": {}, "bf16": {"cpu_amp": True}, "bf16-compile": {"cpu_amp": True, "compile": True},
            "float32-compile": {"compile": True}}


def budget_hook(cpu_s: float):
    """A training hook that stops once this thread has used ``cpu_s`` CPU seconds since the hook was made."""
    start = time.thread_time()
    return lambda state: time.thread_time() - start >= cpu_s


def _train_and_score(args, variants, train, test) -> list[dict]:
    rows, budget = [], args.budget_cpu_s
    for variant in variants:
        # With a budget, `steps` only has to be out of reach (no lr schedule depends on it by default).
        cfg = ganaug.TrainConfig(**MLP, **VARIANTS[variant], steps=10**9 if budget else args.steps, seed=args.seed,
                                 device="cpu", sample_every=0, checkpoint_every=0)
        steps = []
        hooks = [lambda state: steps.append(state.step)] + ([budget_hook(budget)] if budget else [])
        start, wall = time.thread_time(), time.perf_counter()
        gen, _ = ganaug.fit(train, cfg, progress=False, hooks=hooks)
        cpu_s, wall_s = time.thread_time() - start, time.perf_counter() - wall
        cas = classification_accuracy_score(gen, test, n_per_class=args.n_per_class, epochs=args.epochs,
                                            seed=args.seed, device="cpu")
        rows.append({"variant": variant, **VARIANTS[variant], "steps": steps[-1], "train_cpu_s": round(cpu_s, 1),
                     "train_wall_s": round(wall_s, 1), "cas": round(cas["accuracy"], 4),
                     "per_class": [round(a, 3) for a in cas["per_class_accuracy"]]})
        print(f"{variant}: {steps[-1]} steps in {cpu_s:.1f} CPU s ({wall_s:.1f} s wall), CAS {cas['accuracy']:.4f}",
              flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when present)")
    p.add_argument("--steps", type=int, default=2000, help="generator steps per variant (without --budget-cpu-s)")
    p.add_argument("--budget-cpu-s", type=float, default=None,
                   help="instead of --steps: train each variant for this many CPU seconds of its thread")
    p.add_argument("--variants", default="float32,bf16", help=f"comma-separated subset of {','.join(VARIANTS)}")
    p.add_argument("--n-per-class", type=int, default=1000, help="generated images per class for CAS")
    p.add_argument("--epochs", type=int, default=10, help="CAS classifier epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tiny", action="store_true", help="digits, a few steps: checks the script runs")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/cpu_amp_quality.json)")
    args = p.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not variants or not set(variants) <= set(VARIANTS):
        raise SystemExit(f"--variants: expected a comma-separated subset of {','.join(VARIANTS)}, "
                         f"got {args.variants!r}")
    if args.tiny:
        args.dataset, args.steps, args.n_per_class, args.epochs = args.dataset or "digits", 4, 4, 1
        args.budget_cpu_s = None if args.budget_cpu_s is None else 0.5
    if args.steps < 1 or args.n_per_class < 1 or args.epochs < 1 or args.threads < 1:
        raise SystemExit("--steps, --n-per-class, --epochs, --threads: expected >= 1")
    if args.budget_cpu_s is not None and args.budget_cpu_s <= 0:
        raise SystemExit(f"--budget-cpu-s: expected seconds > 0, got {args.budget_cpu_s}")
    torch.set_num_threads(args.threads)
    name = args.dataset or ("mnist" if mnist_root(args.root) else "digits")
    if name == "digits":  # no test split: a seeded split of the embedded digits
        train, test = ganaug.train_val_split(ganaug.load_dataset("digits"), val_fraction=0.3, seed=0)
    else:
        train = ganaug.load_dataset(name, root=args.root)
        test = ganaug.load_dataset(name, root=args.root, train=False)
    budget_compile = args.budget_cpu_s is not None and any("compile" in VARIANTS[v] for v in variants)
    # The compilation counts in the budget: in this thread, and cold (no caches), as in a first run.
    settings = [(importlib.import_module("torch._inductor.config"), "compile_threads", 1),
                (torch.compiler.config, "force_disable_caches", True)] if budget_compile else []
    saved = [getattr(module, name) for module, name, _ in settings]
    try:
        for module, name, value in settings:
            setattr(module, name, value)
        rows = _train_and_score(args, variants, train, test)
    finally:
        for (module, name, _), value in zip(settings, saved):
            setattr(module, name, value)
    result = {"dataset": name, "machine": machine(), "threads": args.threads, "seed": args.seed,
              "budget_cpu_s": args.budget_cpu_s, "cold_compile": budget_compile, "n_per_class": args.n_per_class,
              "epochs": args.epochs, "recipe": MLP, "rows": rows}
    save_result(result, args.out, "cpu_amp_quality.json", args.tiny)
    return result


if __name__ == "__main__":
    main()
