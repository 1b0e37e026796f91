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

    from ganaug.checkpoint import safe_load

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
    (["train", "--out", "x", "--d-steps", "0"], r"ganaug train: error: d_steps: expected an integer >= 1"),
    (["train", "--out", "x", "--loss", "lsgan"], r"loss: expected one of"),
    (["train", "--out", "x", "--aux-weight", "-1"], r"aux_weight: expected a number in \[0.0"),
    (["train", "--out", "x", "--aux-twin"], r"aux_twin: expected aux_weight > 0"),
    (["train", "--out", "x", "--max-minutes", "1", "--lr-decay", "0.5"], r"lr_decay: expected a schedule over a known"),
    (["train", "--out", "x", "--dataset", "/no/such/folder"], r"neither a known dataset name"),
    (["train", "--out", "x", "--dataset", "mnist", "--root", "/no/such"], r"mnist not found: looked in"),
    (["train", "--out", "x", "--n-per-class", "999"], r"n_per_class: expected at most 174"),
    (["sample", "--checkpoint", "/no/such.pt", "--out", "g.png"], r"checkpoint: no file at"),
])
def test_errors_are_one_line_exit_2(args, match, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    import re
    assert re.search(match, err), err


def test_sample_bad_labels_and_suffix(trained, tmp_path, capsys):
    assert run("sample", "--checkpoint", trained / "generator.pt", "--labels", 12, "--out", tmp_path / "g.png") == 2
    assert "labels: expected class indices in [0, 9]" in capsys.readouterr().err
    assert run("sample", "--checkpoint", trained / "generator.pt", "--out", tmp_path / "g.jpg") == 2
    assert "expected a file name ending in .png or .npz" in capsys.readouterr().err


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
