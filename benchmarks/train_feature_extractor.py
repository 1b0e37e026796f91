"""Train the MNIST feature extractor that ships in ganaug/weights/ (used by `ganaug evaluate`).

    python benchmarks/train_feature_extractor.py --root data

Trains ganaug's SmallCNN on the official MNIST training split exactly as
``ganaug.metrics.feature_extractor("mnist", seed=0)`` does (default epochs and width), reports its
accuracy on the official test split, and copies the weights into ``ganaug/weights/`` under the name
the loader looks for, so every user of this ganaug version scores MNIST generators with the same
network. Writes benchmarks/results/feature_extractor_mnist.json.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from ganaug.classify import accuracy
from ganaug.data import load_split
from ganaug.metrics import SHIPPED_WEIGHTS, feature_extractor
from _common import ROOT, ROOT_HELP, machine, mnist_root, write_json


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    root = args.root or mnist_root()
    train, test = load_split("mnist", root=root)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as cache:  # train from scratch, never reuse a cached or shipped file
        shipped = {f.name for f in SHIPPED_WEIGHTS.glob("*.pt")}
        model = feature_extractor(train, seed=args.seed, cache_dir=cache)
        if Path(model.cache_file).name in shipped and Path(model.cache_file).parent == SHIPPED_WEIGHTS:
            raise SystemExit("shipped weights already exist; delete them from ganaug/weights/ to retrain")
        SHIPPED_WEIGHTS.mkdir(exist_ok=True)
        dest = SHIPPED_WEIGHTS / Path(model.cache_file).name
        shutil.copyfile(model.cache_file, dest)
    acc = accuracy(model.cpu(), test)
    print(f"MNIST feature extractor: test accuracy {acc:.4f}, {model.epochs} epochs, "
          f"{time.time() - t0:.0f} s on {machine()}; wrote {dest}")
    write_json({"test_accuracy": acc, "epochs": model.epochs, "seed": args.seed, "file": dest.name,
                "seconds": round(time.time() - t0, 1), "machine": machine()},
               ROOT / "benchmarks" / "results" / "feature_extractor_mnist.json")


if __name__ == "__main__":
    main()
