import json

import pytest
import torch

import ganaug.benchmark as bm
from ganaug.benchmark import METHODS, BenchmarkConfig, ResultStore, quick_config, run_benchmark
from ganaug.checkpoint import safe_load
from ganaug.datasets import fingerprint, stratified_subset


def tiny(**kw):
    base = dict(dataset="digits", sizes=(5,), seeds=(0,), gan_steps=6, gan_width=2, clf_steps=4, clf_width=2,
                clf_batch=16, device="cpu")
    return BenchmarkConfig(**{**base, **kw})


def test_every_method_runs_and_is_recorded(tmp_path):
    rows = run_benchmark(tiny(), tmp_path, progress=False, log=None)
    assert [r["method"] for r in rows] == list(METHODS)
    assert all(r["status"] == "ok" and 0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert all(r["n_real"] == 50 and r["n_classes"] == 10 and r["size"] == 5 for r in rows)
    assert {r["gan_steps"] for r in rows if r["method"] in bm.GAN_METHODS} == {6}
    assert json.loads((tmp_path / "config.json").read_text())["setting"] == tiny().setting()


def test_gan_sees_only_the_labelled_subset(tmp_path):
    cfg = tiny(methods=("real+gan",), seeds=(3,))
    run_benchmark(cfg, tmp_path, progress=False, log=None)
    ckpt = safe_load(next((tmp_path / "gans").glob("*-n5-seed3")) / "checkpoint.pt")
    pool, _ = bm.load_benchmark_data(cfg)
    assert ckpt["data"] == fingerprint(stratified_subset(pool, 5, seed=3))


def test_rerun_skips_finished_runs_and_extends_the_grid(tmp_path, monkeypatch):
    run_benchmark(tiny(methods=("real", "real+gan")), tmp_path, progress=False, log=None)
    calls = []
    real_train = bm.train_classifier
    monkeypatch.setattr(bm, "train_classifier", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    rows = run_benchmark(tiny(methods=("real", "real+gan")), tmp_path, progress=False, log=None)
    assert calls == [] and len(rows) == 2  # nothing re-run
    rows = run_benchmark(tiny(methods=("real", "real+gan", "cas"), seeds=(0, 1)), tmp_path, progress=False, log=None)
    assert sorted((r["seed"], r["method"]) for r in rows) == sorted(
        (s, m) for s in (0, 1) for m in ("real", "real+gan", "cas"))
    assert len(calls) == 4  # seed 0: cas; seed 1: real, real+gan, cas (the GAN of seed 0 is reused from disk)


def test_same_seed_same_numbers_and_new_setting_new_rows(tmp_path):
    a = run_benchmark(tiny(methods=("real", "real+gan")), tmp_path / "a", progress=False, log=None)
    b = run_benchmark(tiny(methods=("real", "real+gan")), tmp_path / "b", progress=False, log=None)
    assert [r["accuracy"] for r in a] == [r["accuracy"] for r in b]
    c = run_benchmark(tiny(methods=("real",), clf_steps=5), tmp_path / "a", progress=False, log=None)
    assert len(c) == 1 and c[0]["setting"] != a[0]["setting"]
    assert len(ResultStore(tmp_path / "a" / "results.csv").rows()) == 3


def test_filtered_method_keeps_a_share_per_class(tmp_path):
    rows = run_benchmark(tiny(methods=("real+gan-filtered",), filter_keep=0.25), tmp_path, progress=False, log=None)
    assert rows[0]["status"] == "ok"


def test_val_split_is_carved_from_the_training_split():
    train, test = bm.load_benchmark_data(tiny())
    pool, val = bm.load_benchmark_data(tiny(eval_split="val"))
    rows = lambda d: {tuple(x.flatten().tolist()) for x in d.images}  # noqa: E731
    assert len(pool) + len(val) == len(train) and round(len(train) / 6) == len(val)
    assert rows(val) <= rows(train)
    assert rows(pool) | rows(val) == rows(train)


def test_quick_config_is_digits():
    q = quick_config()
    assert q.dataset == "digits" and q.validate() is q
    assert quick_config(seeds=(7,)).seeds == (7,)


def test_augmentation_keeps_shape_and_range():
    aug = bm.digit_augmentation(28, seed=0)
    img = (torch.rand(28, 28, 1) * 255).to(torch.uint8).numpy()
    out = aug(image=img)["image"]
    assert out.shape == img.shape and out.dtype == img.dtype


@pytest.mark.parametrize("kw,match", [
    (dict(sizes=()), "sizes: expected at least one size"),
    (dict(sizes=(-1,)), "sizes: expected an integer >= 0"),
    (dict(seeds=()), "seeds: expected at least one seed"),
    (dict(methods=("real", "gan")), "methods: expected one of 'real'"),
    (dict(eval_split="train"), "eval_split: expected one of 'test', 'val'"),
    (dict(synthetic_share=1.0), "synthetic_share: expected a fraction in \\(0, 1\\)"),
    (dict(filter_keep=0.0), "filter_keep"),
    (dict(clf_steps=0), "clf_steps"),
])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kw).validate()


def test_size_larger_than_smallest_class(tmp_path):
    with pytest.raises(ValueError, match="sizes: expected at most .* images per class"):
        run_benchmark(tiny(sizes=(500,)), tmp_path, progress=False, log=None)


def test_foreign_csv_is_refused(tmp_path):
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="out: expected a results CSV with columns"):
        run_benchmark(tiny(), tmp_path, progress=False, log=None)


def test_compare_methods_with_a_given_generator(digits):
    from ganaug.models import build_generator, default_spec

    gen = build_generator(default_spec("mlp", digits.image_shape, digits.classes, z_dim=8, width=2)).eval()
    real, test = digits.subset(range(200)), digits.subset(range(200, 400))
    cfg = tiny(clf_steps=3)
    scores = bm.compare_methods(real, test, gen, ("real", "real+gan", "cas"), cfg, seed=1)
    assert list(scores) == ["real", "real+gan", "cas"]
    assert all(0.0 <= v["accuracy"] <= 1.0 and 0.0 <= v["balanced_accuracy"] <= 1.0 for v in scores.values())
    assert bm.compare_methods(real, test, gen, ("real",), cfg, seed=1)["real"] == scores["real"]
    with pytest.raises(ValueError, match="generator: expected a trained generator for the methods"):
        bm.compare_methods(real, test, None, ("real", "cas"), cfg)
    with pytest.raises(ValueError, match="methods: expected one of"):
        bm.compare_methods(real, test, gen, ("nope",), cfg)
    with pytest.raises(TypeError, match="evaluation: expected a LabelledImages"):
        bm.compare_methods(real, [1, 2], gen, ("real",), cfg)


def test_cli_quick_at_tiny_size_and_report_only(tmp_path, capsys):
    from ganaug.cli import main

    args = ["benchmark", "--quick", "--sizes", "5", "--seeds", "0", "--methods", "real", "real+gan", "cas",
            "--gan-steps", "4", "--gan-width", "2", "--clf-steps", "3", "--clf-width", "2", "--out", str(tmp_path),
            "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| real |" in out and "real+gan vs real" in out
    assert len(ResultStore(tmp_path / "results.csv").rows()) == 3
    (tmp_path / "results.md").unlink()
    assert main(["benchmark", "--report-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.md").exists() and (tmp_path / "results.png").exists()
    assert main(["benchmark", "--out", str(tmp_path / "x"), "--quick", "--synthetic-share", "1.5"]) == 2
    assert "--synthetic-share: expected a number in (0.0, 1.0], got 1.5. Pass a fraction in (0, 1)" in capsys.readouterr().err
