"""Is the batched torch augmentation (``ganaug.DigitAugment``) as strong as the albumentations pipeline?

    python benchmarks/augment_backends.py --root data --sizes 10 20 --seeds 0 1
    python benchmarks/augment_backends.py --tiny       # seconds: checks that the script works

Trains the downstream benchmark's ``real+aug`` classifier (``BenchmarkConfig`` defaults: SmallCNN
width 16, Adam 1e-3 with cosine decay, batch 64, the sized schedule) on the same labelled subsets once
per backend: ``albumentations`` (``digit_augmentation`` per image in the data path) and ``torch``
(``DigitAugment`` on whole batches). Scored on the benchmark's selection split and on its
evaluation split with ``--eval-split val`` (the default: no test images for a tuning question).
Reports accuracy and CPU seconds per run; writes benchmarks/results/augment_backends.json (``--out``).
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
from ganaug.bench import BenchmarkConfig, load_benchmark_data  # noqa: E402
from ganaug.classify import accuracy  # noqa: E402

BACKENDS = ("albumentations", "torch")


def train(subset, backend: str, cfg: BenchmarkConfig, seed: int):
    size = subset.image_shape[1]
    kw = dict(steps=cfg.clf_steps or cfg.sized_steps(len(subset)), seed=seed, device="cpu", batch_size=cfg.clf_batch,
              lr=cfg.clf_lr, width=cfg.clf_width, lr_schedule=cfg.clf_schedule)
    if backend == "torch":
        return ganaug.train_classifier(subset, augment=ganaug.DigitAugment(size, seed), **kw)
    aug = ganaug.AlbumentationsAdapter(ganaug.data.digit_augmentation(size, seed))
    return ganaug.train_classifier(ganaug.LabelledImages(subset.images, subset.targets, subset.classes, transform=aug),
                                   **kw)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when present)")
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 20], help="labelled images per class")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--eval-split", default="val", choices=("val", "test"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tiny", action="store_true", help="digits, a few steps: checks the script runs")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/augment_backends.json)")
    args = p.parse_args(argv)
    if min(args.sizes) < 1 or args.threads < 1:
        raise SystemExit("--sizes, --threads: expected >= 1")
    torch.set_num_threads(args.threads)
    name = args.dataset or ("digits" if args.tiny or not mnist_root(args.root) else "mnist")
    cfg = BenchmarkConfig(dataset=name, root=args.root, eval_split=args.eval_split, device="cpu",
                          **(dict(val_per_class=20, clf_steps=4, clf_width=2) if args.tiny else {})).validate()
    pool, selection, evaluation = load_benchmark_data(cfg)
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            subset = ganaug.stratified_subset(pool, size, seed=seed)
            for backend in args.backends:
                start = time.process_time()
                model = train(subset, backend, cfg, seed)
                row = {"size": size, "seed": seed, "backend": backend, "selection_accuracy": accuracy(model, selection),
                       "accuracy": accuracy(model, evaluation), "cpu_s": round(time.process_time() - start, 1)}
                rows.append(row)
                print(f"{size}/class seed {seed} {backend:14} accuracy {row['accuracy']:.4f} "
                      f"(selection {row['selection_accuracy']:.4f}), {row['cpu_s']} CPU s", flush=True)
    result = {"dataset": name, "eval_split": args.eval_split, "setting": cfg.setting(), "machine": machine(),
              "threads": args.threads, "rows": rows}
    save_result(result, args.out, "augment_backends.json", args.tiny)
    return result


if __name__ == "__main__":
    main()
