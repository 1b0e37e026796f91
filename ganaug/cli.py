"""The ``ganaug`` command: train, sample, demo, evaluate, benchmark."""
from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from ._checks import check_device, check_float, check_int, did_you_mean, fail

DEMO_STEPS = 1500
DEMO_CLF_STEPS = 300


# One line per command for `ganaug --help`: purpose and an example.
COMMANDS = {
    "train": ("train a class-conditional GAN on a labelled image dataset",
              "ganaug train --dataset mnist --download --steps 3000 --out runs/mnist"),
    "sample": ("generate labelled images from a trained generator (PNG grid or NPZ arrays)",
               "ganaug sample --checkpoint runs/mnist/generator.pt --n 100 --out grid.png"),
    "demo": ("train on the embedded 8x8 digits, write a sample grid, compare classifiers (minutes on a CPU)",
             "ganaug demo --out ganaug-demo"),
    "evaluate": ("sample-quality report: FID/KID, precision/recall, CAS, mode collapse",
                 "ganaug evaluate --checkpoint runs/mnist/generator.pt --dataset mnist"),
    "benchmark": ("downstream accuracy with and without GAN augmentation, over sizes and seeds",
                  "ganaug benchmark --quick --out bench"),
}


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in every flag's help; descriptions keep their line breaks (examples stay on one line)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is None or action.default is argparse.SUPPRESS or isinstance(action.default, bool) \
                or "default" in text or not action.option_strings:
            return text
        return text + " (default: %(default)s)"

    def _fill_text(self, text, width, indent):
        return "\n".join(indent + line if line.startswith("  ") or not line.strip()
                         else super(_Formatter, self)._fill_text(line, width, indent)
                         for line in text.split("\n"))


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit code 2, instead of argparse's usage dump
        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            hint = did_you_mean(bad.group(1), re.findall(r"'([^']*)'", bad.group(2)))
            message += f". {hint}" if hint else ""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_data_args(p: argparse.ArgumentParser, seed: bool = True) -> None:
    p.add_argument("--dataset", default="digits",
                   help="digits (embedded), mnist, fashion-mnist, or a folder with one sub-folder per class")
    p.add_argument("--root", default=None, help="folder holding MNIST/ or FashionMNIST/ (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--n-per-class", type=int, default=None, help="train on a seeded stratified subset of N images per class")
    if seed:
        p.add_argument("--seed", type=int, default=0, help="seed for the split, sampling and models")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, named, typed and documented by the field (the single source)."""
    import types
    import typing

    from .gan.training import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        help_text, default = f.metadata["help"], f.default
        help_text = re.sub(r"\b[a-z]+_[a-z_]+\b", lambda m: _flag(m.group(0)), help_text).replace("None = ", "unset: ")
        kind = [hints[f.name]]
        if typing.get_origin(kind[0]) in (typing.Union, types.UnionType):  # `int | None` -> int
            kind = [t for t in typing.get_args(kind[0]) if t is not type(None)]
        if f.name == "steps":  # None on the command line: the default count unless --max-minutes is given
            p.add_argument("--steps", type=int, default=None,
                           help=f"{help_text.split(';')[0]} (default: {default} unless --max-minutes is given)")
        elif f.name == "spectral_norm":
            p.add_argument("--spectral-norm", choices=("auto", "on", "off"), default="auto",
                           help=help_text.replace("None", "auto"))
        elif kind[0] is bool and default is True:
            p.add_argument(_flag("no_" + f.name), dest=f.name, action="store_false", help=f"turn off: {help_text}")
        elif kind[0] is bool:
            p.add_argument(_flag(f.name), action="store_true", help=help_text)
        elif typing.get_origin(kind[0]) is tuple:
            p.add_argument(_flag(f.name), type=float, nargs=2, default=default, metavar=("B1", "B2"), help=help_text)
        else:
            p.add_argument(_flag(f.name), type=kind[0], default=default, help=help_text.replace("%", "%%"))
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _train_config(args):
    from .gan.training import TrainConfig

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    values["spectral_norm"] = {"auto": None, "on": True, "off": False}[args.spectral_norm]
    values["betas"] = tuple(args.betas)
    if args.steps is None and args.max_minutes is None:
        values["steps"] = TrainConfig().steps
    return TrainConfig(**values).validate()


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:10} {purpose}\n  {'':10}   e.g. {example}" for name, (purpose, example) in COMMANDS.items())
    parser = _Parser(prog="ganaug", description="Class-conditional GAN data augmentation: train a GAN on a small "
                     "labelled image dataset and use its images as extra training data.",
                     epilog=f"commands:\n{listing}\n\nRun 'ganaug COMMAND --help' for a command's flags.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    def command(name, description, **kw):
        purpose, example = COMMANDS[name]
        return sub.add_parser(name, help=purpose, description=description, epilog=f"example:\n  {example}", **kw)

    p = command("train", "Train a class-conditional GAN; writes OUT/checkpoint.pt, OUT/generator.pt and "
                "OUT/samples/*.png. A folder holding a run is refused unless --resume or --overwrite is given; "
                "a lock file (OUT/.ganaug.lock) keeps two runs out of one folder.")
    _add_data_args(p, seed=False)
    _add_train_args(p)
    p.add_argument("--out", required=True, help="output folder")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true", help="continue the run in OUT from OUT/checkpoint.pt")
    how.add_argument("--overwrite", action="store_true", help="replace the run in OUT (its checkpoint, generator "
                     "and sample grids) with a new one")
    p.add_argument("--unlabelled", default=None, metavar="PATH|rest",
                   help="also learn from unlabelled images: a folder of images, or 'rest' = the rest of the "
                   "training split without its labels (needs --n-per-class); they are pseudo-labelled by a "
                   "classifier trained on the labelled images and kept above --pseudo-threshold")
    p.add_argument("--pseudo-threshold", type=float, default=0.95,
                   help="with --unlabelled: the confidence a pseudo-label needs")
    p.add_argument("--pseudo-rounds", type=int, default=2, help="with --unlabelled: self-training rounds")
    p.add_argument("--pseudo-steps", type=int, default=None,
                   help="with --unlabelled: classifier batches per round (default: 40 epochs, 3,000 to 12,000)")

    p = command("sample", "Generate images; OUT ending in .png writes a grid, .npz writes arrays "
                "(images float32 (N, C, H, W) in [-1, 1], labels, classes).")
    p.add_argument("--checkpoint", required=True, help="generator.pt or checkpoint.pt written by ganaug")
    p.add_argument("--n", type=int, default=100, help=f"number of images (at most {MAX_SAMPLE:,})")
    p.add_argument("--labels", nargs="+", default=None,
                   help="one class (name or index) for all images, or one per image; '#3' always means index 3 "
                        "(default: all classes, balanced)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--out", required=True, help="grid.png or samples.npz")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")

    p = command("demo", "Train a conditional GAN on scikit-learn's embedded digits (70% split), write a "
                "picture of generated digits (one row per class), then train a small CNN with and "
                "without the synthetic digits and print their accuracy on the held-out 30%.")
    p.add_argument("--out", default="ganaug-demo", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo run in OUT")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help="generator updates")
    p.add_argument("--clf-steps", type=int, default=DEMO_CLF_STEPS, help="classifier batches per comparison")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the GAN and the classifiers")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = command("evaluate", "Score a generator against real data in the feature space of a small CNN "
                "trained on the real training split (cached): FID, KID, precision/recall, "
                "density/coverage (each next to its real-test floor), classification accuracy score, "
                "and per-class mode collapse / memorisation. Prints a table and writes JSON.")
    p.add_argument("--checkpoint", required=True, help="generator.pt or checkpoint.pt written by ganaug")
    p.add_argument("--dataset", default="digits", help="digits (seeded 70/30 split), mnist, fashion-mnist "
                   "(official train/test), or a folder with one sub-folder per class (seeded 70/30 split)")
    p.add_argument("--root", default=None, help="folder holding MNIST/ or FashionMNIST/ (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--n", type=int, default=None, help="generated images (default: as many as the test split)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the feature extractor, sampling, CAS")
    p.add_argument("--out", default=None, help="JSON report (default: CHECKPOINT.eval.json)")
    p.add_argument("--feature-epochs", type=int, default=None, help="feature extractor epochs (default: by data size)")
    p.add_argument("--cas-epochs", type=int, default=10, help="epochs of the CAS classifiers")
    p.add_argument("--cas-per-class", type=int, default=None,
                   help="generated images per class for CAS (default: the mean training images per class)")
    p.add_argument("--no-cas", action="store_true", help="skip the classification accuracy score")
    p.add_argument("--cache-dir", default=None, help="feature extractor cache (default: $GANAUG_CACHE or ~/.cache/ganaug)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    _add_benchmark_parser(command)
    return parser


def _add_benchmark_parser(command) -> None:
    from .bench.config import (DEFAULT_METHODS, DEFAULT_SIZES, METHODS, SEMI_DEFAULT_METHODS, SEMI_METHODS, SEMI_SIZES,
                               BenchmarkConfig)

    d = BenchmarkConfig()
    p = command("benchmark", "Train a classifier on seeded labelled subsets with and without GAN / "
                "classical augmentation and report mean, 95% CI and paired tests. Resumable: finished "
                "runs are kept in OUT/results.csv and skipped when the command is run again.")
    p.add_argument("--out", required=True, help="results folder (results.csv, results.md, results.png, gans/)")
    p.add_argument("--quick", action="store_true",
                   help="embedded digits, small budgets: a few minutes on 2 CPU cores (other flags override it)")
    p.add_argument("--report-only", action="store_true", help="only regenerate results.md/png from results.csv")
    p.add_argument("--dataset", default=None, help=f"mnist (official split), digits, fashion-mnist (default: {d.dataset})")
    p.add_argument("--root", default=None, help="folder holding MNIST/ (default: $GANAUG_DATA or ./data)")
    p.add_argument("--download", action="store_true", help="download MNIST/Fashion-MNIST if missing")
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help=f"labelled images per class; 0 = full training set (default: {' '.join(map(str, DEFAULT_SIZES))}; "
                   f"with --unlabelled rest: {' '.join(map(str, SEMI_SIZES))})")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help=f"seeds, one subset + GAN + classifiers each (default: {' '.join(map(str, d.seeds))})")
    p.add_argument("--methods", nargs="+", default=None,
                   help=f"any of: {' '.join(METHODS)}; {' '.join(SEMI_METHODS)} need --unlabelled rest (default: "
                   f"{' '.join(DEFAULT_METHODS)}; with --unlabelled rest: {' '.join(SEMI_DEFAULT_METHODS)})")
    p.add_argument("--unlabelled", default=None, metavar="rest",
                   help="semi-supervised mode: every cell's unlabelled pool is the rest of the training split (less "
                   "the selection split); methods never read its labels (default: off)")
    p.add_argument("--semi-threshold", type=float, default=None,
                   help=f"with --unlabelled: the confidence a pseudo-label needs (default: {d.semi_threshold})")
    p.add_argument("--semi-rounds", type=int, default=None,
                   help=f"with --unlabelled: pseudo-labelling rounds (default: {d.semi_rounds})")
    p.add_argument("--semi-steps", type=int, default=None,
                   help="with --unlabelled: batches of each pseudo-labelling round's classifier (default: the "
                   "classifier schedule of the cell)")
    p.add_argument("--eval-split", default=None,
                   help=f"test or val (held out of the training split, for tuning) (default: {d.eval_split})")
    p.add_argument("--val-per-class", type=int, default=None,
                   help=f"labelled selection split per class, held out of the training split: the auto share is "
                   f"chosen on it (default: {d.val_per_class})")
    p.add_argument("--gan-arch", default=None, help=f"mlp or dcgan (default: {d.gan_arch})")
    p.add_argument("--gan-width", type=int, default=None, help=f"GAN width multiplier (default: {d.gan_width})")
    p.add_argument("--gan-steps", type=int, default=None,
                   help="GAN generator steps per cell (default: 20 per labelled image, 4,000 to 20,000)")
    p.add_argument("--gan-aug-copies", type=int, default=None,
                   help=f"real+augan+aug: augmented copies per image the GAN trains on (default: {d.gan_aug_copies})")
    p.add_argument("--gan-minutes", type=float, default=None, help="wall-clock cap per GAN (default: none)")
    p.add_argument("--clf-steps", type=int, default=None,
                   help="classifier batches, every method of a cell (default: 40 epochs of the subset, 3,000 to 12,000)")
    p.add_argument("--clf-epochs", type=int, default=None,
                   help=f"sized schedule: epochs of the subset (default: {d.clf_epochs})")
    p.add_argument("--clf-min-steps", type=int, default=None,
                   help=f"sized schedule: at least this many batches (default: {d.clf_min_steps})")
    p.add_argument("--clf-max-steps", type=int, default=None,
                   help=f"sized schedule: at most this many batches (default: {d.clf_max_steps})")
    p.add_argument("--augmentation", default=None, choices=("albumentations", "torch"),
                   help="the classical augmentation: albumentations per image in the data path, or the same "
                   "distortions batched in torch on the classifier's device (ganaug.DigitAugment; much faster "
                   f"on a GPU) (default: {d.augmentation})")
    p.add_argument("--clf-width", type=int, default=None, help=f"classifier width (default: {d.clf_width})")
    p.add_argument("--shares", type=float, nargs="+", default=None,
                   help=f"synthetic shares tried by every mixing method; @auto picks among them and 0 on the "
                   f"selection split (default: {' '.join(map(str, d.shares))})")
    p.add_argument("--teacher-weight", type=float, default=None,
                   help=f"real+gan+aug-soft: weight of the teacher's probabilities in synthetic labels "
                   f"(default: {d.teacher_weight})")
    p.add_argument("--filter-keep", type=float, default=None,
                   help=f"per class, keep this most-confident fraction of GAN samples (default: {d.filter_keep})")
    p.add_argument("--truncation", type=float, default=None,
                   help=f"the -trunc methods: GAN noise drawn from a Gaussian truncated to |z| <= this (default: "
                   f"{d.truncation})")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv: list[str] | None = None) -> int:
    """Run the ``ganaug`` command; every expected failure is one line on stderr and exit code 2."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = _subparser(parser, args.command)
        sub.error(_unrecognized(extra, sub))
    command = {"train": _train, "sample": _sample, "demo": _demo, "evaluate": _evaluate, "benchmark": _benchmark}
    prog = f"ganaug {args.command}"
    # Folders of --out that do not exist yet: a command that fails removes those it left empty.
    out = Path(args.out) if getattr(args, "out", None) else None
    new_dirs = [d for d in (out, *out.parents) if not d.exists()] if out is not None else []
    code = 1
    try:
        code = command[args.command](args)
        return code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted" + (f"; files written so far are in {args.out} (continue a training run with "
                                        "--resume)" if args.command == "train" else ""), file=sys.stderr)
        return 130
    except FloatingPointError as err:  # training diverged: not a usage error, but still one line
        print(f"{prog}: error: {_one_line(err, args, parser)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, RuntimeError, MemoryError, LookupError) as err:
        print(f"{prog}: error: {_one_line(err, args, parser)}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug in ganaug: still one line, the traceback only on request
        if os.environ.get("GANAUG_DEBUG"):
            raise
        print(f"{prog}: error: unexpected {type(err).__name__}: {_first_line(err)}. This is a bug in ganaug; "
              "please report it with the command line (GANAUG_DEBUG=1 shows the traceback).", file=sys.stderr)
        return 1
    finally:
        if code != 0:
            _remove_empty(new_dirs)


def _remove_empty(dirs: list[Path]) -> None:
    """Remove the folders of ``dirs`` (deepest first) that exist and are empty."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:  # not empty (or already gone): keep what a command wrote
            pass


MAX_SAMPLE = 1_000_000  # images per `ganaug sample` call (4 GB of float32 28x28 pixels)
MAX_GRID = 10_000  # images in one PNG grid
# What to lower when memory runs out, by command.
MEMORY_FLAGS = {"train": "--batch-size, --width or --n-per-class", "sample": "--n", "demo": "--steps",
                "evaluate": "--n or --cas-per-class", "benchmark": "--sizes, --gan-width or --clf-width"}


def _subparser(parser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def _unrecognized(extra: list[str], sub: argparse.ArgumentParser) -> str:
    flags = [o for a in sub._actions for o in a.option_strings]
    words = []
    for word in extra:
        hint = did_you_mean(word.split("=")[0], flags) if word.startswith("-") else ""
        words.append(f"{word} ({hint.lower().rstrip('?')}?)" if hint else word)
    return "unrecognized arguments: " + " ".join(words)


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) if str(err).strip() else type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _one_line(err: BaseException, args, parser) -> str:
    """The error as one line that names CLI flags (``--n-per-class``), not Python arguments."""
    text = _first_line(err)
    if isinstance(err, MemoryError) or (isinstance(err, RuntimeError) and re.search(
            r"out of memory|can't allocate memory|not enough memory|failed to allocate", text, re.I)):
        return (f"out of memory ({text[:160]}). Lower {MEMORY_FLAGS[args.command]}, or use a machine with "
                "more memory.")
    if isinstance(err, OSError) and err.errno is not None and text.startswith("[Errno"):
        where = f": {str(err.filename)!r}" if err.filename else ""
        fix = {errno.ENOSPC: "Free disk space (or pick another --out) and run again.",
               errno.EDQUOT: "Free disk space (or pick another --out) and run again.",
               errno.EACCES: "Pick a path you may write to, or fix the permissions.",
               errno.EPERM: "Pick a path you may write to, or fix the permissions.",
               errno.EROFS: "Pick a folder on a writable disk.",
               errno.EISDIR: "Pass a file name, not a folder.",
               errno.ENOTDIR: "A part of the path is a file; pick another path."}.get(err.errno, "")
        text = f"{err.strerror or text}{where}. {fix}".rstrip()
    # The library's "resume=True (CLI: --resume)" / "root (CLI: --root)": on the command line, just the flag.
    text = re.sub(r"\b\w+(?:=\S*)? \(CLI: (--[\w-]+)\)", r"\1", text)
    # Python argument names -> the flags of this command.
    sub = _subparser(parser, args.command)
    dests = {a.dest: a.option_strings[0] for a in sub._actions if a.option_strings and a.dest != "help"}
    dests.update({"source": "--dataset", "n_per_class": "--n-per-class", "out_dir": "--out"})
    for dest, flag in sorted(dests.items(), key=lambda kv: -len(kv[0])):
        if "_" in dest:  # an identifier: replaced anywhere except inside a path or a longer name
            text = re.sub(rf"(?<![\w\-/.\\]){dest}\b(?![/\\.]\w)", flag, text)
        else:  # a plain word (n, loss, labels): only where it is used as a name ("n: ...", "n >= 1", "n=5")
            text = re.sub(rf"^{dest}(?=:)|(?<![\w-]){dest}(?==|\s[<>]=?\s)", flag, text)
    return text


def _train(args) -> int:
    from ._outdir import LOCK_NAME, check_out_dir
    from .data.datasets import load_dataset
    from .gan.training import fit

    # Everything that can be checked is checked before the data is loaded and training starts.
    cfg = _train_config(args)
    out = Path(args.out)
    check_out_dir(out, args.resume, args.overwrite)
    _check_writable("out", out / LOCK_NAME)
    if args.n_per_class is not None:
        check_int("n_per_class", args.n_per_class, minimum=1)
    pool, pseudo = args.unlabelled, None
    if pool is not None:
        if pool == "rest" and args.n_per_class is None:
            fail("--unlabelled", "--n-per-class with 'rest' (the labelled subset; the rest is the pool)", "rest",
                 "Add e.g. --n-per-class 10, or pass a folder of unlabelled images.")
        check_float("pseudo_threshold", args.pseudo_threshold, 0.0, 1.0)
        check_int("pseudo_rounds", args.pseudo_rounds, minimum=1)
        if args.pseudo_steps is not None:
            check_int("pseudo_steps", args.pseudo_steps, minimum=1)
        pseudo = {"threshold": args.pseudo_threshold, "rounds": args.pseudo_rounds, "steps": args.pseudo_steps}
    if pool == "rest":
        data, pool = load_dataset(args.dataset, root=args.root, download=args.download,
                                  n_per_class=args.n_per_class, seed=args.seed, unlabelled="rest")
    else:
        data = load_dataset(args.dataset, root=args.root, download=args.download, n_per_class=args.n_per_class,
                            seed=args.seed)
    # Under torchrun every process runs this; only rank 0 talks.
    say = print if os.environ.get("RANK", "0") == "0" else (lambda *a, **k: None)
    say(f"training {cfg.arch}/{cfg.loss} on {data.name}: {len(data)} images of shape {data.image_shape}, "
        f"{data.num_classes} classes")
    last = {"step": "?"}  # the final step (history only records every log_every steps)
    fit(data, cfg, out_dir=out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
        hooks=[lambda state: last.update(step=state.step)], unlabelled=pool, pseudo_label_kwargs=pseudo)
    say(f"done: step {last['step']}, generator: {out / 'generator.pt'}, "
        f"checkpoint: {out / 'checkpoint.pt'}, samples: {out / 'samples' / 'final.png'}")
    return 0


def _check_writable(arg: str, path: Path) -> None:
    """Fail now, not after the work, if ``path`` cannot be written (creates its parent folders)."""
    if path.is_dir():
        fail(arg, "a file name", f"{str(path)!r}, which is a folder", f"Pass a file path for {arg}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):  # the real test: can a file be created there?
            pass
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as err:
        fail(arg, "a path you may write to", str(path), f"Pick another path ({err.strerror or err}).")


def _parse_labels(tokens: list[str], classes: list[str]) -> list[int]:
    """``--labels`` words -> class indices: a class name, an index, or '#N' (always index N)."""
    k, out = len(classes), []
    for word in tokens:
        is_index = word.lstrip("#").lstrip("-").isdigit()
        if word in classes and not word.startswith("#"):
            if is_index and classes.index(word) != int(word) and int(word) < k:
                fail("labels", "a class name or index that means one class", word,
                     f"{word!r} is the name of class {classes.index(word)} and the index of class "
                     f"{classes[int(word)]!r}; pass the name, or '#{word}' for the index.")
            out.append(classes.index(word))
        elif is_index:
            out.append(int(word.lstrip("#")))
        else:
            hint = did_you_mean(word, classes)
            fail("labels", f"class names or indices 0..{k - 1} of this generator (classes: {classes})", word,
                 hint or "Pass one of the class names or indices.")
    return out


def _sample(args) -> int:
    import torch

    from .gan.checkpoint import load_generator
    from .gan.viz import save_grid

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        fail("out", "a file name ending in .png or .npz", str(out), "Pass e.g. --out grid.png or --out samples.npz.")
    limit = MAX_GRID if out.suffix.lower() == ".png" else MAX_SAMPLE
    check_int("n", args.n, minimum=1)
    if args.n > limit:
        fail("n", f"at most {limit:,} images for a {out.suffix.lower()} file", args.n,
             "Lower --n, or run the command several times with different --seed.")
    check_device("device", args.device)
    _check_writable("out", out)
    gen = load_generator(args.checkpoint, device=args.device)
    labels, nrow = args.labels, 10
    if labels is None:  # rows of classes, so the grid reads one class per row
        nrow = -(-args.n // gen.num_classes)
        labels = np.repeat(np.arange(gen.num_classes), nrow)[: args.n]
    else:
        labels = _parse_labels(labels, gen.classes)
        labels = labels[0] if len(labels) == 1 else labels
    images, y = gen.sample(args.n, labels=labels, seed=args.seed)
    if not torch.isfinite(images).all():
        fail("checkpoint", "a generator that makes finite images", "NaN/inf pixels",
             "The weights are broken; use an earlier checkpoint or re-train.")
    if out.suffix.lower() == ".png":
        save_grid(images, out, nrow=nrow)
    else:
        from ._files import atomic_save

        arrays = {"images": images.numpy(), "labels": y.numpy(), "classes": np.array(gen.classes)}
        atomic_save(arrays, out, write=lambda d, f: np.savez_compressed(f, **d))  # no half-written file
    print(f"wrote {args.n} samples to {out}")
    return 0


def _demo(args) -> int:
    from ._outdir import check_out_dir
    from .bench.benchmark import compare_methods
    from .bench.config import BenchmarkConfig
    from .data.splits import load_split
    from .gan.training import TrainConfig, fit

    # The GAN and the classifiers see the 70% training split only; the 30% test split scores them.
    out = Path(args.out)
    check_int("steps", args.steps, minimum=1)
    cfg = TrainConfig(steps=args.steps, seed=args.seed, sample_every=max(1, args.steps // 5)).validate()
    bench = BenchmarkConfig(dataset="digits", clf_steps=args.clf_steps, shares=(0.5,), device="cpu").validate()
    check_out_dir(out, False, args.overwrite)
    train, test = load_split("digits", seed=args.seed)
    print(f"ganaug demo: training a conditional {cfg.arch} GAN on scikit-learn digits "
          f"({len(train)} training images, 8x8, {train.num_classes} classes) for {cfg.steps} steps")
    gen, _ = fit(train, cfg, out_dir=out, overwrite=args.overwrite, progress=not args.no_progress)
    print(f"generated digits (one row per class): {out / 'samples' / 'final.png'}")
    print(f"generator: {out / 'generator.pt'}  (sample more: ganaug sample --checkpoint "
          f"{out / 'generator.pt'} --n 100 --out grid.png)")
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

    from .gan.checkpoint import load_generator
    from .metrics.evaluate import evaluate, format_report
    from .data.splits import load_split

    out = Path(args.out) if args.out is not None else Path(str(args.checkpoint) + ".eval.json")
    check_device("device", args.device)
    for name in ("n", "cas_per_class", "feature_epochs"):
        if getattr(args, name) is not None:
            check_int(name, getattr(args, name), minimum=1)
            if name != "feature_epochs" and getattr(args, name) > MAX_SAMPLE:
                fail(name, f"at most {MAX_SAMPLE:,} images", getattr(args, name), f"Lower --{name.replace('_', '-')}.")
    check_int("cas_epochs", args.cas_epochs, minimum=1)
    gen = load_generator(args.checkpoint, device=args.device)  # seconds; a bad file fails before any folder is made
    _check_writable("out", out)  # before minutes of evaluation, not after
    train, test = load_split(args.dataset, root=args.root, seed=args.seed, download=args.download)
    report = evaluate(gen, train, test, n=args.n, seed=args.seed, feature_epochs=args.feature_epochs,
                      cache_dir=args.cache_dir, cas=not args.no_cas, cas_per_class=args.cas_per_class,
                      cas_epochs=args.cas_epochs, device=args.device, progress=not args.no_progress)
    report = {"checkpoint": str(args.checkpoint), **report, "dataset": args.dataset}
    print(format_report(report))
    out.write_text(json.dumps(report, indent=2))
    print(f"report: {out}")
    return 0


def _benchmark(args) -> int:
    from .bench.benchmark import run_benchmark
    from .bench.config import BenchmarkConfig, quick_config
    from .bench.report import write_report

    if not args.report_only:
        base = quick_config() if args.quick else BenchmarkConfig()
        given = {f: getattr(args, f) for f in ("dataset", "root", "sizes", "seeds", "methods", "eval_split", "gan_arch",
                                                 "gan_width", "gan_steps", "gan_minutes", "gan_aug_copies", "clf_steps",
                                                 "clf_epochs", "clf_min_steps", "clf_max_steps", "clf_width", "shares",
                                                 "teacher_weight", "val_per_class", "filter_keep", "truncation", "device",
                                                 "unlabelled", "semi_threshold", "semi_rounds", "semi_steps",
                                                 "augmentation")
                 if getattr(args, f) is not None}
        for f in ("sizes", "seeds", "methods", "shares"):
            if f in given:
                given[f] = tuple(given[f])
        if "unlabelled" in given and "methods" not in given:
            given["methods"] = None  # the semi-supervised mode's default methods (also with --quick)
        cfg = dataclasses.replace(base, download=args.download, **given).validate()
        check_device("device", cfg.device)
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            fail("out", "a folder", f"a file: {args.out}", "Pass a folder for the results.")
        _check_writable("out", out / "results.csv")
        print(f"ganaug benchmark: {cfg.dataset}, sizes {list(cfg.sizes)} per class, seeds {list(cfg.seeds)}, "
              f"methods {list(cfg.methods)}, setting {cfg.setting()} -> {args.out}")
        run_benchmark(cfg, args.out, progress=not args.no_progress)
    paths = write_report(args.out)
    print(paths["markdown"].read_text())
    print(f"table: {paths['markdown']}  summary: {paths['summary']}  plot: {paths['plot']}  runs: {Path(args.out) / 'results.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
