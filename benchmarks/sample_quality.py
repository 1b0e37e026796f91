"""Is a trained generator any good? Recognisability and within-class variety of its samples.

    python benchmarks/sample_quality.py --checkpoint runs/mnist_full/generator.pt --dataset mnist --root data

* accuracy: ganaug's SmallCNN trained on the real training split (cached like `ganaug evaluate`'s extractor)
  classifies generated images; the score is how often it agrees with the label the generator was
  asked for (the same CNN's accuracy on the real test split is printed as the
  ceiling).
* diversity ratio: mean pairwise distance of generated images within a class divided by the same for
  real test images. About 1 is healthy; below 0.5 is flagged as mode collapse.
Writes a JSON report next to the checkpoint (``<checkpoint>.quality.json``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import ganaug
from ganaug.classify import SmallCNN, predict_proba
from ganaug.data import load_split
from ganaug.metrics import diversity_ratio, feature_extractor
from _common import ROOT_HELP, mnist_root, write_json

COLLAPSE_BELOW = 0.5


def reference_model(train, epochs: int) -> SmallCNN:
    """ganaug's SmallCNN trained on the real training split (seed 0), cached like `ganaug evaluate`'s."""
    return feature_extractor(train, seed=0, epochs=epochs, device="cpu")


def predict(model, images: torch.Tensor) -> torch.Tensor:
    return predict_proba(model, images).argmax(1)


def quality_report(gen, dataset: str, per_class: int = 500, epochs: int = 2, root=None) -> dict:
    """Reference-CNN accuracy on generated images and per-class diversity ratio vs real test images."""
    train, test = load_split(dataset, root=root, seed=0)
    model = reference_model(train, epochs)
    real_acc = (predict(model, test.images) == test.targets).double().mean().item()
    labels = torch.arange(gen.num_classes).repeat_interleave(per_class)
    fake, y = gen.sample(len(labels), labels=labels, seed=0)
    hit = predict(model, fake) == y
    per_class_acc = [hit[y == c].double().mean().item() for c in range(gen.num_classes)]
    ratio = diversity_ratio(fake, y, test.images, test.targets, gen.num_classes).tolist()
    return {"dataset": dataset, "reference_test_accuracy": real_acc, "sample_accuracy": hit.double().mean().item(),
            "per_class_accuracy": per_class_acc, "diversity_ratio": ratio, "mean_diversity_ratio": sum(ratio) / len(ratio),
            "collapsed_classes": [c for c, r in enumerate(ratio) if r < COLLAPSE_BELOW], "samples_per_class": per_class}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist or digits")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--per-class", type=int, default=500)
    p.add_argument("--epochs", type=int, default=2, help="reference CNN epochs")
    args = p.parse_args()
    t0 = time.time()
    gen = ganaug.load_generator(args.checkpoint, device="cpu")
    report = {"checkpoint": str(args.checkpoint), **quality_report(gen, args.dataset, args.per_class, args.epochs, args.root)}
    report["seconds"] = round(time.time() - t0, 1)
    ratio, acc = report["diversity_ratio"], report["per_class_accuracy"]
    print(f"reference CNN test accuracy on real images: {report['reference_test_accuracy']:.4f}")
    print(f"{'class':>5} {'accuracy':>9} {'diversity':>9}")
    for c in range(gen.num_classes):
        flag = "  <- collapsed" if ratio[c] < COLLAPSE_BELOW else ""
        print(f"{c:>5} {acc[c]:9.3f} {ratio[c]:9.2f}{flag}")
    print(f"  all {report['sample_accuracy']:9.3f} {report['mean_diversity_ratio']:9.2f}")
    write_json(report, Path(str(args.checkpoint) + ".quality.json"))


if __name__ == "__main__":
    main()
