"""One probe of self-training on few labels: how many pool images get pseudo-labels, how many are right.

    python benchmarks/semi_probe.py --root data              # MNIST, 10 labels per class, seed 0
    python benchmarks/semi_probe.py --dataset digits --steps 300 --width 16 --n-per-class 5

``load_dataset(..., n_per_class=k, seed=s, unlabelled="rest")`` gives the labelled subset and the rest
of the training split as a pool without labels; ``ganaug.pseudo_label`` self-trains on them. The pool's
true labels are looked up only here, after the fact, to score the pseudo-labels. Every round's
classifier (round 0: labelled images alone) is scored on the official test split. Writes a JSON.
"""
from __future__ import annotations

import argparse
import time

import torch
from _common import ROOT, ROOT_HELP, machine, write_json

import ganaug


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist", choices=["mnist", "digits"])
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--n-per-class", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.95)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=1500, help="batches per classifier training")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "semi_probe.json"))
    args = p.parse_args(argv)

    full = ganaug.load_dataset(args.dataset, root=args.root)
    labelled, pool = ganaug.load_dataset(full, n_per_class=args.n_per_class, seed=args.seed, unlabelled="rest")
    if args.dataset == "mnist":
        test = ganaug.load_dataset("mnist", root=args.root, train=False)
    else:  # digits has no test split: score on the pool's hidden labels
        test = None
    # The pool is the training split without the labelled rows, in order: its hidden labels, for scoring only.
    seen = {row.tobytes() for row in labelled.images.reshape(len(labelled), -1).numpy()}
    rest = torch.tensor([row.tobytes() not in seen for row in full.images.reshape(len(full), -1).numpy()])
    truth = full.targets[rest]  # (M,)
    assert len(truth) == len(pool), "a pool image equals a labelled image; the lookup needs unique rows"
    if test is None:
        test = ganaug.LabelledImages(pool, truth, full.classes)

    t0 = time.monotonic()
    result = ganaug.pseudo_label(labelled, pool, threshold=args.threshold, rounds=args.rounds, steps=args.steps,
                                 width=args.width, seed=args.seed, progress=True)
    wall = time.monotonic() - t0
    right = result.pseudo.targets == truth[result.pool_index]
    test_acc = [float((ganaug.predict_proba(m, test.images).argmax(1) == test.targets).double().mean())
                for m in result.classifiers]
    out = {"dataset": args.dataset, "n_per_class": args.n_per_class, "seed": args.seed, "pool": len(pool),
           "threshold": args.threshold, "rounds": result.rounds, "steps": args.steps, "width": args.width,
           "kept": result.n_pseudo, "kept_accuracy": float(right.double().mean()) if len(right) else None,
           "test_accuracy_per_round": test_acc, "wall_s": round(wall, 1), "machine": machine()}
    write_json(out, args.out)
    print(out)
    return out


if __name__ == "__main__":
    main()
