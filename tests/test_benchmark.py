import json

import pytest
import torch

import ganaug.bench.benchmark as bm
from ganaug.bench.benchmark import METHODS, BenchmarkConfig, quick_config, run_benchmark
from ganaug.bench.store import ResultStore
from ganaug.gan.checkpoint import safe_load
from ganaug.data.datasets import fingerprint, stratified_subset
from ganaug.data.transforms import digit_augmentation


def tiny(**kw):
    base = dict(dataset="digits", sizes=(5,), seeds=(0,), val_per_class=20, gan_steps=6, gan_width=2, gan_z_dim=8,
                gan_aug_copies=2, clf_steps=4, clf_width=2, clf_batch=16, device="cpu")
    return BenchmarkConfig(**{**base, **kw})


def test_every_method_runs_and_is_recorded(tmp_path):
    cfg = tiny(methods=METHODS)
    rows = run_benchmark(cfg, tmp_path, progress=False, log=None)
    expected = [lab for m in METHODS for lab in (
        [f"{m}@0.25", f"{m}@0.5", f"{m}@auto"] if m in bm.SHARE_BASELINE else [m])]
    assert [r["method"] for r in rows] == expected
    assert all(r["status"] == "ok" and 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["val_accuracy"] <= 1.0 for r in rows)
    assert all(r["n_real"] == 50 and r["n_classes"] == 10 and r["size"] == 5 and r["clf_steps"] == 4 for r in rows)
    gan_rows = [r for r in rows if bm.base_method(r["method"]) in bm.GAN_METHODS]
    assert {r["gan_steps"] for r in gan_rows} == {6}
    assert all(0.0 <= r["gan_cas"] <= 1.0 and r["gan_wall_s"] >= 0.0 for r in gan_rows)
    by = {r["method"]: r for r in rows}
    assert by["cas"]["gan_cas"] == by["cas"]["accuracy"] == by["real+gan@0.5"]["gan_cas"]
    for kind, label in (("gan", "real+gan@0.5"), ("augan", "real+augan+aug@0.5")):  # each GAN, its own CAS
        info = json.loads((tmp_path / "gans" / "n5-seed0" / kind / "info.json").read_text())
        assert info["steps"] == 6 and list(info["cas"].values()) == [by[label]["gan_cas"]]
    assert by["real"]["share"] == "0.0" and by["real+gan@0.25"]["share"] == "0.25"
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["setting"] == cfg.setting() and "root" not in config and "seeds" not in config


def test_auto_row_takes_the_best_selection_accuracy_and_prefers_the_baseline_on_ties(tmp_path):
    rows = {r["method"]: r for r in run_benchmark(tiny(methods=("real", "real+gan")), tmp_path, progress=False,
                                                  log=None)}
    cands = ["real", "real+gan@0.25", "real+gan@0.5"]
    best = max(cands, key=lambda k: (rows[k]["val_accuracy"], -cands.index(k)))
    auto = rows["real+gan@auto"]
    assert auto["accuracy"] == rows[best]["accuracy"] and auto["val_accuracy"] == rows[best]["val_accuracy"]
    assert float(auto["share"]) == (0.0 if best == "real" else float(best.split("@")[1]))
    assert auto["gan_cas"] == rows["real+gan@0.5"]["gan_cas"]  # the GAN's quality is shown even when share 0 wins
    tie = {"real": {"val_accuracy": 0.5, "accuracy": 0.6, "share": 0.0},
           "real+gan@0.5": {"val_accuracy": 0.5, "accuracy": 0.9, "share": 0.5}}
    assert bm._auto("real+gan@auto", tie)["accuracy"] == 0.6
    assert bm._auto("real+gan@auto", {"real+gan@0.5": tie["real+gan@0.5"]})["status"].startswith("failed")


def test_gan_sees_only_the_labelled_subset(tmp_path):
    cfg = tiny(methods=("real+gan",), seeds=(3,))
    run_benchmark(cfg, tmp_path, progress=False, log=None)
    ckpt = safe_load(tmp_path / "gans" / "n5-seed3" / "gan" / "checkpoint.pt")
    pool, _, _ = bm.load_benchmark_data(cfg)
    assert ckpt["data"] == fingerprint(stratified_subset(pool, 5, seed=3))


