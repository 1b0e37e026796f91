"""Does bf16 autocast on the CPU (``cpu_amp=True``) cost quality? The mlp recipe trained in both ways, then CAS.

    python benchmarks/cpu_amp_quality.py --root data --steps 2000
    python benchmarks/cpu_amp_quality.py --tiny       # seconds: checks that the script works

Trains the recommended mlp recipe (``arch="mlp", aux_weight=0.5, aux_twin=True, z_dim=128,
lr_g=lr_d=4e-4``) for ``--steps`` generator steps with the same seed, once in float32 and once with
``cpu_amp=True``, and scores each generator by CAS (``ganaug.metrics.classification_accuracy_score``:
a classifier trained on ``--n-per-class`` generated images per class, tested on the real test
split). Equal steps, so the comparison is about quality per step; the speed per step is
benchmarks/train_speed.py's. Also reports the CPU seconds of each training (1 torch thread by
default). Writes benchmarks/results/cpu_amp_quality.json (``--out``).
"""
from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when present)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--n-per-class", type=int, default=1000, help="generated images per class for CAS")
    p.add_argument("--epochs", type=int, default=10, help="CAS classifier epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tiny", action="store_true", help="digits, a few steps: checks the script runs")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/cpu_amp_quality.json)")
    args = p.parse_args(argv)
    if args.tiny:
        args.dataset, args.steps, args.n_per_class, args.epochs = args.dataset or "digits", 4, 4, 1
    if args.steps < 1 or args.n_per_class < 1 or args.epochs < 1 or args.threads < 1:
        raise SystemExit("--steps, --n-per-class, --epochs, --threads: expected >= 1")
    torch.set_num_threads(args.threads)
    name = args.dataset or ("mnist" if mnist_root(args.root) else "digits")
    if name == "digits":  # no test split: a seeded split of the embedded digits
        train, test = ganaug.train_val_split(ganaug.load_dataset("digits"), val_fraction=0.3, seed=0)
    else:
        train = ganaug.load_dataset(name, root=args.root)
        test = ganaug.load_dataset(name, root=args.root, train=False)
    rows = []
    for cpu_amp in (False, True):
        cfg = ganaug.TrainConfig(**MLP, steps=args.steps, cpu_amp=cpu_amp, seed=args.seed, device="cpu",
                                 sample_every=0, checkpoint_every=0)
        start = time.process_time()
        gen, _ = ganaug.fit(train, cfg, progress=False)
        cpu_s = time.process_time() - start
        cas = classification_accuracy_score(gen, test, n_per_class=args.n_per_class, epochs=args.epochs,
                                            seed=args.seed, device="cpu")
        rows.append({"cpu_amp": cpu_amp, "steps": args.steps, "train_cpu_s": round(cpu_s, 1),
                     "cas": round(cas["accuracy"], 4), "per_class": [round(a, 3) for a in cas["per_class_accuracy"]]})
        print(f"cpu_amp={cpu_amp}: {args.steps} steps in {cpu_s:.1f} CPU s, CAS {cas['accuracy']:.4f}", flush=True)
    result = {"dataset": name, "machine": machine(), "threads": args.threads, "seed": args.seed,
              "n_per_class": args.n_per_class, "epochs": args.epochs, "recipe": MLP, "rows": rows}
    save_result(result, args.out, "cpu_amp_quality.json", args.tiny)
    return result


if __name__ == "__main__":
    main()
