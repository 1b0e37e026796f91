"""Training speed of ganaug side by side with a peer: generator steps/s, real images/s and the ratio.

    python benchmarks/train_speed.py --root data          # MNIST if present, else the embedded digits
    python benchmarks/train_speed.py --root data --chunk-s 5 --rounds 8
    python benchmarks/train_speed.py --tiny               # seconds: checks that the script works

Runners, all in this one process, on the same data:

- ``peer-cgan``: PyTorch-GAN's ``cgan.py`` loop (benchmarks/peers/cgan.py, rewritten from its
  description), fed as it feeds itself: torchvision MNIST through a shuffled DataLoader (in-memory
  tensors when torchvision's MNIST files are not there, e.g. for digits or gzipped files);
- ``ganaug-mlp``: ``ganaug.fit`` with the recommended recipe (``arch="mlp", aux_weight=0.5,
  aux_twin=True, z_dim=128, lr_g=lr_d=4e-4``);
- ``ganaug-dcgan``: ``ganaug.fit`` with dcgan's defaults;
- ``ganaug-mlp-bf16``, ``ganaug-dcgan-bf16``: the same with ``cpu_amp=True`` (bf16 autocast on
  the CPU; on cuda, bf16 autocast is already the default, ``amp=True``);
- ``ganaug-mlp-compile``, ``ganaug-mlp-bf16-compile`` (only when named in ``--runners``): the recipe
  with ``compile=True`` (and ``cpu_amp=True``); the warm-up round includes the compilation.

All at batch 64 with ``--threads`` torch threads (default 1). The runners take turns: each round
gives every runner one chunk of ``--chunk-s`` seconds (ganaug's ``fit`` runs in a helper thread that
pauses at a chunk's end; only one runner computes at any time). The first round is warm-up and not
timed. Steps/s are total steps over total time of the timed chunks, so a change of machine load
hits every runner alike and the ratios to the peer hold even on a busy machine; the per-chunk
rates are in the JSON. Steps per CPU-second (the CPU time of the thread that trains) are printed
too: on a shared machine they show the cost of a step without the time spent waiting for a core. One step is one generator update with one discriminator update before it
(both loops); real images/s counts the real images D sees per second. ``--baseline CHECKOUT`` adds
the ganaug runners once more with another checkout's ganaug (e.g. ``git worktree add /tmp/base
<commit>``), as ``baseline:RUNNER``, and prints this checkout's speed-up over it: a bf16 runner against
the baseline's bf16 one, or its float32 one where the baseline has no ``cpu_amp``. Writes
benchmarks/results/train_speed.json (``--out``).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runs from a plain checkout too (no pip install)
    sys.path.insert(0, str(ROOT))

import ganaug  # noqa: E402
from _common import ROOT_HELP, machine, mnist_root, save_result  # noqa: E402
from peers.cgan import CGAN  # noqa: E402

MLP = dict(arch="mlp", aux_weight=0.5, aux_twin=True, z_dim=128, lr_g=4e-4, lr_d=4e-4)  # the recommended recipe
RECIPES = {
    "ganaug-mlp": MLP,
    "ganaug-mlp-bf16": dict(MLP, cpu_amp=True),
    "ganaug-dcgan": dict(arch="dcgan"),
    "ganaug-dcgan-bf16": dict(arch="dcgan", cpu_amp=True),
    "ganaug-mlp-compile": dict(MLP, compile=True),  # not run by default: the warm-up round compiles (minutes)
    "ganaug-mlp-bf16-compile": dict(MLP, cpu_amp=True, compile=True),  # the fastest CPU recipe (bf16 CPUs)
}
RUNNERS = ("peer-cgan", *RECIPES)
DEFAULT_RUNNERS = [r for r in RUNNERS if not r.endswith("-compile")]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # finish the queued kernels before reading the clock


class FitRunner:
    """``ganaug.fit`` in a helper thread that stops at the end of each chunk until the next one starts."""

    def __init__(self, data, config, threads: int, fit=None):
        fit = fit or ganaug.fit  # or a --baseline checkout's fit
        self.device = torch.device(config.device)
        self.go, self.paused = threading.Semaphore(0), threading.Semaphore(0)
        self.deadline, self.steps, self.stopping, self.error = 0.0, 0, False, None
        self.cpu = 0.0  # CPU seconds of the fit thread, read at each chunk's end

        def hook(state):
            self.steps += 1
            if self.stopping:
                return True
            if time.perf_counter() >= self.deadline:
                sync(self.device)
                self.end, self.cpu = time.perf_counter(), time.thread_time()
                self.paused.release()
                self.go.acquire()
                return self.stopping

        def body():
            torch.set_num_threads(threads)  # OpenMP's thread count is per thread: set it in this one too
            self.go.acquire()
            try:
                fit(data, config, hooks=[hook], progress=False)
            except BaseException as err:  # handed to the main thread, which raises it
                self.error = err
            self.end, self.cpu = time.perf_counter(), time.thread_time()
            self.paused.release()

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        """Train for about ``seconds``; returns (steps, wall-clock seconds, CPU seconds of the training thread)."""
        start, before, cpu_before = time.perf_counter(), self.steps, self.cpu
        self.deadline = start + seconds
        self.go.release()
        self.paused.acquire()
        if self.error is not None:
            raise self.error
        return self.steps - before, self.end - start, self.cpu - cpu_before

    def close(self) -> None:
        self.stopping = True
        self.go.release()
        self.thread.join()


class PeerRunner:
    def __init__(self, loader, image_shape, classes: int, device: torch.device):
        self.device = device
        self.peer = CGAN(loader, image_shape, classes, device=device)

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        start, before, cpu = time.perf_counter(), self.peer.steps, time.thread_time()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            self.peer.train(1)
        sync(self.device)
        return self.peer.steps - before, time.perf_counter() - start, time.thread_time() - cpu

    def close(self) -> None:
        pass


def peer_loader(name: str, root, data, batch_size: int) -> tuple[DataLoader, str]:
    """The peer's own input pipeline on MNIST (torchvision + PIL transforms), else in-memory tensors."""
    if name == "mnist":
        from torchvision import datasets, transforms

        tf = transforms.Compose([transforms.Resize(28), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
        try:
            ds = datasets.MNIST(str(mnist_root(root)), train=True, transform=tf, download=False)
            return DataLoader(ds, batch_size=batch_size, shuffle=True), "torchvision MNIST + PIL transforms"
        except RuntimeError:  # torchvision reads only unpacked files
            pass
    return DataLoader(TensorDataset(data.images, data.targets), batch_size=batch_size, shuffle=True), \
        "in-memory tensors"


def twin(runner: str, fields: set[str] | frozenset[str] = frozenset()) -> str:
    """The runner that a --baseline checkout runs for ``runner``: the same one where the checkout's TrainConfig
    has every field of its recipe (``fields``), else the float32 one (older checkouts have no cpu_amp)."""
    if runner in RECIPES and set(RECIPES[runner]) <= fields:
        return runner
    return runner.removesuffix("-bf16")


def _ratio(row: dict, ref: dict | None, key: str) -> float | None:
    return round(row[key] / ref[key], 2) if ref is not None and row[key] and ref[key] else None


def import_baseline(checkout: str):
    """The ``ganaug`` package of another checkout, imported as ``ganaug_baseline`` (its imports are relative)."""
    src = Path(checkout) / "ganaug"
    if not (src / "__init__.py").is_file():
        raise SystemExit(f"--baseline: expected a checkout holding ganaug/__init__.py (e.g. a git worktree of an "
                         f"older commit), got {checkout!r}")
    home = Path(tempfile.mkdtemp(prefix="ganaug-baseline-"))
    shutil.copytree(src, home / "ganaug_baseline", ignore=shutil.ignore_patterns("__pycache__"))
    for name in [m for m in sys.modules if m.split(".")[0] == "ganaug_baseline"]:  # an earlier call's
        del sys.modules[name]
    sys.path.insert(0, str(home))
    try:
        return importlib.import_module("ganaug_baseline")
    finally:
        sys.path.remove(str(home))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None, help="mnist or digits (default: mnist when present)")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--runners", default=",".join(DEFAULT_RUNNERS),
                   help=f"comma-separated subset of {','.join(RUNNERS)} (default: all but the compile one)")
    p.add_argument("--chunk-s", type=float, default=4.0, help="seconds per runner per round")
    p.add_argument("--rounds", type=int, default=6, help="timed rounds (after one warm-up round)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: comparable on a shared machine)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--baseline", default=None, metavar="CHECKOUT",
                   help="also run the ganaug runners with the ganaug of this checkout (e.g. a git worktree of an "
                        "older commit), as baseline:RUNNER, for a before/after ratio in the same run")
    p.add_argument("--tiny", action="store_true", help="short chunks (on digits unless --dataset): checks the script runs")
    p.add_argument("--out", default=None, help="JSON path (default: benchmarks/results/train_speed.json)")
    args = p.parse_args(argv)
    if args.tiny:
        args.dataset, args.chunk_s, args.rounds = args.dataset or "digits", 0.3, 2
    runners = args.runners.split(",")
    if not runners or not set(runners) <= set(RUNNERS) or args.rounds < 1 or args.chunk_s <= 0 or args.threads < 1:
        raise SystemExit(f"--runners: expected a comma-separated subset of {','.join(RUNNERS)}, got {args.runners!r}; "
                         "--rounds, --threads: expected >= 1; --chunk-s: expected > 0")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch here; pass --device cpu")
    torch.set_num_threads(args.threads)
    name = args.dataset or ("mnist" if mnist_root(args.root) else "digits")
    data = ganaug.load_dataset(name, root=args.root)
    feed = None
    live = {}
    for r in runners:
        if r == "peer-cgan":
            loader, feed = peer_loader(name, args.root, data, args.batch_size)
            live[r] = PeerRunner(loader, data.image_shape, len(data.classes), device)
        else:
            cfg = ganaug.TrainConfig(**RECIPES[r], steps=10**9, batch_size=args.batch_size, device=str(device),
                                     sample_every=0, checkpoint_every=0, log_every=1000)
            live[r] = FitRunner(data, cfg, args.threads)
    fields: set[str] = set()  # the --baseline checkout's TrainConfig fields
    if args.baseline:
        old = import_baseline(args.baseline)
        fields = {f.name for f in dataclasses.fields(old.TrainConfig)}
        old_data = old.LabelledImages(data.images, data.targets, data.classes, name=data.name)
        # a bf16 runner is compared with the baseline's bf16 one, or its float32 one where the baseline has no cpu_amp
        for r in dict.fromkeys(twin(r, fields) for r in runners
                               if r in RECIPES and set(RECIPES[twin(r, fields)]) <= fields):
            cfg = old.TrainConfig(**RECIPES[r], steps=10**9, batch_size=args.batch_size, device=str(device),
                                  sample_every=0, checkpoint_every=0, log_every=1000)
            live[f"baseline:{r}"] = FitRunner(old_data, cfg, args.threads, fit=old.fit)
        runners = list(live)
    chunks = {r: [] for r in runners}  # (steps, wall-clock seconds, CPU seconds) of each timed chunk
    warmup = {}  # seconds of each runner's warm-up chunk (a compiling runner compiles in it)
    try:
        for rnd in range(args.rounds + 1):
            for r in runners:
                chunk = live[r].run_for(args.chunk_s)
                if rnd:  # round 0: warm-up (allocations, first-call costs)
                    chunks[r].append(chunk)
                else:
                    warmup[r] = round(chunk[1], 1)
    finally:
        for runner in live.values():
            runner.close()

    rows = []
    for r in runners:
        steps, seconds, cpu = (sum(c[i] for c in chunks[r]) for i in range(3))
        rows.append({"runner": r, "steps": steps, "seconds": round(seconds, 2), "steps_per_s": round(steps / seconds, 2),
                     "images_per_s": round(steps * args.batch_size / seconds), "cpu_seconds": round(cpu, 2),
                     "steps_per_cpu_s": round(steps / cpu, 2) if cpu > 0 else None,
                     "warmup_s": warmup[r], "chunk_steps_per_s": [round(s / t, 2) for s, t, _ in chunks[r]]})
    peer = next((row for row in rows if row["runner"] == "peer-cgan"), None)
    for row in rows:
        row["ratio_to_peer"] = _ratio(row, peer, "steps_per_s")
        row["cpu_ratio_to_peer"] = _ratio(row, peer, "steps_per_cpu_s")
        old = next((b for b in rows if b["runner"] == f"baseline:{twin(row['runner'], fields)}"), None)
        if old is not None:  # this checkout against the --baseline one, same runner
            row["ratio_to_baseline"], row["cpu_ratio_to_baseline"] = (_ratio(row, old, k)
                                                                      for k in ("steps_per_s", "steps_per_cpu_s"))
    result = {"dataset": name, "image_shape": list(data.image_shape), "machine": machine(), "device": str(device),
              "threads": args.threads, "batch_size": args.batch_size, "chunk_s": args.chunk_s, "rounds": args.rounds,
              "peer_data": feed, "baseline": args.baseline, "recipes": RECIPES, "rows": rows}
    print(f"dataset {name} {data.image_shape}, {machine()}, device {device}, {args.threads} thread(s), "
          f"batch {args.batch_size}, {args.rounds} rounds of {args.chunk_s} s per runner"
          + (f"; peer data: {feed}" if feed else ""))
    keys = ["ratio_to_peer", "cpu_ratio_to_peer"] + (["ratio_to_baseline", "cpu_ratio_to_baseline"] if args.baseline else [])
    width = max(len(r) for r in runners)
    print(f"{'runner':{width}} {'steps/s':>8} {'images/s':>9} {'steps/CPU-s':>12} {'vs peer':>8} {'(CPU)':>6}"
          + (f" {'vs baseline':>12} {'(CPU)':>6}" if args.baseline else ""))
    for row in rows:
        r1, r2, *r3 = (f"{row[k]:.2f}x" if row.get(k) is not None else "-" for k in keys)
        per_cpu = f"{row['steps_per_cpu_s']:.2f}" if row["steps_per_cpu_s"] else "-"
        print(f"{row['runner']:{width}} {row['steps_per_s']:8.2f} {row['images_per_s']:9,d} {per_cpu:>12} {r1:>8} {r2:>6}"
              + (f" {r3[0]:>12} {r3[1]:>6}" if r3 else ""))
    save_result(result, args.out, "train_speed.json", args.tiny)
    return result


if __name__ == "__main__":
    main()
