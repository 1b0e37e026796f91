"""Does the generator ignore its noise? Mode-seeking weight sweep on the embedded digits.

    python benchmarks/mode_collapse.py                       # weights 0, 0.03, 0.1; 1500 steps each
    python benchmarks/mode_collapse.py --weights 0 0.03 --steps 300

Trains one dcgan per mode-seeking weight on 70% of the digits, then reports (see sample_quality.py)
how often a reference CNN recognises the intended class and the within-class diversity ratio
(generated / real; below 0.5 = collapsed). Writes benchmarks/results/mode_collapse.json.
"""
from __future__ import annotations

import argparse
import time

import ganaug
from _common import ROOT, machine, write_json
from ganaug.data import load_split
from sample_quality import quality_report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.03, 0.1])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--arch", default="dcgan")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    train, _ = load_split("digits")
    rows = []
    for w in args.weights:
        t0 = time.time()
        cfg = ganaug.TrainConfig(arch=args.arch, steps=args.steps, mode_seeking=w, seed=args.seed, sample_every=0)
        gen, _ = ganaug.fit(train, cfg, progress=False)
        rep = quality_report(gen, "digits")
        rows.append({"mode_seeking": w, "train_seconds": round(time.time() - t0, 1), **rep})
        print(f"mode_seeking={w:<5} accuracy {rep['sample_accuracy']:.3f}  diversity ratio mean "
              f"{rep['mean_diversity_ratio']:.2f} min {min(rep['diversity_ratio']):.2f}  "
              f"collapsed classes {rep['collapsed_classes']}", flush=True)
    print(f"reference CNN accuracy on real test digits: {rows[0]['reference_test_accuracy']:.3f}; {machine()}")
    write_json({"machine": machine(), "steps": args.steps, "arch": args.arch, "rows": rows},
               ROOT / "benchmarks" / "results" / "mode_collapse.json")


if __name__ == "__main__":
    main()
