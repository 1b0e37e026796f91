"""The ``ganaug`` command: train, sample, demo, evaluate, benchmark."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError

DEMO_STEPS = 1500
DEMO_CLF_STEPS = 300


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
    p.add_argument("--z-dim", type=int, default=d.z_dim, help=f"noise size (default {d.z_dim})")
    p.add_argument("--lr-g", type=float, default=d.lr_g)
    p.add_argument("--lr-d", type=float, default=d.lr_d)
    p.add_argument("--lr-decay", type=float, default=d.lr_decay,
                   help="last fraction of --steps over which both lrs fall linearly to 0 (default 0: constant)")
    p.add_argument("--augment", default=d.augment, help="DiffAugment policy: auto, none, translation,cutout")
    p.add_argument("--ema-decay", type=float, default=d.ema_decay, help="EMA of generator weights (0 disables)")
    p.add_argument("--mode-seeking", type=float, default=d.mode_seeking,
                   help=f"weight of the mode-seeking term in G's loss (default {d.mode_seeking}; 0 disables)")
    p.add_argument("--aux-weight", type=float, default=d.aux_weight,
                   help="weight of the auxiliary-classifier (AC-GAN) loss in D and G (default 0: off)")
    p.add_argument("--aux-twin", action="store_true",
                   help="with --aux-weight: TAC-GAN's twin class head, which keeps the aux loss from narrowing G")
    p.add_argument("--sample-every", type=int, default=d.sample_every, help="write a sample grid every N steps (0: never)")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, help="checkpoint every N steps")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, instead of argparse's usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganaug", description="Class-conditional GAN data augmentation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,demo,evaluate,benchmark}")

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

    p = sub.add_parser("demo", help="train on the embedded digits, write a sample grid, compare classifiers",
                       description="Train a conditional GAN on scikit-learn's embedded digits (70% split), write a "
                       "picture of generated digits (one row per class), then train a small CNN with and "
                       "without the synthetic digits and print their accuracy on the held-out 30%.")
    p.add_argument("--out", default="ganaug-demo", help="output folder (default: ganaug-demo)")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"generator updates (default {DEMO_STEPS})")
    p.add_argument("--clf-steps", type=int, default=DEMO_CLF_STEPS,
                   help=f"classifier batches per comparison (default {DEMO_CLF_STEPS})")
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

    _add_benchmark_parser(sub)
    return parser


def _add_benchmark_parser(sub) -> None:
    from .benchmark import DEFAULT_METHODS, METHODS, BenchmarkConfig

    d = BenchmarkConfig()
    p = sub.add_parser("benchmark", help="downstream accuracy with and without GAN augmentation, over sizes and seeds",
                       description="Train a classifier on seeded labelled subsets with and without GAN / "
                       "classical augmentation and report mean, 95% CI and paired tests. Resumable: finished "
                       "runs are kept in OUT/results.csv and skipped when the command is run again.")
    p.add_argument("--out", required=True, help="results folder (results.csv, results.md, results.png, gans/)")
    p.add_argument("--quick", action="store_true",
                   help="embedded digits, small budgets: a few minutes on 2 CPU cores (other flags override it)")
    p.add_argument("--report-only", action="store_true", help="only regenerate results.md/png from results.csv")
    p.add_argument("--dataset", default=None, help=f"mnist (official split), digits, fashion-mnist (default {d.dataset})")
    p.add_argument("--root", default=None, help="folder holding MNIST (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="labelled images per class; 0 = full training set")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (one subset + GAN + classifiers each)")
    p.add_argument("--methods", nargs="+", default=None, help="any of: " + " ".join(METHODS) +
                   " (default: " + " ".join(DEFAULT_METHODS) + ")")
    p.add_argument("--eval-split", default=None, help="test (default) or val (held out of the training split, for tuning)")
    p.add_argument("--val-per-class", type=int, default=None,
                   help=f"labelled selection split per class, held out of the training split: the auto share is "
                   f"chosen on it (default {d.val_per_class})")
    p.add_argument("--gan-arch", default=None, help=f"mlp or dcgan (default {d.gan_arch})")
    p.add_argument("--gan-width", type=int, default=None)
    p.add_argument("--gan-steps", type=int, default=None,
                   help="GAN generator steps per cell (default: 20 per labelled image, 4,000 to 20,000)")
    p.add_argument("--gan-aug-copies", type=int, default=None,
                   help=f"real+augan+aug: augmented copies per image the GAN trains on (default {d.gan_aug_copies})")
    p.add_argument("--gan-minutes", type=float, default=None, help="wall-clock cap per GAN")
    p.add_argument("--clf-steps", type=int, default=None,
                   help="classifier batches, every method of a cell (default: 20 epochs of the subset, at least 1,500)")
    p.add_argument("--clf-width", type=int, default=None, help=f"default {d.clf_width}")
    p.add_argument("--shares", type=float, nargs="+", default=None,
                   help=f"synthetic shares tried by every mixing method; @auto picks among them and 0 on the "
                   f"selection split (default {' '.join(map(str, d.shares))})")
    p.add_argument("--teacher-weight", type=float, default=None,
                   help=f"real+gan+aug-soft: weight of the teacher's probabilities in synthetic labels (default {d.teacher_weight})")
    p.add_argument("--filter-keep", type=float, default=None,
                   help=f"per class, keep this most-confident fraction of GAN samples (default {d.filter_keep})")
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {"train": _train, "sample": _sample, "demo": _demo, "evaluate": _evaluate,
                "benchmark": _benchmark}[args.command](args)
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
                      batch_size=args.batch_size, d_steps=args.d_steps, width=args.width, z_dim=args.z_dim,
                      lr_g=args.lr_g, lr_d=args.lr_d, lr_decay=args.lr_decay, augment=args.augment,
                      ema_decay=args.ema_decay, seed=args.seed, mode_seeking=args.mode_seeking,
                      aux_weight=args.aux_weight, aux_twin=args.aux_twin, device=args.device,
                      sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    if args.steps is None and args.max_minutes is None:
        cfg.steps = TrainConfig().steps
    cfg.validate()
    data = load_dataset(args.dataset, root=args.root, download=args.download, n_per_class=args.n_per_class,
                        seed=args.seed)
    # Under torchrun every process runs this; only rank 0 talks.
    say = print if os.environ.get("RANK", "0") == "0" else (lambda *a, **k: None)
    say(f"training {cfg.arch}/{cfg.loss} on {data.name}: {len(data)} images of shape {data.image_shape}, "
        f"{data.num_classes} classes")
    last = {"step": "?"}  # the final step (history only records every log_every steps)
    fit(data, cfg, out_dir=args.out, resume=args.resume, progress=not args.no_progress,
        hooks=[lambda state: last.update(step=state.step)])
    out = Path(args.out)
    say(f"done: step {last['step']}, generator: {out / 'generator.pt'}, "
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
    from .benchmark import BenchmarkConfig, compare_methods
    from .features import load_split
    from .training import TrainConfig, fit

    # The GAN and the classifiers see the 70% training split only; the 30% test split scores them.
    train, test = load_split("digits", seed=args.seed)
    out = Path(args.out)
    cfg = TrainConfig(steps=args.steps, seed=args.seed, sample_every=max(1, args.steps // 5))
    print(f"ganaug demo: training a conditional {cfg.arch} GAN on scikit-learn digits "
          f"({len(train)} training images, 8x8, {train.num_classes} classes) for {cfg.steps} steps")
    gen, _ = fit(train, cfg, out_dir=out, progress=not args.no_progress)
    print(f"generated digits (one row per class): {out / 'samples' / 'final.png'}")
    print(f"generator: {out / 'generator.pt'}  (sample more: ganaug sample --checkpoint "
          f"{out / 'generator.pt'} --n 100 --out grid.png)")
    bench = BenchmarkConfig(dataset="digits", clf_steps=args.clf_steps, shares=(0.5,), device="cpu")
    print(f"training a small CNN ({bench.clf_steps} batches of 64) with and without synthetic digits ...")
    scores = compare_methods(train, test, gen, ("real", "real+gan", "cas"), bench, seed=args.seed)
    names = {"real": "real only", "real+gan@0.5": "real + synthetic (half of every epoch)",
             "cas": "synthetic only (CAS)"}
    print(f"\n{'training data':40} test accuracy ({len(test)} held-out digits, seed {args.seed})")
    for m, r in scores.items():
        print(f"{names[m]:40} {r['accuracy']:.4f}")
    print("\nOne seed; for means, confidence intervals and small labelled sets run: ganaug benchmark --quick --out bench")
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


def _benchmark(args) -> int:
    import dataclasses

    from .benchmark import BenchmarkConfig, quick_config, run_benchmark
    from .report import write_report

    if not args.report_only:
        base = quick_config() if args.quick else BenchmarkConfig()
        given = {f: getattr(args, f) for f in ("dataset", "root", "sizes", "seeds", "methods", "eval_split", "gan_arch",
                                                 "gan_width", "gan_steps", "gan_minutes", "gan_aug_copies", "clf_steps",
                                                 "clf_width", "shares", "teacher_weight", "val_per_class",
                                                 "filter_keep", "device")
                 if getattr(args, f) is not None}
        for f in ("sizes", "seeds", "methods", "shares"):
            if f in given:
                given[f] = tuple(given[f])
        cfg = dataclasses.replace(base, download=args.download, **given).validate()
        print(f"ganaug benchmark: {cfg.dataset}, sizes {list(cfg.sizes)} per class, seeds {list(cfg.seeds)}, "
              f"methods {list(cfg.methods)}, setting {cfg.setting()} -> {args.out}")
        run_benchmark(cfg, args.out, progress=not args.no_progress)
    paths = write_report(args.out)
    print(paths["markdown"].read_text())
    print(f"table: {paths['markdown']}  summary: {paths['summary']}  plot: {paths['plot']}  runs: {Path(args.out) / 'results.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