def test_augmented_gan_trains_on_augmented_copies_of_the_subset(tmp_path, monkeypatch):
    from ganaug.data.transforms import AlbumentationsAdapter, augmented_copies

    sized_for = []
    real_config = BenchmarkConfig.train_config
    monkeypatch.setattr(BenchmarkConfig, "train_config",
                        lambda self, n, *a, **k: sized_for.append(n) or real_config(self, n, *a, **k))
    cfg = tiny(methods=("real+augan+aug",), shares=(0.5,), seeds=(2,))
    run_benchmark(cfg, tmp_path, progress=False, log=None)
    ckpt = safe_load(tmp_path / "gans" / "n5-seed2" / "augan" / "checkpoint.pt")
    pool, _, _ = bm.load_benchmark_data(cfg)
    subset = stratified_subset(pool, 5, seed=2)
    copies = augmented_copies(subset, AlbumentationsAdapter(digit_augmentation(8, seed=2)), 2)
    assert len(copies) == 150 and ckpt["data"] == fingerprint(copies)
    assert sized_for == [50]  # the GAN's budget is sized by the real subset, not by its copies


def test_rerun_skips_finished_runs_and_extends_the_grid(tmp_path, monkeypatch):
    run_benchmark(tiny(methods=("real", "real+gan"), shares=(0.5,)), tmp_path, progress=False, log=None)
    calls = []
    real_train = bm.train_classifier
    monkeypatch.setattr(bm, "train_classifier", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    rows = run_benchmark(tiny(methods=("real", "real+gan"), shares=(0.5,)), tmp_path, progress=False, log=None)
    assert calls == [] and len(rows) == 3  # nothing re-run
    rows = run_benchmark(tiny(methods=("real", "real+gan", "cas"), shares=(0.5,), seeds=(0, 1)), tmp_path,
                         progress=False, log=None)
    assert sorted((r["seed"], r["method"]) for r in rows) == sorted(
        (s, m) for s in (0, 1) for m in ("real", "real+gan@0.5", "real+gan@auto", "cas"))
    # seed 0: cas (the GAN is reused from disk); seed 1: real, real+gan@0.5, the GAN's CAS (reused by cas)
    assert len(calls) == 4


def test_schedules_are_sized_by_the_subset():
    # the schedule rule is part of the setting: rows of another rule are never reused
    assert BenchmarkConfig(clf_epochs=20).setting() != BenchmarkConfig().setting()
    assert BenchmarkConfig(clf_min_steps=1500).clf_setting() != BenchmarkConfig().clf_setting()
    assert bm.gan_steps_for(100) == 4000 and bm.gan_steps_for(500) == 10_000 and bm.gan_steps_for(59_000) == 20_000
    cfg = BenchmarkConfig()
    assert cfg.train_config(100, seed=1, device="cpu").steps == 4000
    assert cfg.train_config(100, seed=1, device="cpu").aux_twin is True


def test_device_name_on_cuda_uses_the_device_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "NVIDIA H200")
    assert bm.device_name(torch.device("cuda", 0)) == "cuda (NVIDIA H200)"
    assert bm.device_name(torch.device("cpu")).startswith("cpu (")


def test_same_seed_same_numbers_and_new_setting_new_rows(tmp_path):
    kw = dict(methods=("real", "real+gan"), shares=(0.5,), clf_steps=30, clf_width=4)
    a = run_benchmark(tiny(**kw), tmp_path / "a", progress=False, log=None)
    b = run_benchmark(tiny(**kw), tmp_path / "b", progress=False, log=None)
    assert [r["accuracy"] for r in a] == [r["accuracy"] for r in b]
    assert [r["val_accuracy"] for r in a] == [r["val_accuracy"] for r in b]
    assert a[0]["accuracy"] > 0.15  # above chance (0.1): a classifier that learned something, so equality means something
    c = run_benchmark(tiny(**{**kw, "methods": ("real",), "clf_steps": 31}), tmp_path / "a", progress=False, log=None)
    assert len(c) == 1 and c[0]["setting"] != a[0]["setting"]
    assert len(ResultStore(tmp_path / "a" / "results.csv").rows()) == 4


def test_filtered_method_keeps_a_share_per_class(tmp_path):
    rows = run_benchmark(tiny(methods=("real+gan-filtered",), filter_keep=0.25), tmp_path, progress=False, log=None)
    assert rows[0]["status"] == "ok"


