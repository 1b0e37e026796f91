"""GPU speed: GAN training steps/s and real images/s, and generation images/s, for mlp and dcgan.

    python benchmarks/gpu_speed.py --root data --device cuda --out gpu_speed.json
    python benchmarks/gpu_speed.py --device cpu --tiny --no-compile   # seconds: checks that the script works

Training: ``ganaug.fit`` with the recommended mlp recipe (``arch="mlp", aux_weight=0.5,
aux_twin=True, z_dim=128, lr_g=lr_d=4e-4``) and dcgan's defaults, at each ``--batch-sizes``, with
bf16 autocast off and on (``TrainConfig.amp``), then with ``TrainConfig.compile`` (torch.compile).
``--warmup`` generator steps are not timed (they include compilation); the next ``--steps`` are,
between two device synchronisations. Real images/s counts the real images D sees (batch size x
``d_steps`` per generator step).

Generation, with the generator the batch-64 eager run returned: the raw forward pass at
``--gen-batch`` images on the device (fp32 and bf16 autocast), ``generator.sample`` (the public
sampling call: blocks of 128, images copied back to the CPU), and a first shuffled epoch of a
fresh ``SyntheticDataset(device=...)`` through ``DataLoader(batch_size=--gen-batch)``.

Measurements run most important first; once ``--budget-s`` seconds have passed the rest are skipped
(listed as such), and the JSON (``--out``) is rewritten after every measurement, so a run cut
short still leaves its numbers. A compile measurement starts only with ``COMPILE_RESERVE_S`` of the
budget left. A measurement that fails is recorded with its error; the others go on.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs from a plain checkout too (no pip install), as on a bare GPU machine
    sys.path.insert(0, str(ROOT))

import ganaug  # noqa: E402
from _common import ROOT_HELP, mnist_root, write_json  # noqa: E402

# A compile measurement starts only if this much of --budget-s is left (compiling takes tens of seconds).
COMPILE_RESERVE_S = 25.0
RECIPES = {  # the recommended CPU recipe (README) and the convolutional pair at its defaults
    "mlp": dict(arch="mlp", aux_weight=0.5, aux_twin=True, z_dim=128, lr_g=4e-4, lr_d=4e-4),
    "dcgan": dict(arch="dcgan"),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # kernels are asynchronous: finish them before reading the clock


def machine_info(device: torch.device) -> dict:
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "device": str(device),
            "float32_matmul_precision": torch.get_float32_matmul_precision(), "commit": _commit()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    capability=f"{props.major}.{props.minor}")
    return info


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def train_rate(data, arch: str, batch_size: int, amp: bool, compile: bool, args, device) -> tuple[dict, object]:
    """Steps/s of ``--steps`` timed generator steps after ``--warmup`` untimed ones; returns (row, generator)."""
    marks = {}
    warmup, steps = args.warmup, args.steps

    def hook(state):
        if state.step in (1, warmup, warmup + steps):
            sync(device)
            marks[state.step] = time.perf_counter()

    cfg = ganaug.TrainConfig(**RECIPES[arch], steps=warmup + steps, batch_size=batch_size, amp=amp, compile=compile,
                             device=str(device), sample_every=0, checkpoint_every=0, log_every=warmup + steps,
                             seed=0)
    start = time.perf_counter()
    gen, _ = ganaug.fit(data, cfg, hooks=[hook], progress=False)
    seconds = marks[warmup + steps] - marks[warmup]
    return {"arch": arch, "batch_size": batch_size, "amp": amp, "compile": compile, "timed_steps": steps,
            "steps_per_s": round(steps / seconds, 2),
            "real_images_per_s": round(steps * batch_size * cfg.d_steps / seconds),
            # set-up plus the first step: where torch.compile spends its compile time
            "first_step_s": round(marks[1] - start, 2),
            "warmup_s": round(marks[warmup] - start, 2)}, gen


def forward_rate(gen, batch: int, amp: bool, repeats: int, device) -> dict:
    """Images/s of the raw forward pass on the device, ``batch`` images at a time."""
    g = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(batch, gen.z_dim, generator=g, device=device)  # (batch, z_dim)
    y = torch.randint(0, gen.num_classes, (batch,), generator=g, device=device)  # (batch,)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")
    with torch.no_grad(), autocast:
        for _ in range(3):  # warm-up: kernel selection, allocator
            gen(z, y)
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            gen(z, y)
        sync(device)
    return {"how": "forward", "batch": batch, "amp": amp, "images_per_s": round(batch * repeats / (time.perf_counter() - start))}


def sample_rate(gen, n: int, device) -> dict:
    """Images/s of ``generator.sample(n)``: noise drawn on the CPU, blocks of 128 images, copied back."""
    gen.sample(256, seed=1)  # warm-up
    sync(device)
    start = time.perf_counter()
    gen.sample(n, seed=0)
    return {"how": "sample", "batch": 128, "amp": False, "images_per_s": round(n / (time.perf_counter() - start))}


def dataset_rate(gen, size: int, batch: int, device) -> dict:
    """Items/s of the first shuffled epoch of a fresh SyntheticDataset on the device (num_workers=0)."""
    from torch.utils.data import DataLoader

    start = time.perf_counter()  # construction included: a fresh dataset, as users start
    ds = ganaug.SyntheticDataset(gen, size=size, device=device)
    seen = 0
    for x, _ in DataLoader(ds, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(0)):
        seen += x.shape[0]
    return {"how": "SyntheticDataset", "batch": batch, "amp": False,
            "images_per_s": round(seen / (time.perf_counter() - start))}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when found, else digits)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--archs", default="mlp,dcgan")
    p.add_argument("--batch-sizes", default="64,256")
    p.add_argument("--steps", type=int, default=200, help="timed generator steps per training measurement")
    p.add_argument("--warmup", type=int, default=30, help="untimed generator steps before them")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurements")
    p.add_argument("--gen-batch", type=int, default=1024)
    p.add_argument("--gen-size", type=int, default=60_000, help="items of the SyntheticDataset epoch")
    p.add_argument("--budget-s", type=float, default=75.0, help="skip what is left after this many seconds")
    p.add_argument("--tiny", action="store_true", help="tiny sizes on digits: checks the script runs")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/gpu_speed.json)")
    args = p.parse_args(argv)
    if args.tiny:
        args.dataset, args.batch_sizes, args.steps, args.warmup = "digits", "16", 4, 2
        args.gen_batch, args.gen_size = 64, 512
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch here; pass --device cpu (with --tiny "
                         "to check the script) or run on a GPU machine")
    archs = args.archs.split(",")
    if not set(archs) <= set(RECIPES) or args.steps < 1 or args.warmup < 1:
        raise SystemExit(f"--archs: expected a comma-separated subset of {','.join(RECIPES)}, got {args.archs!r}; "
                         "--steps, --warmup: expected >= 1")
    try:
        sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        raise SystemExit(f"--batch-sizes: expected comma-separated ints, got {args.batch_sizes!r}") from None
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / "gpu_speed.json"

    t0 = time.perf_counter()
    name = args.dataset or ("mnist" if mnist_root(args.root) else "digits")
    data = ganaug.load_dataset(name, root=args.root)
    result = {"dataset": name, "image_shape": list(data.image_shape), "machine": machine_info(device),
              "settings": {k: getattr(args, k) for k in ("steps", "warmup", "gen_batch", "gen_size", "budget_s")},
              "recipes": RECIPES, "train": [], "generate": [], "skipped": [], "errors": [], "total_s": None}

    def run(kind: str, label: str, fn, reserve: float = 0.0):
        if time.perf_counter() - t0 > args.budget_s - reserve:
            result["skipped"].append(label)
            print(f"skipped (budget {args.budget_s:.0f} s spent): {label}", flush=True)
            return None
        try:
            row, extra = fn()
        except Exception as err:  # one failing measurement (e.g. a compiler error) must not lose the others
            result["errors"].append({"what": label, "error": f"{type(err).__name__}: {str(err)[:500]}"})
            print(f"FAILED {label}: {type(err).__name__}: {str(err).splitlines()[0][:200]}", flush=True)
            return None
        result[kind].append(row)
        result["total_s"] = round(time.perf_counter() - t0, 1)
        write_json(result, out)  # after every measurement: a run cut short keeps what it measured
        print(f"{label}: " + ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("arch",)), flush=True)
        return extra

    gens = {}
    amps = (False, True)
    for arch in archs:  # eager training first: the numbers every other row is compared with
        for bs in sizes:
            for amp in amps:
                gen = run("train", f"train {arch} batch {bs} amp={amp}",
                          lambda: train_rate(data, arch, bs, amp, False, args, device))
                if gen is not None and bs == sizes[0] and not amp:
                    gens[arch] = gen
    for arch, gen in gens.items():
        for amp in amps:
            run("generate", f"generate {arch} forward amp={amp}",
                lambda: ({"arch": arch, **forward_rate(gen, args.gen_batch, amp, 50 if not args.tiny else 2, device)},
                         None))
        run("generate", f"generate {arch} sample", lambda: ({"arch": arch, **sample_rate(gen, 8 * args.gen_batch, device)},
                                                            None))
        run("generate", f"generate {arch} SyntheticDataset",
            lambda: ({"arch": arch, **dataset_rate(gen, args.gen_size, args.gen_batch, device)}, None))
    if not args.no_compile:  # last: compiling costs tens of seconds per architecture
        for arch in archs:
            run("train", f"train {arch} batch {sizes[0]} amp=True compile",
                lambda: train_rate(data, arch, sizes[0], True, True, args, device), reserve=COMPILE_RESERVE_S)
    result["total_s"] = round(time.perf_counter() - t0, 1)
    write_json(result, out)
    print_tables(result)
    print(f"wrote {out}")
    return result


def print_tables(result: dict) -> None:
    m = result["machine"]
    print(f"\n{m.get('gpu', m['cpu'])}, torch {m['torch']} (CUDA {m['cuda']}), dataset {result['dataset']} "
          f"{tuple(result['image_shape'])}, {result['total_s']} s in all")
    print(f"{'arch':6} {'batch':>5} {'amp':>5} {'compile':>7} {'steps/s':>9} {'real img/s':>11} {'warm-up s':>9}")
    for r in result["train"]:
        print(f"{r['arch']:6} {r['batch_size']:5d} {str(r['amp']):>5} {str(r['compile']):>7} {r['steps_per_s']:9.1f} "
              f"{r['real_images_per_s']:11,d} {r['warmup_s']:9.1f}")
    print(f"\n{'arch':6} {'generation':>16} {'batch':>5} {'amp':>5} {'images/s':>11}")
    for r in result["generate"]:
        print(f"{r['arch']:6} {r['how']:>16} {r['batch']:5d} {str(r['amp']):>5} {r['images_per_s']:11,d}")
    for what in result["skipped"]:
        print(f"skipped: {what}")
    for e in result["errors"]:
        print(f"error: {e['what']}: {e['error'][:200]}")


if __name__ == "__main__":
    main()
