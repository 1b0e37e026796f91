"""Training speed of the conditional GAN: generator steps/s and real images/s, per architecture.

    python benchmarks/train_speed.py --root data    # MNIST if present, else the embedded digits
    python benchmarks/train_speed.py --steps 60 --dataset digits

Images/s counts real images D sees per second (batch_size x d_steps per generator step). The first
``--warmup`` steps are not timed. Writes benchmarks/results/train_speed.json.
"""
from __future__ import annotations

import argparse
import time

import ganaug
from _common import ROOT, ROOT_HELP, machine, mnist_root, write_json


def measure(data, arch: str, steps: int, warmup: int, batch_size: int, device: str | None) -> dict:
    marks = {}

    def hook(state):
        if state.step in (warmup, warmup + steps):
            marks[state.step] = time.perf_counter()

    cfg = ganaug.TrainConfig(arch=arch, steps=warmup + steps, batch_size=batch_size, sample_every=0,
                             device=device, log_every=max(1, warmup + steps))
    ganaug.fit(data, cfg, hooks=[hook], progress=False)
    seconds = marks[warmup + steps] - marks[warmup]
    return {"arch": arch, "steps_per_s": steps / seconds,
            "images_per_s": steps * batch_size * cfg.d_steps / seconds, "timed_steps": steps,
            "batch_size": batch_size, "width": cfg.width}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when present)")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default=None)
    args = p.parse_args()
    name = args.dataset or ("mnist" if mnist_root(args.root) else "digits")
    data = ganaug.load_dataset(name, root=args.root)
    rows = [measure(data, arch, args.steps, args.warmup, args.batch_size, args.device) for arch in ("mlp", "dcgan")]
    print(f"dataset {name} {data.image_shape}, {machine()}")
    print(f"{'arch':6} {'steps/s':>8} {'images/s':>9}")
    for r in rows:
        print(f"{r['arch']:6} {r['steps_per_s']:8.2f} {r['images_per_s']:9.0f}")
    write_json({"dataset": name, "machine": machine(), "rows": rows}, ROOT / "benchmarks" / "results" / "train_speed.json")


if __name__ == "__main__":
    main()