def test_selection_and_val_splits_are_carved_from_the_training_split():
    from ganaug.data.splits import load_split

    train, test = load_split("digits", seed=0)
    rows = lambda d: {tuple(x.flatten().tolist()) for x in d.images}  # noqa: E731
    pool, selection, evaluation = bm.load_benchmark_data(tiny())
    assert rows(evaluation) == rows(test) and selection.class_counts() == [20] * 10
    assert len(pool) + len(selection) == len(train) and not rows(pool) & rows(selection)
    assert rows(pool) | rows(selection) == rows(train)
    pool_v, selection_v, val = bm.load_benchmark_data(tiny(eval_split="val"))
    assert round(len(train) / 6) == len(val) and not rows(val) & (rows(pool_v) | rows(selection_v))
    assert rows(pool_v) | rows(selection_v) | rows(val) == rows(train) and not rows(val) & rows(test)


def test_quick_config_is_digits():
    q = quick_config()
    assert q.dataset == "digits" and q.validate() is q
    assert quick_config(seeds=(7,)).seeds == (7,)


@pytest.mark.parametrize("kw,match", [
    (dict(sizes=()), "sizes: expected at least one size"),
    (dict(sizes=(-1,)), "sizes: expected an integer >= 0"),
    (dict(seeds=()), "seeds: expected at least one seed"),
    (dict(methods=("real", "gan")), "methods: expected one of 'real'"),
    (dict(eval_split="train"), "eval_split: expected one of 'test', 'val'"),
    (dict(shares=(1.0,)), "shares: expected fractions in \\(0, 1\\)"),
    (dict(shares=()), "shares: expected at least one synthetic share"),
    (dict(shares=(0.0,)), "shares: expected a number in \\(0.0, 1.0\\]"),
    (dict(methods=()), "methods: expected at least one method"),
    (dict(val_per_class=0), "val_per_class: expected an integer >= 1"),
    (dict(clf_schedule="step"), "clf_schedule: expected one of 'constant', 'cosine'"),
    (dict(gan_arch="resnet"), "gan_arch: expected one of 'mlp', 'dcgan'"),
    (dict(teacher_weight=2.0), "teacher_weight"),
    (dict(filter_keep=0.0), "filter_keep"),
    (dict(clf_steps=0), "clf_steps"),
    (dict(clf_epochs=0), "clf_epochs: expected an integer >= 1"),
    (dict(clf_min_steps=500, clf_max_steps=400), "clf_max_steps: expected at least clf_min_steps \\(500\\)"),
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
    from ganaug.gan.models import build_generator, default_spec

    gen = build_generator(default_spec("mlp", digits.image_shape, digits.classes, z_dim=8, width=2)).eval()
    real, test = digits.subset(range(200)), digits.subset(range(200, 400))
    cfg = tiny(clf_steps=3, shares=(0.5,))
    scores = bm.compare_methods(real, test, gen, ("real", "real+gan", "cas"), cfg, seed=1)
    assert list(scores) == ["real", "real+gan@0.5", "cas"]
    assert all(0.0 <= v["accuracy"] <= 1.0 and 0.0 <= v["balanced_accuracy"] <= 1.0 for v in scores.values())
    assert bm.compare_methods(real, test, gen, ("real",), cfg, seed=1)["real"] == scores["real"]
    val = digits.subset(range(400, 500))
    chosen = bm.compare_methods(real, test, gen, ("real", "real+gan"), cfg, seed=1, validation=val)
    assert list(chosen) == ["real", "real+gan@0.5", "real+gan@auto"]
    best = max(("real", "real+gan@0.5"), key=lambda k: chosen[k]["val_accuracy"])
    assert chosen["real+gan@auto"]["accuracy"] == chosen[best]["accuracy"]
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
    assert "| real |" in out and "real+gan@0.5 vs real" in out
    assert len(ResultStore(tmp_path / "results.csv").rows()) == 4
    (tmp_path / "results.md").unlink()
    assert main(["benchmark", "--report-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.md").exists() and (tmp_path / "results.png").exists()
    assert main(["benchmark", "--out", str(tmp_path / "x"), "--quick", "--shares", "1.5"]) == 2
    assert "shares: expected a number in (0.0, 1.0], got 1.5. Pass fractions in (0, 1)" in capsys.readouterr().err
