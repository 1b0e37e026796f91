import json
import re

import pytest
import torch

from ganaug.cli import main
from ganaug.metrics.evaluate import evaluate, format_report, proportional_labels
from ganaug.data.splits import load_split
from ganaug.metrics.feature_net import feature_extractor
from ganaug.gan.models import build_generator, default_spec

from replay_generator import ReplayGenerator

SMALL = dict(kid_subsets=5, cas_epochs=1, cas_width=8, cas_per_class=20, device="cpu", progress=False)


@pytest.fixture(scope="module")
def split(digits):
    return load_split("digits", seed=0)


@pytest.fixture(scope="module")
def extractor(split, tmp_path_factory):
    return feature_extractor(split[0], 0, tmp_path_factory.mktemp("cache"), epochs=2, width=8, device="cpu")


def test_proportional_labels():
    assert proportional_labels([3, 1], 8).tolist() == [0] * 6 + [1] * 2
    assert proportional_labels([1, 1, 1], 4).tolist() == [0, 0, 1, 2]


def test_fresh_real_images_score_the_floor(split, extractor):
    train, test = split
    report = evaluate(ReplayGenerator(test), train, test, extractor=extractor, cas=False, **SMALL)
    assert report["n_generated"] == len(test) == report["n_knn"] and report["cas"] is None
    for name, values in report["metrics"].items():  # the generated set is the test set, reordered
        tol = 0.01 if name in ("precision", "recall", "density", "coverage") else 1e-5  # float32 features
        assert values["generated"] == pytest.approx(values["floor"], rel=1e-5, abs=tol), name
    m = report["metrics"]
    assert m["fid"]["floor"] > 0 and m["precision"]["floor"] > 0.5 and m["coverage"]["floor"] > 0.5
    assert report["mode_collapse"]["collapsed_classes"] == [] and report["mode_collapse"]["copying_classes"] == []
    assert report["feature_extractor"]["feature_dim"] == 32 and report["feature_extractor"]["test_accuracy"] > 0.3
    json.dumps(report, allow_nan=False)


def test_replayed_training_set_is_flagged_as_copying(split, extractor):
    train, test = split
    report = evaluate(ReplayGenerator(train), train, test, extractor=extractor, n=200, **SMALL)
    assert report["n_knn"] == 200 and len(report["mode_collapse"]["copying_classes"]) == 10
    assert report["metrics"]["precision"]["generated"] > report["metrics"]["precision"]["floor"] - 0.2
    cas = report["cas"]
    assert set(cas) >= {"accuracy", "per_class_accuracy", "real_accuracy", "real_per_class_accuracy"}
    assert cas["real_n_train"] == 20 * 10  # the ceiling sees as many real images as CAS generated ones
    table = format_report(report)
    assert re.search(r"^FID\s+\d+\.\d{3}\s+\d+\.\d{3}\s+lower$", table, re.M) and "copying" in table
    json.dumps(report, allow_nan=False)


def test_evaluate_errors(split, extractor):
    train, test = split
    gen = ReplayGenerator(train)
    with pytest.raises(ValueError, match=r"n: expected an integer >= 20"):
        evaluate(gen, train, test, n=5, extractor=extractor, **SMALL)
    with pytest.raises(ValueError, match=r"n: expected more than 5 images in each of"):
        evaluate(gen, train, test.subset(range(5)), n=20, extractor=extractor, **SMALL)
    with pytest.raises(TypeError, match=r"train_data: expected a LabelledImages"):
        evaluate(gen, train.images, test, extractor=extractor, **SMALL)
    with pytest.raises(ValueError, match=r"cas_epochs: expected an integer >= 1"):
        evaluate(gen, train, test, extractor=extractor, **{**SMALL, "cas_epochs": 0})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, digits):
    torch.manual_seed(0)
    gen = build_generator(default_spec("mlp", (1, 8, 8), digits.classes, z_dim=8, width=2))
    path = tmp_path_factory.mktemp("gen") / "generator.pt"
    gen.save(path)
    return path


def test_cli_prints_table_and_writes_json(checkpoint, tmp_path, capsys):
    args = ["evaluate", "--checkpoint", str(checkpoint), "--dataset", "digits", "--n", "100", "--feature-epochs", "1",
            "--cas-epochs", "1", "--cas-per-class", "10", "--cache-dir", str(tmp_path), "--no-progress",
            "--device", "cpu"]
    assert main(args + ["--out", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "FID" in out and "CAS" in out and "report:" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["checkpoint"] == str(checkpoint) and report["dataset"] == "digits"
    assert report["n_generated"] == 100 and len(report["cas"]["per_class_accuracy"]) == 10
    assert main(args + ["--no-cas"]) == 0  # default --out: next to the checkpoint; extractor from the cache
    assert json.loads((checkpoint.parent / "generator.pt.eval.json").read_text())["cas"] is None


@pytest.mark.parametrize("extra, match", [
    (["--checkpoint", "/no/such.pt"], r"ganaug evaluate: error: --checkpoint: no file at"),
    (["--n", "5"], r"ganaug evaluate: error: --n: expected an integer >= 20"),
    (["--dataset", "/no/such/folder"], r"neither a known dataset name"),
])
def test_cli_errors_are_one_line_exit_2(checkpoint, tmp_path, extra, match, capsys):
    args = ["evaluate", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "r.json"), "--no-progress"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(match, err), err


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--help"])
    assert exit_info.value.code == 0 and "usage: ganaug evaluate" in capsys.readouterr().out
