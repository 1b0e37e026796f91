import subprocess
import sys

import numpy as np
import pytest

from ganaug.cli import main


def run(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train")
    assert run("train", "--dataset", "digits", "--n-per-class", 10, "--steps", 4, "--arch", "mlp",
               "--width", 2, "--batch-size", 8, "--sample-every", 2, "--out", out, "--no-progress") == 0
    return out


def test_train_writes_outputs(trained, capsys):
    assert (trained / "generator.pt").exists() and (trained / "checkpoint.pt").exists()
    assert (trained / "samples" / "step_000002.png").exists()


def test_train_resume(trained):
    assert run("train", "--dataset", "digits", "--n-per-class", 10, "--steps", 6, "--arch", "mlp",
               "--width", 2, "--batch-size", 8, "--sample-every", 2, "--out", trained, "--resume",
               "--no-progress") == 0


def test_train_aux_and_schedule_flags_reach_the_config(tmp_path, capsys):
    import json

    from ganaug.gan.checkpoint import safe_load
    from ganaug.classify.semi import PSEUDO_LABELS_FORMAT

    assert run("train", "--dataset", "digits", "--n-per-class", 10, "--steps", 2, "--arch", "mlp", "--width", 2,
               "--batch-size", 8, "--aux-weight", 0.5, "--aux-twin", "--mode-seeking", 0, "--lr-decay", 0.5,
               "--z-dim", 16, "--out", tmp_path, "--no-progress") == 0
    assert "done: step 2," in capsys.readouterr().out  # the last step, though history logs every 50
    ckpt = safe_load(tmp_path / "checkpoint.pt")
    cfg = json.loads(ckpt["config"])
    assert cfg["aux_weight"] == 0.5 and cfg["mode_seeking"] == 0.0 and cfg["aux_twin"] and cfg["lr_decay"] == 0.5
    assert cfg["z_dim"] == 16
    assert any(k.startswith("classify.") for k in ckpt["D"])  # D got its class head
    assert any(k.startswith("twin.") for k in ckpt["D"])  # and the twin


def test_sample_png_and_npz(trained, tmp_path):
    assert run("sample", "--checkpoint", trained / "generator.pt", "--n", 20, "--out", tmp_path / "g.png") == 0
    assert (tmp_path / "g.png").exists()
    assert run("sample", "--checkpoint", trained / "checkpoint.pt", "--n", 3, "--labels", 1, 2, 3,
               "--out", tmp_path / "s.npz") == 0
    z = np.load(tmp_path / "s.npz")
    assert z["images"].shape == (3, 1, 8, 8) and z["labels"].tolist() == [1, 2, 3]
    assert z["classes"].tolist() == [str(i) for i in range(10)]
    assert run("sample", "--checkpoint", trained / "generator.pt", "--n", 4, "--labels", 7,
               "--out", tmp_path / "s7.npz") == 0
    assert np.load(tmp_path / "s7.npz")["labels"].tolist() == [7, 7, 7, 7]


def test_demo(tmp_path, capsys):
    assert run("demo", "--out", tmp_path, "--steps", 3, "--no-progress") == 0
    assert (tmp_path / "samples" / "final.png").exists()
    assert "final.png" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["train", "--out", "x", "--d-steps", "0"], r"ganaug train: error: --d-steps: expected an integer >= 1"),
    (["train", "--out", "x", "--loss", "lsgan"], r"--loss: expected one of"),
    (["train", "--out", "x", "--aux-weight", "-1"], r"--aux-weight: expected a number in \[0.0"),
    (["train", "--out", "x", "--aux-twin"], r"--aux-twin: expected --aux-weight > 0"),
    (["train", "--out", "x", "--max-minutes", "1", "--lr-decay", "0.5"], r"--lr-decay: expected a schedule over a known"),
    (["train", "--out", "x", "--dataset", "/no/such/folder"], r"neither a known dataset name"),
    (["train", "--out", "x", "--dataset", "mnist", "--root", "/no/such"],
     r"mnist not found: looked for .*\. Pass --download to fetch it, or point --root at"),
    (["train", "--out", "x", "--n-per-class", "999"], r"--n-per-class: expected at most 174"),
    (["sample", "--checkpoint", "/no/such.pt", "--out", "g.png"], r"checkpoint: no file at"),
])
def test_errors_are_one_line_exit_2(args, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    import re
    assert re.search(match, err), err
    assert list(tmp_path.iterdir()) == []  # a failed command leaves no empty --out folder behind


def test_a_failed_command_removes_only_the_folders_it_made_and_left_empty(tmp_path, capsys):
    assert run("train", "--out", tmp_path / "new" / "run", "--n-per-class", 999) == 2
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    assert run("train", "--out", tmp_path / "mine", "--n-per-class", 999) == 2
    assert (tmp_path / "mine").is_dir()  # it was there before: kept
    assert run("sample", "--checkpoint", tmp_path / "no.pt", "--out", tmp_path / "grids" / "g.png") == 2
    assert not (tmp_path / "grids").exists()


def test_sample_bad_labels_and_suffix(trained, tmp_path, capsys):
    assert run("sample", "--checkpoint", trained / "generator.pt", "--labels", 12, "--out", tmp_path / "g.png") == 2
    assert "--labels: expected class indices in [0, 9]" in capsys.readouterr().err
    assert run("sample", "--checkpoint", trained / "generator.pt", "--out", tmp_path / "g.jpg") == 2
    assert "--out: expected a file name ending in .png or .npz" in capsys.readouterr().err


def test_argparse_errors_and_help():
    bad = subprocess.run([sys.executable, "-m", "ganaug.cli", "train", "--out", "x", "--steps", "ten"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--steps" in bad.stderr



@pytest.mark.parametrize("cmd", ["train", "sample", "demo", "evaluate", "benchmark"])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([cmd, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and f"usage: ganaug {cmd}" in out
    assert "%%" not in out  # descriptions are printed as written (no %-formatting)


def _nan_generator(trained, path):
    import torch

    obj = torch.load(trained / "generator.pt", weights_only=True)
    obj["state_dict"] = {k: v.fill_(float("nan")) if v.is_floating_point() else v
                         for k, v in obj["state_dict"].items()}
    torch.save(obj, path)  # written around save_generator's own NaN check
    return path


BAD_INVOCATIONS = [  # (argv with {gen}/{ckpt}/{tmp}/{nan}/{junk} placeholders, expected part of the message)
    (["trian", "--out", "{tmp}/a"], r"invalid choice: 'trian'.*Did you mean 'train'\?"),
    (["train", "--out", "{tmp}/a", "--batch-sise", "8"], r"--batch-sise \(did you mean '--batch-size'\?\)"),
    (["train", "--out", "{tmp}/a", "--steps", "ten"], r"--steps: invalid int value"),
    (["train", "--out", "{tmp}/a", "--dataset", "mnst"], r"'mnst' is neither.*Did you mean 'mnist'\?"),
    (["train", "--out", "{tmp}/a", "--device", "gpu"], r"--device: expected a device name"),
    (["train", "--out", "{tmp}/a", "--device", "cuda:7"], r"--device: expected an available device"),
    (["train", "--out", "{tmp}/a", "--minibatch-std", "3"], r"--minibatch-std: expected 0 \(off\) or a group"),
    (["train", "--out", "{tmp}/a", "--minibatch-std", "1"], r"--minibatch-std: expected"),
    (["train", "--out", "{tmp}/a", "--batch-size", "1"], r"--batch-size: expected an integer >= 2"),
    (["train", "--out", "{tmp}/a", "--n-per-class", "5", "--batch-size", "500"],
     r"--batch-size: expected at most the number of training images \(50\)"),
    (["train", "--out", "{tmp}/a", "--width", "0"], r"--width: expected an integer >= 1"),
    (["train", "--out", "{tmp}/a", "--betas", "0.5", "2"], r"--betas: expected a number in \[0.0, 1.0\]"),
    (["train", "--out", "{tmp}/a", "--steps", "0"], r"--steps: expected an integer >= 1"),
    (["train", "--out", "{tmp}/a", "--augment", "colour"], r"--augment: expected"),
    (["train", "--out", "{tmp}/a", "--n-per-class", "0"], r"--n-per-class: expected an integer >= 1"),
    (["train", "--out", "{gen}"], r"--out: expected a folder"),
    (["train", "--out", "{run}"],
     r"--out: expected a new or empty folder.*holding a run.*Pass --resume to continue it, --overwrite to"),
    (["train", "--out", "{tmp}/empty", "--resume"], r"checkpoint: no file at"),
    (["train", "--out", "{tmp}/a", "--resume", "--overwrite"], r"not allowed with argument"),
    (["train", "--out", "{tmp}/a", "--dataset", "{tmp}/nofolder"], r"--dataset: .* is neither a known dataset"),
    (["train", "--out", "{tmp}/a", "--dataset", "{tmp}/n_per_class"], r"/n_per_class' is neither"),  # paths intact
    (["sample", "--checkpoint", "{tmp}/none.pt", "--out", "{tmp}/g.png"], r"--checkpoint: no file at"),
    (["sample", "--checkpoint", "{junk}", "--out", "{tmp}/g.png"], r"is not a readable ganaug file"),
    (["sample", "--checkpoint", "{tmp}", "--out", "{tmp}/g.png"], r"--checkpoint: no file at"),
    (["sample", "--checkpoint", "{nan}", "--out", "{tmp}/g.png"], r"NaN/inf"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.jpg"], r"--out: expected a file name ending in .png"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}"], r"--out: expected a file name ending"),
    (["sample", "--checkpoint", "{gen}", "--out", "{gen}/x/g.png"], r"--out: expected a path you may write to"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--n", "0"], r"--n: expected an integer >= 1"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--n", "99999999"], r"--n: expected at most 10,000"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--labels", "seven"], r"--labels: expected class names"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--labels", "-1"], r"--labels: expected class indices"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--n", "3", "--labels", "1", "2"], r"--labels: expected 3 labels"),
    (["sample", "--checkpoint", "{gen}", "--out", "{tmp}/g.png", "--device", "cuda:3"], r"--device: expected an available"),
    (["evaluate", "--checkpoint", "{gen}", "--out", "{gen}/e.json"], r"--out: expected a path you may write to"),
    (["evaluate", "--checkpoint", "{gen}", "--n", "0"], r"--n: expected an integer >= 1"),
    (["evaluate", "--checkpoint", "{gen}", "--cas-epochs", "0", "--out", "{tmp}/e.json"], r"--cas-epochs: expected"),
    (["evaluate", "--checkpoint", "{junk}", "--out", "{tmp}/e.json"], r"is not a readable ganaug file"),
    (["evaluate", "--checkpoint", "{gen}", "--dataset", "fashion-mnist", "--root", "{tmp}/nodata", "--out",
      "{tmp}/e.json"], r"fashion-mnist not found"),
    (["demo", "--steps", "0", "--out", "{tmp}/d"], r"--steps: expected an integer >= 1"),
    (["demo", "--clf-steps", "0", "--out", "{tmp}/d"], r"--clf-steps: expected an integer >= 2"),
    (["demo", "--out", "{run}"], r"--out: expected a new or empty folder.*--overwrite"),
    (["benchmark", "--out", "{tmp}/b", "--sizes", "-1"], r"--sizes: expected an integer >= 0"),
    (["benchmark", "--out", "{tmp}/b", "--methods", "real+gann"], r"--methods: expected one of.*Did you mean 'real\+gan'"),
    (["benchmark", "--out", "{tmp}/b", "--shares", "1.5"], r"--shares: expected"),
    (["benchmark", "--out", "{tmp}/b", "--clf-min-steps", "500", "--clf-max-steps", "400"],
     r"--clf-max-steps: expected at least --clf-min-steps \(500\)"),
    (["benchmark", "--out", "{gen}", "--quick"], r"--out: expected a folder"),
    (["benchmark", "--out", "{tmp}/nothing", "--report-only"], r"--out: expected a folder holding a benchmark"),
]


@pytest.mark.parametrize("argv, match", BAD_INVOCATIONS, ids=[" ".join(a[:3]) for a, _ in BAD_INVOCATIONS])
def test_bad_invocations_are_one_line_exit_2_without_traceback(argv, match, trained, tmp_path, capsys):
    import re

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes((trained / "checkpoint.pt").read_bytes())
    values = dict(gen=trained / "generator.pt", tmp=tmp_path, junk=junk, run=run_dir,
                  nan=_nan_generator(trained, tmp_path / "nan.pt"))
    argv = [a.format(**values) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert re.search(match, err), err
    assert "_" not in re.sub(r"'[^']*'|\"[^\"]*\"|\S*/\S*", "", err.split("error:", 1)[1]) or "ganaug" in match, err


def test_bad_invocation_in_a_subprocess(tmp_path):  # the real entry point (python -m ganaug), once
    from pathlib import Path

    nope, grid = str(tmp_path / "nope.pt"), str(tmp_path / "g.png")
    bad = subprocess.run([sys.executable, "-m", "ganaug", "sample", "--checkpoint", nope, "--out", grid],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert f"--checkpoint: no file at {nope!r}" in bad.stderr


@pytest.mark.parametrize("exc, code, match", [
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"), 2, r"out of memory .*Lower --n"),
    (MemoryError(), 2, r"out of memory"),
    (OSError(28, "No space left on device"), 2, r"No space left on device.*Free disk space"),
    (PermissionError(13, "Permission denied", "/x/g.png"), 2, r"Permission denied: '/x/g.png'. Pick a path"),
    (RuntimeError("Invalid magic number; corrupt file?"), 2, r"Invalid magic number"),
    (KeyboardInterrupt(), 130, r"interrupted"),
    (ZeroDivisionError("division by zero"), 1, r"unexpected ZeroDivisionError.*bug in ganaug"),
])
def test_unexpected_failures_are_one_line(exc, code, match, trained, tmp_path, monkeypatch, capsys):
    import re

    import ganaug.gan.viz

    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(ganaug.gan.viz, "save_grid", boom)
    monkeypatch.delenv("GANAUG_DEBUG", raising=False)
    assert main(["sample", "--checkpoint", str(trained / "generator.pt"), "--out", str(tmp_path / "g.png")]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and re.search(match, err), err


def test_train_with_the_rest_as_unlabelled_pool(tmp_path, capsys):
    import torch

    from ganaug.gan.checkpoint import safe_load
    from ganaug.classify.semi import PSEUDO_LABELS_FORMAT

    out = tmp_path / "semi"
    assert run("train", "--dataset", "digits", "--n-per-class", 5, "--unlabelled", "rest", "--pseudo-rounds", 1,
               "--pseudo-steps", 200, "--pseudo-threshold", 0.5, "--steps", 3, "--arch", "mlp", "--width", 2,
               "--batch-size", 8, "--out", out, "--no-progress") == 0
    labels = safe_load(out / "pseudo_labels.pt", expected=(PSEUDO_LABELS_FORMAT,))
    assert labels["n_labelled"] == 50 and labels["n_pseudo"] > 0
    assert len(labels["pool_index"]) == labels["n_pseudo"] and bool((torch.as_tensor(labels["confidence"]) >= 0.5).all())
    assert run("train", "--dataset", "digits", "--unlabelled", "rest", "--steps", 3, "--out", tmp_path / "x") == 2
    assert "--unlabelled: expected --n-per-class with 'rest'" in capsys.readouterr().err
    assert run("train", "--dataset", "digits", "--n-per-class", 5, "--unlabelled", "rest",
               "--pseudo-threshold", 1.5, "--steps", 3, "--out", tmp_path / "y") == 2
    assert "--pseudo-threshold: expected a number in [0.0, 1.0]" in capsys.readouterr().err
