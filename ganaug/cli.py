"""The ``ganaug`` command: train, sample, demo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError

DEMO_STEPS = 1500


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits",
                   help="digits (embedded, default), mnist, fashion-mnist, or a folder with one sub-folder per class")
    p.add_argument("--root", default=None, help="folder holding MNIST/FashionMNIST (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--n-per-class", type=int, default=None, help="train on a seeded stratified subset of N images per class")
    p.add_argument("--seed", type=int, default=0, help="seed for the subset, the models and training")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    from .training import TrainConfig

    d = TrainConfig()
    p.add_argument("--steps", type=int, default=None, help=f"generator updates (default {d.steps} unless --max-minutes)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget for training")
    p.add_argument("--arch", default=d.arch, help="mlp or dcgan")
    p.add_argument("--loss", default=d.loss, help="minimax, non-saturating, hinge or wgan-gp")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--d-steps", type=int, default=d.d_steps, help="discriminator updates per generator update")
    p.add_argument("--width", type=int, default=d.width, help="network width multiplier")
    p.add_argument("--lr-g", type=float, default=d.lr_g)
    p.add_argument("--lr-d", type=float, default=d.lr_d)
    p.add_argument("--augment", default=d.augment, help="DiffAugment policy: auto, none, translation,cutout")
    p.add_argument("--ema-decay", type=float, default=d.ema_decay, help="EMA of generator weights (0 disables)")
    p.add_argument("--sample-every", type=int, default=d.sample_every, help="write a sample grid every N steps (0: never)")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, help="checkpoint every N steps")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, instead of argparse's usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganaug", description="Class-conditional GAN data augmentation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,demo,evaluate}")

    p = sub.add_parser("train", help="train a conditional GAN", description="Train a class-conditional GAN; "
                       "writes OUT/checkpoint.pt, OUT/generator.pt and OUT/samples/*.png.")
    _add_data_args(p)
    _add_train_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")

    p = sub.add_parser("sample", help="generate images from a trained generator",
                       description="Generate images; OUT ending in .png writes a grid, .npz writes arrays "
                       "(images float32 (N, C, H, W) in [-1, 1], labels, classes).")
    p.add_argument("--checkpoint", required=True, help="generator.pt or checkpoint.pt written by ganaug")
    p.add_argument("--n", type=int, default=100, help="number of images")
    p.add_argument("--labels", type=int, nargs="+", default=None,
                   help="one class index for all images, or one per image (default: all classes, balanced)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="grid.png or samples.npz")
    p.add_argument("--device", default=None)

    p = sub.add_parser("demo", help="train on the embedded digits and write a sample grid",
                       description="Train a conditional GAN on scikit-learn's embedded digits and write a "
                       "picture of generated digits (one row per class).")
    p.add_argument("--out", default="ganaug-demo", help="output folder (default: ganaug-demo)")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"generator updates (default {DEMO_STEPS})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("evaluate", help="sample-quality report: FID/KID, precision/recall, CAS, mode collapse",
                       description="Score a generator against real data in the feature space of a small CNN "
                       "trained on the real training split (cached): FID, KID, precision/recall, "
                       "density/coverage (each next to its real-test floor), classification accuracy score, "
                       "and per-class mode collapse / memorisation. Prints a table and writes JSON.")
    p.add_argument("--checkpoint", required=True, help="generator.pt or checkpoint.pt written by ganaug")
    p.add_argument("--dataset", default="digits", help="digits (seeded 70/30 split), mnist, fashion-mnist "
                   "(official train/test), or a folder with one sub-folder per class (seeded 70/30 split)")
    p.add_argument("--root", default=None, help="folder holding MNIST/FashionMNIST (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--n", type=int, default=None, help="generated images (default: as many as the test split)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the feature extractor, sampling, CAS")
    p.add_argument("--out", default=None, help="JSON report (default: CHECKPOINT.eval.json)")
    p.add_argument("--feature-epochs", type=int, default=None, help="feature extractor epochs (default: by data size)")
    p.add_argument("--cas-epochs", type=int, default=10, help="epochs of the CAS classifiers (default 10)")
    p.add_argument("--cas-per-class", type=int, default=None,
                   help="generated images per class for CAS (default: the mean training images per class)")
    p.add_argument("--no-cas", action="store_true", help="skip the classification accuracy score")
    p.add_argument("--cache-dir", default=None, help="feature extractor cache (default: $GANAUG_CACHE or ~/.cache/ganaug)")
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {"train": _train, "sample": _sample, "demo": _demo, "evaluate": _evaluate}[args.command](args)
    except (ValueError, TypeError, FileNotFoundError, CheckpointError) as err:
        print(f"ganaug {args.command}: error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:  # training diverged: not a usage error, but still one line
        print(f"ganaug {args.command}: error: {err}", file=sys.stderr)
        return 1


def _train(args) -> int:
    from .datasets import load_dataset
    from .training import TrainConfig, fit

    cfg = TrainConfig(arch=args.arch, loss=args.loss, steps=args.steps, max_minutes=args.max_minutes,
                      batch_size=args.batch_size, d_steps=args.d_steps, width=args.width, lr_g=args.lr_g,
                      lr_d=args.lr_d, augment=args.augment, ema_decay=args.ema_decay, seed=args.seed,
                      device=args.device, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    if args.steps is None and args.max_minutes is None:
        cfg.steps = TrainConfig().steps
    cfg.validate()
    data = load_dataset(args.dataset, root=args.root, download=args.download, n_per_class=args.n_per_class,
                        seed=args.seed)
    print(f"training {cfg.arch}/{cfg.loss} on {data.name}: {len(data)} images of shape {data.image_shape}, "
          f"{data.num_classes} classes")
    gen, history = fit(data, cfg, out_dir=args.out, resume=args.resume, progress=not args.no_progress)
    out = Path(args.out)
    last = history[-1] if history else {}
    print(f"done: step {last.get('step', '?')}, generator: {out / 'generator.pt'}, "
          f"checkpoint: {out / 'checkpoint.pt'}, samples: {out / 'samples' / 'final.png'}")
    return 0


def _sample(args) -> int:
    from .checkpoint import load_generator
    from .viz import save_grid

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise ValueError(f"--out: expected a file name ending in .png or .npz, got {str(out)!r}. "
                         "Pass e.g. --out grid.png or --out samples.npz.")
    gen = load_generator(args.checkpoint, device=args.device)
    labels, nrow = args.labels, 10
    if labels is None:  # rows of classes, so the grid reads one class per row
        nrow = -(-args.n // gen.num_classes)
        labels = np.repeat(np.arange(gen.num_classes), nrow)[: args.n]
    elif len(labels) == 1:
        labels = labels[0]
    images, y = gen.sample(args.n, labels=labels, seed=args.seed)
    if out.suffix.lower() == ".png":
        save_grid(images, out, nrow=nrow)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, images=images.numpy(), labels=y.numpy(), classes=np.array(gen.classes))
    print(f"wrote {args.n} samples to {out}")
    return 0


def _demo(args) -> int:
    from .datasets import load_dataset
    from .training import TrainConfig, fit

    data = load_dataset("digits")
    out = Path(args.out)
    cfg = TrainConfig(steps=args.steps, seed=args.seed, sample_every=max(1, args.steps // 5))
    print(f"ganaug demo: training a conditional {cfg.arch} GAN on scikit-learn digits "
          f"({len(data)} images, 8x8, {data.num_classes} classes) for {cfg.steps} steps")
    gen, _ = fit(data, cfg, out_dir=out, progress=not args.no_progress)
    print(f"generated digits (one row per class): {out / 'samples' / 'final.png'}")
    print(f"generator: {out / 'generator.pt'}  (sample more: ganaug sample --checkpoint "
          f"{out / 'generator.pt'} --n 100 --out grid.png)")
    return 0


def _evaluate(args) -> int:
    import json

    from .checkpoint import load_generator
    from .evaluate import evaluate, format_report
    from .features import load_split

    out = Path(args.out) if args.out is not None else Path(str(args.checkpoint) + ".eval.json")
    gen = load_generator(args.checkpoint, device=args.device)
    train, test = load_split(args.dataset, root=args.root, seed=args.seed, download=args.download)
    report = evaluate(gen, train, test, n=args.n, seed=args.seed, feature_epochs=args.feature_epochs,
                      cache_dir=args.cache_dir, cas=not args.no_cas, cas_per_class=args.cas_per_class,
                      cas_epochs=args.cas_epochs, device=args.device, progress=not args.no_progress)
    report = {"checkpoint": str(args.checkpoint), **report, "dataset": args.dataset}
    print(format_report(report))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
