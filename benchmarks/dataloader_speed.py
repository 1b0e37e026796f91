"""DataLoader throughput of SyntheticDataset vs torchvision's real MNIST, as users run it; memory of 10M items.

    python benchmarks/dataloader_speed.py --root data             # mlp and dcgan, workers 0 and 2, idle and busy
    python benchmarks/dataloader_speed.py --root data --num-threads auto,1,2   # thread settings side by side
    python benchmarks/dataloader_speed.py --root data --precision float32,bf16 # SyntheticDataset(cpu_amp=True) too
    python benchmarks/dataloader_speed.py --root data --memory    # also the memory of a 10M-item dataset
    python benchmarks/dataloader_speed.py --root data --ceiling --scaling   # what bounds the ratios (below)
    python benchmarks/dataloader_speed.py --tiny                  # seconds: checks that the script works

Each measurement builds a FRESH ``SyntheticDataset(generator, size=60000)`` (cold cache, untuned
thread choice) and iterates it through ``DataLoader(batch_size=128, shuffle=True)``: the first
epoch, then ``--epochs - 1`` later epochs, each after ``resample()`` (fresh images). The real side is
``torchvision.datasets.MNIST(transform=ganaug.data.ToGanaugTensor())`` through the same
DataLoader, for as many epochs; both yield float32 tensors (1, 28, 28) in [-1, 1]. An epoch is timed
from the start of its iteration (worker start-up included) to its last batch.

Loads (``--loads``): ``idle`` runs nothing else (run it on an otherwise quiet machine); ``busy`` starts
one child process that spins on one core for the measurements of that block (bounded by
``--busy-seconds``, killed at the block's end). Every repeat runs every load, generator and worker
count, real and synthetic back to back, so the ratios compare like with like even if the machine's
load drifts; the medians over ``--repeats`` are reported, the raw rates are in the JSON.

The generators have the training defaults' size (``TrainConfig().width``, ``z_dim``) and random
weights unless ``--checkpoint`` or ``--train-steps`` is given: weights do not change the cost of a
forward pass. ``--memory`` iterates 100k items of a 10-million-item SyntheticDataset in a fresh
process and reports its peak resident memory. Writes benchmarks/results/dataloader_speed.json.

Two measurements say what bounds the ratios on a machine. ``--ceiling`` adds a dataset that does no
work (its items are views of one ready batch) through the same DataLoader, beside real and synthetic:
no dataset can serve faster than that, so ceiling / real is the highest ratio any dataset reaches
there. ``--scaling`` times the generator's forward pass alone, on one thread, in 1 process and then in
``--scaling-procs`` processes at once: how much more generation a DataLoader's workers can get out of
the machine's cores.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

import torch
from torch.utils.data import DataLoader

import ganaug
from _common import ROOT, ROOT_HELP, machine, mnist_root, write_json
from ganaug.data import ToGanaugTensor
from ganaug.gan import build_generator, default_spec
from ganaug.synth import SyntheticDataset

MNIST_CLASSES = [f"{i} - {name}" for i, name in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]
CACHE_MB = 64.0  # SyntheticDataset's per-process cache bound (its default), reported with the memory numbers
SIZE = 60_000  # items per synthetic epoch, as many as MNIST's training set
CEILING = "no-work"  # the label of --ceiling's dataset in rows and raw
# The busy loop: one process spinning on one core until its deadline (or until it is killed).
SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def epoch_rates(ds, epochs: int, items: int | None, batch_size: int, workers: int, resample: bool) -> list[float]:
    """Items/s of each of ``epochs`` shuffled epochs (the first ``items`` items of each when given)."""
    loader = DataLoader(ds, batch_size=batch_size, num_workers=workers, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    rates = []
    for epoch in range(epochs):
        if resample and epoch > 0:
            ds.resample()  # before iterating: the workers copy the dataset when the iteration starts
        seen, start = 0, time.perf_counter()
        for x, _ in loader:
            seen += x.shape[0]
            if items is not None and seen >= items:
                break
        rates.append(seen / (time.perf_counter() - start))
    return rates


class NoWorkDataset(torch.utils.data.Dataset):
    """``size`` items that cost nothing to make: views of one ready batch, label 0 (the DataLoader's own cost)."""

    def __init__(self, size: int, shape: tuple[int, ...] = (1, 28, 28), batch_size: int = 128):
        self.size, self.images = size, torch.zeros((batch_size, *shape))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        return self.images[index % len(self.images)], 0

    def __getitems__(self, indices):
        return [(self.images[k % len(self.images)], 0) for k in range(len(indices))]


def forward_cost(gen, batch_size: int, precision: str, repeats: int = 300) -> dict:
    """The generator's forward pass alone on one thread: ms per batch (what serving cannot go below)."""
    z = torch.randn(batch_size, gen.z_dim, generator=torch.Generator().manual_seed(0))
    y = torch.arange(batch_size) % gen.num_classes
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            for _ in range(max(1, repeats // 10)):
                gen(z, y)
            start = time.perf_counter()
            for _ in range(repeats):
                gen(z, y)
            seconds = (time.perf_counter() - start) / repeats
    finally:
        torch.set_num_threads(before)
    # matrix-product work of the Linear layers (all of mlp's work; dcgan's convolutions are not counted)
    mflop = 2 * batch_size * sum(m.in_features * m.out_features for m in gen.modules()
                                 if isinstance(m, torch.nn.Linear)) / 1e6
    return {"precision": precision, "ms_per_batch": round(1e3 * seconds, 3), "items_per_s": round(batch_size / seconds),
            "linear_mflop_per_batch": round(mflop, 1), "linear_gflop_per_s": round(mflop / seconds / 1e3, 1)}


def forward_scaling(arch: str, args, precisions: list[str], procs: int) -> list[dict]:
    """The forward pass alone on one thread, in 1 process and then in ``procs`` processes at the same time."""
    out = []
    for prec in precisions:
        for n in (1, procs):
            cmd = [sys.executable, __file__, "--forward-child", arch, "--precision", prec,
                   "--repeats", str(args.scaling_repeats)] + (["--width", str(args.width)] if args.width else []) \
                + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
            children = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(n)]
            outputs = [c.communicate()[0] for c in children]
            if any(c.returncode for c in children):
                raise SystemExit(f"--scaling: a forward-pass child process failed ({arch}, {prec}); its error is above")
            rates = [json.loads(out.strip().splitlines()[-1])["items_per_s"] for out in outputs]
            out.append({"arch": arch, "precision": prec, "processes": n, "items_per_s_each": rates,
                        "items_per_s_total": sum(rates)})
            print(f"forward pass alone, {arch}, {prec}, 1 thread, {n} process(es) at once: "
                  f"{sum(rates):,} items/s in all ({', '.join(f'{r:,}' for r in rates)})", flush=True)
    return out


@contextmanager
def load(name: str, seconds: float):
    """``busy``: one other process spinning on one core while the body runs; ``idle``: nothing."""
    if name == "idle":
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(seconds)])
    try:
        time.sleep(0.2)  # let it start spinning
        yield
        if spinner.poll() is not None:
            raise SystemExit(f"--busy-seconds {seconds}: the busy loop ended before the measurements did; "
                             "raise it")
    finally:
        spinner.kill()
        spinner.wait()


