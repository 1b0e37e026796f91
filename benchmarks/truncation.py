"""How does the truncation trick change a generator's images? Label agreement and variety per bound.

    python benchmarks/truncation.py --root data --checkpoints runs/*/generator.pt
    python benchmarks/truncation.py --tiny       # seconds: checks that the script works

For each generator and each ``--bounds`` value (``none`` = the full Gaussian), draws ``--n`` images
(classes cycled, seed 0) with ``gen.sample(..., truncation=bound)`` and reports: **agreement**, the
share of images that a reference classifier (``ganaug evaluate``'s feature extractor: a SmallCNN trained
on the dataset's whole training split, about 99% test accuracy on MNIST) assigns to the class they were
drawn for; its mean confidence; and **variety**, the mean per-pixel standard deviation within a class.
Writes benchmarks/results/truncation.json (``--out``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs from a plain checkout too (no pip install)
    sys.path.insert(0, str(ROOT))

import ganaug  # noqa: E402
from _common import ROOT_HELP, machine, save_result  # noqa: E402
from ganaug.metrics import feature_extractor  # noqa: E402


def score(gen, reference, n: int, bound: float | None) -> dict:
    images, labels = gen.sample(n, seed=0, truncation=bound)  # (n, C, H, W), (n,)
    probs = ganaug.predict_proba(reference, images)  # (n, K)
    variety = torch.stack([images[labels == c].flatten(1).std(0).mean() for c in labels.unique()]).mean()
    return {"bound": bound, "agreement": float((probs.argmax(1) == labels).double().mean()),
            "confidence": float(probs.max(1).values.double().mean()), "variety": float(variety)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--dataset", default="mnist", help="the generators' dataset (default: mnist)")
    p.add_argument("--checkpoints", nargs="+", default=[], help="generator.pt files")
    p.add_argument("--bounds", nargs="+", default=["none", "2", "1.5", "1", "0.5"])
    p.add_argument("--n", type=int, default=5000, help="images per generator and bound")
    p.add_argument("--tiny", action="store_true", help="digits, a generator trained for a few steps")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/truncation.json)")
    args = p.parse_args(argv)
    try:
        bounds = [None if b == "none" else float(b) for b in args.bounds]
    except ValueError:
        raise SystemExit(f"--bounds: expected numbers > 0 or 'none', got {args.bounds}") from None
    if args.n < 1 or any(b is not None and b <= 0 for b in bounds):
        raise SystemExit("--n, --bounds: expected >= 1 and > 0")
    torch.set_num_threads(1)
    if args.tiny:
        data = ganaug.load_dataset("digits")
        gens = {"tiny": ganaug.fit(data, ganaug.TrainConfig(arch="mlp", steps=5, device="cpu"), progress=False)[0]}
        args.dataset, args.n = "digits", min(args.n, 200)
        reference = feature_extractor(data, epochs=1, device="cpu")
    else:
        if not args.checkpoints:
            raise SystemExit("--checkpoints: expected at least one generator.pt (or --tiny)")
        gens = {c: ganaug.load_generator(c, device="cpu") for c in args.checkpoints}
        reference = feature_extractor(args.dataset, root=args.root, device="cpu")
    rows = []
    for name, gen in gens.items():
        for bound in bounds:
            row = {"checkpoint": name, **score(gen, reference, args.n, bound)}
            rows.append(row)
            print(f"{name}  |z| <= {bound if bound is not None else 'inf':>4}: agreement {row['agreement']:.3f}  "
                  f"confidence {row['confidence']:.3f}  variety {row['variety']:.3f}", flush=True)
    result = {"dataset": args.dataset, "n": args.n, "machine": machine(), "rows": rows}
    save_result(result, args.out, "truncation.json", args.tiny)
    return result


if __name__ == "__main__":
    main()
