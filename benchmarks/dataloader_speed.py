"""DataLoader throughput of SyntheticDataset vs torchvision's real MNIST, same output format; memory of 10M items.

    python benchmarks/dataloader_speed.py                          # mlp and dcgan, 50k items per side
    python benchmarks/dataloader_speed.py --num-workers 0,2 --memory
    python benchmarks/dataloader_speed.py --checkpoint runs/mnist/generator.pt
    python benchmarks/dataloader_speed.py --tiny                   # seconds: checks that the script works

Both sides yield float32 tensors (1, 28, 28) in [-1, 1] through ``DataLoader(batch_size=128)``:
real = ``torchvision.datasets.MNIST(transform=ganaug.transforms.ToGanaugTensor())`` (faster than
``Compose([ToTensor(), Normalize(0.5, 0.5)])``, so the stricter baseline), synthetic =
``SyntheticDataset(generator, size=60000)``. The generators have the training defaults' size
(``TrainConfig().width``, ``z_dim``) and random weights unless ``--checkpoint`` or ``--train-steps``
is given: weights do not change the cost of a forward pass. Each measurement skips the first
``--warmup`` batches; real and synthetic are measured alternately ``--repeats`` times and the best
of each is kept. ``--memory`` iterates 100k items of a 10-million-item SyntheticDataset in a fresh
process and reports its peak resident memory. Writes benchmarks/results/dataloader_speed.json.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import torch
from torch.utils.data import DataLoader

import ganaug
from _common import ROOT, ROOT_HELP, machine, mnist_root, write_json
from ganaug.models import build_generator, default_spec
from ganaug.synthetic import SyntheticDataset
from ganaug.transforms import ToGanaugTensor

MNIST_CLASSES = [f"{i} - {name}" for i, name in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]
CACHE_MB = 64.0  # SyntheticDataset's per-process cache bound (its default), reported with the memory numbers


def items_per_second(ds, items: int, batch_size: int, workers: int, warmup: int, shuffle: bool = False) -> float:
    loader = DataLoader(ds, batch_size=batch_size, num_workers=workers, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(0) if shuffle else None)
    seen, start = 0, None
    for b, (x, _) in enumerate(loader):
        if b == warmup:
            start, seen = time.perf_counter(), 0
        seen += x.shape[0]
        if start is not None and seen >= items:
            break
    if start is None:
        raise SystemExit(f"--items/--warmup: the dataset ran out before timing started ({len(ds)} items)")
    return seen / (time.perf_counter() - start)


def make_generator(arch: str, args, data):
    if args.checkpoint:
        return ganaug.load_generator(args.checkpoint, device="cpu")
    cfg = ganaug.TrainConfig()
    if args.train_steps and data is not None:
        config = ganaug.TrainConfig(arch=arch, steps=args.train_steps, width=args.width or cfg.width,
                                    sample_every=0, checkpoint_every=0, device="cpu")
        return ganaug.fit(data, config, progress=False)[0]
    torch.manual_seed(0)
    spec = default_spec(arch, (1, 28, 28), MNIST_CLASSES, z_dim=cfg.z_dim, width=args.width or cfg.width)
    return build_generator(spec).eval()


def memory_child(args) -> None:
    # Runs in a fresh process so that the peak RSS belongs to this measurement alone.
    torch.manual_seed(0)
    width = args.width or ganaug.TrainConfig().width
    gen = build_generator(default_spec("mlp", (1, 28, 28), MNIST_CLASSES, z_dim=64, width=width)).eval()
    ds = SyntheticDataset(gen, size=args.virtual_size, cache_mb=CACHE_MB)
    _reset_peak_rss()
    rss_before = _status_mb("VmRSS")
    seen = 0
    for x, _ in DataLoader(ds, batch_size=128):
        seen += x.shape[0]
        if seen >= args.memory_items:
            break
    peak = _status_mb("VmHWM")  # this process's peak resident memory (ru_maxrss would include the parent's)
    print(json.dumps({
        "virtual_size": len(ds), "items_iterated": seen, "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1), "peak_increase_mb": round(peak - rss_before, 1),
        "cache_limit_mb": CACHE_MB,
        "all_images_would_need_mb": round(len(ds) * 4 * math.prod(ds.image_shape) / 2**20)}))


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB -> MiB


def _reset_peak_rss() -> None:
    try:  # Linux >= 4.0: "5" resets VmHWM to the current RSS, so the peak is this iteration's
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # then VmHWM also counts start-up peaks: an upper bound


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--archs", default="mlp,dcgan")
    p.add_argument("--checkpoint", default=None, help="a generator.pt/checkpoint.pt to use instead")
    p.add_argument("--train-steps", type=int, default=0, help="train each generator this long on MNIST first")
    p.add_argument("--width", type=int, default=None, help="generator width (default: TrainConfig's)")
    p.add_argument("--items", type=int, default=50_000, help="items timed per measurement (at most 60000 - warmup)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--num-workers", default="0", help="comma-separated, e.g. 0,2")
    p.add_argument("--warmup", type=int, default=3, help="batches not timed")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--memory", action="store_true", help="also measure a 10M-item dataset's peak memory")
    p.add_argument("--virtual-size", type=int, default=10_000_000)
    p.add_argument("--memory-items", type=int, default=100_000)
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script runs")
    p.add_argument("--out", default=None, help="default: benchmarks/results/dataloader_speed.json (not written with --tiny)")
    args = p.parse_args()
    if args.tiny:
        args.items, args.repeats, args.warmup = 512, 1, 1
        args.virtual_size, args.memory_items = 100_000, 2_000
    if args.memory_child:
        return memory_child(args)

    root = mnist_root(args.root)
    real = data = None
    if root is None:
        print("MNIST not found ($GANAUG_DATA or ./data): skipping the real-data comparison; "
              "synthetic numbers only.")
    else:
        import torchvision

        real = torchvision.datasets.MNIST(str(root), train=True, transform=ToGanaugTensor())
        if args.train_steps:
            data = ganaug.load_dataset("mnist", root=root)
    workers = [int(w) for w in args.num_workers.split(",")]
    archs = ["checkpoint"] if args.checkpoint else args.archs.split(",")
    rows = []
    for arch in archs:
        gen = make_generator(arch, args, data)
        if real is not None and gen.image_shape != (1, 28, 28):
            print(f"warning: the generator makes {gen.image_shape} images, MNIST is (1, 28, 28): "
                  "the ratio compares different image sizes")
        synth = SyntheticDataset(gen, size=60_000)
        for w in workers:
            best_s = best_r = best_shuffled = 0.0
            for _ in range(args.repeats):
                if real is not None:
                    best_r = max(best_r, items_per_second(real, args.items, args.batch_size, w, args.warmup))
                best_s = max(best_s, items_per_second(synth.resample(0), args.items, args.batch_size, w, args.warmup))
                best_shuffled = max(best_shuffled, items_per_second(synth.resample(0), args.items, args.batch_size,
                                                                    w, args.warmup, shuffle=True))
            rows.append({"arch": gen.spec["arch"], "width": gen.spec["width"], "num_workers": w,
                         "synthetic_items_per_s": round(best_s), "synthetic_shuffled_items_per_s": round(best_shuffled),
                         "real_items_per_s": round(best_r) if real is not None else None,
                         "ratio": round(best_s / best_r, 2) if real is not None else None})
    print(f"{machine()}; DataLoader(batch_size={args.batch_size}), float32 (1, 28, 28) in [-1, 1], "
          f"{args.items} items timed, best of {args.repeats}")
    print(f"{'arch':6} {'width':>5} {'workers':>7} {'synthetic/s':>11} {'shuffled/s':>10} {'real/s':>8} {'ratio':>6}")
    for r in rows:
        real_s = f"{r['real_items_per_s']:8d}" if r["real_items_per_s"] is not None else f"{'-':>8}"
        ratio = f"{r['ratio']:6.2f}" if r["ratio"] is not None else f"{'-':>6}"
        print(f"{r['arch']:6} {r['width']:5d} {r['num_workers']:7d} {r['synthetic_items_per_s']:11d} "
              f"{r['synthetic_shuffled_items_per_s']:10d} {real_s} {ratio}")
    result = {"machine": machine(), "batch_size": args.batch_size, "items_timed": args.items,
              "weights": "checkpoint" if args.checkpoint else ("trained" if args.train_steps and data is not None
                                                               else "random (same cost)"),
              "rows": rows}
    if args.memory:
        cmd = [sys.executable, __file__, "--memory-child", "--virtual-size", str(args.virtual_size),
               "--memory-items", str(args.memory_items)] + (["--width", str(args.width)] if args.width else [])
        mem = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        result["memory"] = mem
        print(f"memory: {mem['virtual_size']:,}-item SyntheticDataset (mlp), {mem['items_iterated']:,} items through "
              f"DataLoader(batch_size=128): peak RSS {mem['peak_rss_mb']} MB, +{mem['peak_increase_mb']} MB over "
              f"the {mem['rss_before_mb']} MB before iterating (all images would need "
              f"{mem['all_images_would_need_mb']:,} MB)")
    if args.tiny and args.out is None:
        print("--tiny: results not written (pass --out to write them)")
        return
    out = args.out or ROOT / "benchmarks" / "results" / "dataloader_speed.json"
    write_json(result, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