def parse_threads(text: str) -> list[int | None]:
    out = []
    for part in text.split(","):
        if part == "auto":
            out.append(None)
        elif part.isdigit() and int(part) >= 1:
            out.append(int(part))
        else:
            raise SystemExit(f"--num-threads: expected a comma-separated list of 'auto' or counts >= 1, got {part!r}")
    return out


def summarise(synth: list[list[float]], real: list[list[float]] | None) -> dict:
    """Medians over repeats of the first epoch's rate and of the later epochs' mean rate, and their ratios."""
    row = {}
    for kind, pick in (("first", lambda r: r[0]), ("later", lambda r: statistics.fmean(r[1:]) if len(r) > 1 else None)):
        s = [pick(r) for r in synth]
        if s[0] is None:
            continue
        s_med = statistics.median(s)
        r_med = statistics.median(pick(r) for r in real) if real else None
        row[kind] = {"synthetic_items_per_s": round(s_med), "real_items_per_s": round(r_med) if r_med else None,
                     "ratio": round(s_med / r_med, 2) if r_med else None}
    return row


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


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--archs", default="mlp,dcgan")
    p.add_argument("--checkpoint", default=None, help="a generator.pt/checkpoint.pt to use instead")
    p.add_argument("--train-steps", type=int, default=0, help="train each generator this long on MNIST first")
    p.add_argument("--width", type=int, default=None, help="generator width (default: TrainConfig's)")
    p.add_argument("--num-workers", default="0,2", help="comma-separated, e.g. 0,2")
    p.add_argument("--num-threads", default="auto",
                   help="SyntheticDataset num_threads settings to compare, comma-separated: auto (None) or counts")
    p.add_argument("--precision", default="float32",
                   help="comma-separated: float32, bf16 (SyntheticDataset(cpu_amp=True): bf16 autocast on the CPU)")
    p.add_argument("--loads", default="idle,busy", help="comma-separated: idle, busy (one other core-bound process)")
    p.add_argument("--busy-seconds", type=float, default=3600.0, help="upper bound on each busy loop's life")
    p.add_argument("--epochs", type=int, default=2, help="epochs per measurement: the first, then after resample()")
    p.add_argument("--items", type=int, default=None, help="time only the first ITEMS items of each epoch")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--memory", action="store_true", help="also measure a 10M-item dataset's peak memory")
    p.add_argument("--virtual-size", type=int, default=10_000_000)
    p.add_argument("--memory-items", type=int, default=100_000)
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--forward-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ceiling", action="store_true",
                   help="also a dataset that does no work: the DataLoader's own ceiling, beside real data")
    p.add_argument("--scaling", action="store_true",
                   help="also the forward pass alone in 1 and in --scaling-procs processes at once")
    p.add_argument("--scaling-procs", type=int, default=2)
    p.add_argument("--scaling-repeats", type=int, default=600, help="forward passes per process for --scaling")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: checks the script runs")
    p.add_argument("--out", default=None, help="default: benchmarks/results/dataloader_speed.json (not written with --tiny)")
    args = p.parse_args(argv)
    if args.tiny:
        args.items, args.repeats, args.width = 512, 1, args.width or 8
        args.virtual_size, args.memory_items, args.scaling_repeats = 100_000, 2_000, 20
    if args.memory_child:
        memory_child(args)
        return {}
    if args.forward_child:  # the parent's generator (random weights of its size, or its --checkpoint)
        gen = make_generator(args.forward_child, args, None)
        print(json.dumps(forward_cost(gen, args.batch_size, args.precision, repeats=args.repeats)))
        return {}
    loads = args.loads.split(",")
    if not set(loads) <= {"idle", "busy"} or args.epochs < 1 or args.repeats < 1:
        raise SystemExit("--loads: expected idle and/or busy; --epochs, --repeats: expected >= 1")
    threads = parse_threads(args.num_threads)
    precisions = args.precision.split(",")
    if not set(precisions) <= {"float32", "bf16"}:
        raise SystemExit(f"--precision: expected float32 and/or bf16, got {args.precision!r}")
    variants = [(t, p) for p in precisions for t in threads]  # (num_threads, precision) per synthetic dataset
    if args.scaling_procs < 2:
        raise SystemExit(f"--scaling-procs: expected >= 2, got {args.scaling_procs}")
    if args.scaling_repeats < 1:
        raise SystemExit(f"--scaling-repeats: expected >= 1, got {args.scaling_repeats}")

    root = mnist_root(args.root)
    real = data = None
    if root is None:
        print("MNIST not found (--root, $GANAUG_DATA or ./data): skipping the real-data comparison; "
              "synthetic numbers only.")
    else:
        import torchvision

        real = torchvision.datasets.MNIST(str(root), train=True, transform=ToGanaugTensor())
        if args.train_steps:
            data = ganaug.load_dataset("mnist", root=root)
    workers = [int(w) for w in args.num_workers.split(",")]
    archs = ["checkpoint"] if args.checkpoint else args.archs.split(",")
    gens = {arch: make_generator(arch, args, data) for arch in archs}
    for arch, gen in gens.items():
        if real is not None and gen.image_shape != (1, 28, 28):
            print(f"warning: the generator makes {gen.image_shape} images, MNIST is (1, 28, 28): "
                  "the ratio compares different image sizes")
        SyntheticDataset(gen, size=SIZE).__getitems__(list(range(args.batch_size)))  # process start-up, untimed
    if real is not None:
        next(iter(DataLoader(real, batch_size=args.batch_size)))
    forward = {arch: [forward_cost(gen, args.batch_size, prec, repeats=20 if args.tiny else 300)
                      for prec in precisions] for arch, gen in gens.items()}
    for arch, costs in forward.items():
        for c in costs:
            print(f"forward pass alone, {arch}, {c['precision']}, 1 thread: {c['ms_per_batch']:.2f} ms per batch "
                  f"of {args.batch_size} ({c['items_per_s']} items/s; Linear layers {c['linear_mflop_per_batch']} "
                  f"MFLOP, {c['linear_gflop_per_s']} GFLOP/s)", flush=True)
    scaling = [row for arch in gens if args.scaling
               for row in forward_scaling(arch, args, precisions, args.scaling_procs)]

    # raw[(load, arch, workers, variant)] = one list of per-epoch rates per repeat; variant "real" or a thread setting
    raw: dict[tuple, list[list[float]]] = {}
    for repeat in range(args.repeats):
        for name in loads:
            with load(name, args.busy_seconds):
                for arch, gen in gens.items():
                    for w in workers:
                        measured = [("real", real, False)] if real is not None else []
                        measured += [(_label(t, prec), SyntheticDataset(gen, size=SIZE, num_threads=t,
                                                                         cpu_amp=prec == "bf16"), True)
                                     for t, prec in variants]
                        if args.ceiling and arch == archs[0]:  # the no-work dataset: once per load and workers
                            measured.append((CEILING, NoWorkDataset(SIZE, batch_size=args.batch_size), False))
                        for variant, ds, resample in measured:
                            rates = epoch_rates(ds, args.epochs, args.items, args.batch_size, w, resample)
                            raw.setdefault((name, arch, w, variant), []).append(rates)
                            print(f"repeat {repeat + 1}/{args.repeats} {name:4} {arch:6} workers={w} {variant:9} "
                                  + " ".join(f"{r:8.0f}" for r in rates) + " items/s", flush=True)

    rows = []
    for name in loads:
        for arch, gen in gens.items():
            for w in workers:
                for t, prec in variants:
                    summary = summarise(raw[(name, arch, w, _label(t, prec))], raw.get((name, arch, w, "real")))
                    for kind, numbers in summary.items():
                        rows.append({"load": name, "arch": gen.spec["arch"], "width": gen.spec["width"],
                                     "num_workers": w, "num_threads": _label(t), "precision": prec, "epoch": kind,
                                     **numbers})
        for w in workers if args.ceiling else []:
            for kind, numbers in summarise(raw[(name, archs[0], w, CEILING)],
                                           raw.get((name, archs[0], w, "real"))).items():
                rows.append({"load": name, "arch": CEILING, "width": 0, "num_workers": w, "num_threads": "-",
                             "precision": "-", "epoch": kind, **numbers})
    items = "whole epochs" if args.items is None else f"first {args.items} items of each epoch"
    print(f"\n{machine()}; DataLoader(batch_size={args.batch_size}, shuffle=True), float32 (1, 28, 28) in [-1, 1], "
          f"fresh datasets, {args.epochs} epochs ({items}), median of {args.repeats}")
    print(f"{'load':4} {'arch':6} {'width':>5} {'workers':>7} {'threads':>7} {'prec':>7} {'epoch':>5} "
          f"{'synthetic/s':>11} {'real/s':>8} {'ratio':>6}")
    for r in rows:
        real_s = f"{r['real_items_per_s']:8d}" if r["real_items_per_s"] is not None else f"{'-':>8}"
        ratio = f"{r['ratio']:6.2f}" if r["ratio"] is not None else f"{'-':>6}"
        print(f"{r['load']:4} {r['arch']:6} {r['width']:5d} {r['num_workers']:7d} {r['num_threads']:>7} "
              f"{r['precision']:>7} {r['epoch']:>5} {r['synthetic_items_per_s']:11d} {real_s} {ratio}")
    result = {"machine": machine(), "batch_size": args.batch_size, "epochs": args.epochs, "items_per_epoch": args.items,
              "repeats": args.repeats, "weights": "checkpoint" if args.checkpoint else (
                  "trained" if args.train_steps and data is not None else "random (same cost)"),
              "forward_pass": forward, "forward_scaling": scaling, "rows": rows,
              "raw": [{"load": k[0], "arch": k[1], "num_workers": k[2], "variant": k[3], "rates": v}
                      for k, v in raw.items()]}
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
        return result
    out = args.out or ROOT / "benchmarks" / "results" / "dataloader_speed.json"
    write_json(result, out)
    print(f"wrote {out}")
    return result


def _label(threads: int | None, precision: str = "float32") -> str:
    return ("auto" if threads is None else str(threads)) + ("+bf16" if precision == "bf16" else "")


if __name__ == "__main__":
    main()
