import dataclasses
import json

import pytest
import torch

import ganaug.bench.benchmark as bm
import ganaug.bench.cell as cellmod
import ganaug.bench.config as cf
from ganaug.bench.benchmark import run_benchmark
from ganaug.bench.config import METHODS, BenchmarkConfig, quick_config
from ganaug.classify.classifier import clf_steps_for
from ganaug.bench.store import CSV_FIELDS, ResultStore
from ganaug.gan.checkpoint import safe_load
from ganaug.data.datasets import fingerprint, stratified_subset
from ganaug.data.batch_augment import DigitAugment as ganaug_DigitAugment
from ganaug.data.transforms import digit_augmentation


def tiny(**kw):
    base = dict(dataset="digits", sizes=(5,), seeds=(0,), val_per_class=20, gan_steps=6, gan_width=2, gan_z_dim=8,
                gan_aug_copies=2, clf_steps=4, clf_width=2, clf_batch=16, device="cpu")
    return BenchmarkConfig(**{**base, **kw})


SUPERVISED = tuple(m for m in METHODS if m not in cf.SEMI_METHODS)


def test_every_method_runs_and_is_recorded(tmp_path):
    cfg = tiny(methods=SUPERVISED)
    rows = run_benchmark(cfg, tmp_path, progress=False, log=None)
    expected = [lab for m in SUPERVISED for lab in (
        [f"{m}@0.25", f"{m}@0.5", f"{m}@auto"] if m in cf.SHARE_BASELINE else [m])]
    assert [r["method"] for r in rows] == expected
    assert all(r["status"] == "ok" and 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["val_accuracy"] <= 1.0 for r in rows)
    assert all(r["n_real"] == 50 and r["n_classes"] == 10 and r["size"] == 5 and r["clf_steps"] == 4 for r in rows)
    gan_rows = [r for r in rows if cf.base_method(r["method"]) in cf.GAN_METHODS]
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
    real_train = cellmod.train_classifier
    monkeypatch.setattr(cellmod, "train_classifier", lambda *a, **k: calls.append(1) or real_train(*a, **k))
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
    assert cf.gan_steps_for(100) == 4000 and cf.gan_steps_for(500) == 10_000 and cf.gan_steps_for(59_000) == 20_000
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
    (dict(augmentation="kornia"), "augmentation: expected one of 'albumentations', 'torch'"),
])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kw).validate()


def test_bad_bool_config():
    with pytest.raises(TypeError, match="gan_aux_twin: expected True or False, got 'yes'"):
        tiny(gan_aux_twin="yes").validate()


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


# --- semi-supervised mode: k labelled images per class, the rest of the training split as an unlabelled pool


def semi(**kw):
    # threshold 0.05: the tiny classifiers are unsure, yet pseudo-labels are kept, so the union is not empty
    base = dict(unlabelled="rest", methods=cf.SEMI_DEFAULT_METHODS, shares=(0.5,), semi_threshold=0.05,
                semi_rounds=1, clf_steps=40, clf_width=4)
    return tiny(**{**base, **kw})


def as_rows(x: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in x.reshape(len(x), -1)}


def test_semi_mode_runs_every_method_on_a_pool_disjoint_from_labels_and_selection(tmp_path, monkeypatch):
    from ganaug.data.datasets import LabelledImages, load_dataset
    from ganaug.classify.semi import PSEUDO_LABELS_FORMAT

    sized_for = []
    real_config = BenchmarkConfig.train_config
    monkeypatch.setattr(BenchmarkConfig, "train_config",
                        lambda self, n, *a, **k: sized_for.append(n) or real_config(self, n, *a, **k))
    monkeypatch.setattr(cf, "gan_steps_for", lambda n: 6)  # tiny GAN, still sized by the union (recorded above)
    cfg = semi(gan_steps=None)
    rows = run_benchmark(cfg, tmp_path, progress=False, log=None)
    assert cfg.methods == cf.SEMI_DEFAULT_METHODS  # the mode's default
    assert [r["method"] for r in rows] == [
        "real", "real+aug", "self-train", "real+sgan@0.5", "real+sgan@auto", "real+sgan+aug@0.5", "real+sgan+aug@auto",
        "self-train+sgan+aug@0.5", "self-train+sgan+aug@auto", "cas-sgan"]
    assert all(r["status"] == "ok" and 0.0 <= r["accuracy"] <= 1.0 and r["n_real"] == 50 for r in rows)
    assert {r["clf_steps"] for r in rows} == {40}  # one schedule for every method of the cell
    by = {r["method"]: r for r in rows}
    sgan = [r for r in rows if "sgan" in r["method"]]
    assert {r["gan_cas"] for r in sgan} == {by["cas-sgan"]["accuracy"]} and {r["gan_steps"] for r in sgan} == {6}
    assert all(0.0 <= r["gan_recall"] <= 1.0 and 0.0 <= r["gan_coverage"] <= 1.0 for r in sgan)
    assert all(r["gan_cas"] != r["gan_cas"] and r["gan_recall"] != r["gan_recall"]  # nan: no GAN
               for r in (by["real"], by["real+aug"], by["self-train"]))
    auto = by["self-train+sgan+aug@auto"]  # picks between self-train (share 0) and the shares
    best = max(("self-train", "self-train+sgan+aug@0.5"), key=lambda k: by[k]["val_accuracy"])
    assert auto["accuracy"] == by[best]["accuracy"] and float(auto["share"]) == (0.0 if best == "self-train" else 0.5)

    # The pool: the rest of the training split less the selection split; the labelled subset is the
    # supervised mode's subset.
    pool, selection, _ = bm.load_benchmark_data(cfg)
    labelled, unlabelled = load_dataset(pool, n_per_class=5, seed=0, unlabelled="rest")
    assert fingerprint(labelled) == fingerprint(stratified_subset(pool, 5, seed=0))
    assert len(labelled) + len(unlabelled) == len(pool)
    assert not as_rows(unlabelled) & (as_rows(labelled.images) | as_rows(selection.images))
    saved = safe_load(tmp_path / "gans" / "n5-seed0" / "pseudo" / "pseudo_labels.pt", expected=(PSEUDO_LABELS_FORMAT,))
    union = LabelledImages(torch.cat([labelled.images, unlabelled[saved["pool_index"]]]),
                           torch.cat([labelled.targets, saved["targets"]]), labelled.classes)
    assert saved["n_pseudo"] > 0 and len(union) > len(labelled)
    ckpt = safe_load(tmp_path / "gans" / "n5-seed0" / "sgan" / "checkpoint.pt")
    assert ckpt["data"] == fingerprint(union)  # the semi GAN trained on labelled + pseudo-labelled images
    assert sized_for == [len(union)]  # and its steps are sized by them
    info = json.loads((tmp_path / "gans" / "n5-seed0" / "pseudo" / "info.json").read_text())
    assert info["n_pool"] == len(unlabelled) and info["n_pseudo"] == saved["n_pseudo"]
    right = saved["targets"] == unlabelled_targets(pool, 5, 0)[saved["pool_index"]]
    assert info["pseudo_label_accuracy"] == float(right.double().mean())


def test_semi_cell_reuses_pseudo_labels_and_gan_from_disk_and_refuses_other_settings(tmp_path, monkeypatch):
    import ganaug.classify.semi as semi_mod
    import ganaug.gan.training as training

    run_benchmark(semi(methods=("real", "self-train", "real+sgan")), tmp_path, progress=False, log=None)

    def no_retraining(*a, **k):
        raise AssertionError("the cell's pseudo-labels and semi GAN are read from disk")

    monkeypatch.setattr(semi_mod, "pseudo_label", no_retraining)
    monkeypatch.setattr(training, "fit", no_retraining)
    rows = run_benchmark(semi(methods=("real", "self-train", "real+sgan", "self-train+sgan+aug", "cas-sgan")), tmp_path,
                         progress=False, log=None)
    assert {r["status"] for r in rows} == {"ok"} and len(rows) == 7
    with pytest.raises(ValueError, match="unlabelled: expected the labelled images, pool and benchmark settings"):
        run_benchmark(semi(methods=("self-train",), semi_threshold=0.5), tmp_path, progress=False, log=None)


def test_semi_schedule_is_sized_by_labelled_plus_pool():
    cfg = semi(clf_steps=None).validate()
    pool, selection, evaluation = bm.load_benchmark_data(cfg)
    cell = cellmod.Cell(cfg, pool.subset(range(50)), evaluation, selection, 0, torch.device("cpu"), None,
                    unlabelled=pool.images[50:])
    assert cell.clf_steps == clf_steps_for(len(pool))
    assert cellmod.Cell(cfg, pool.subset(range(50)), evaluation, selection, 0, "cpu", None).clf_steps == clf_steps_for(50)


def test_semi_steps_sizes_the_pseudo_labellers_only(tmp_path, monkeypatch):
    import ganaug.classify.semi as semi_mod

    calls = []
    real_pseudo_label = semi_mod.pseudo_label
    monkeypatch.setattr(semi_mod, "pseudo_label", lambda *a, **k: calls.append(k["steps"]) or real_pseudo_label(*a, **k))
    monkeypatch.setattr(cf, "gan_steps_for", lambda n: 6)
    assert semi().pseudo_label_kwargs(0, "cpu")["steps"] == 40  # default: the cell's classifier schedule
    rows = run_benchmark(semi(semi_steps=12, methods=("real", "self-train")), tmp_path, progress=False, log=None)
    assert calls == [12]
    # self-train is not the (shorter-trained) last labeller: it gets the cell's schedule like every method
    assert [(r["method"], r["clf_steps"], r["status"]) for r in rows] == [("real", 40, "ok"), ("self-train", 40, "ok")]


def test_semi_setting_hash():
    assert tiny().setting() != semi().setting()
    assert semi().setting() != semi(semi_threshold=0.9).setting() != semi(semi_rounds=3).setting()
    assert tiny(semi_threshold=0.9).setting() == tiny().setting()  # semi fields count only in the semi mode
    assert semi(semi_steps=20).setting() != semi().setting() == semi(semi_steps=None).setting()
    assert "semi_steps" not in semi().fields()  # added later: settings from before it keep their hash
    # The modes size the schedule differently, so a GAN's CAS is not shared between them.
    assert tiny(unlabelled="rest").clf_setting() != tiny().clf_setting()
    assert BenchmarkConfig(unlabelled="rest").validate().methods == cf.SEMI_DEFAULT_METHODS
    assert BenchmarkConfig().validate().methods == cf.DEFAULT_METHODS


@pytest.mark.parametrize("kw,match", [
    (dict(methods=("real", "self-train")), "methods: expected methods that need no unlabelled pool .* got "
     "'self-train'. Pass unlabelled='rest'"),
    (dict(methods=("real+sgan",)), "methods: expected methods that need no unlabelled pool"),
    (dict(unlabelled="all"), "unlabelled: expected 'rest'"),
    (dict(unlabelled="rest", sizes=(5, 0)), "sizes: expected labelled images per class >= 1 with unlabelled='rest'"),
    (dict(unlabelled="rest", semi_threshold=0.0), "semi_threshold: expected a number in"),
    (dict(unlabelled="rest", semi_rounds=0), "semi_rounds: expected an integer >= 1"),
    (dict(unlabelled="rest", semi_steps=1), "semi_steps: expected an integer >= 2"),
])
def test_bad_semi_config(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kw).validate()


def test_compare_methods_refuses_semi_methods(digits):
    with pytest.raises(ValueError, match="methods: expected methods of labelled images \\(compare_methods has no "
                       "unlabelled pool\\)"):
        bm.compare_methods(digits, digits, None, ("real", "self-train"), tiny())


def test_results_csv_of_an_older_version_is_read_and_extended(tmp_path):
    old = CSV_FIELDS[:-2]  # before gan_recall / gan_coverage
    path = tmp_path / "results.csv"
    values = {"accuracy": "0.5", "status": "ok", "size": "1", "seed": "0", "setting": "s"}
    path.write_text(",".join(old) + "\n" + ",".join(values.get(f, "") for f in old) + "\n")
    store = ResultStore(path)
    assert store.rows()[0]["accuracy"] == 0.5 and store.rows()[0]["gan_recall"] != store.rows()[0]["gan_recall"]
    store.append({"setting": "s", "size": 2, "seed": 0, "accuracy": 0.7, "gan_recall": 0.3, "status": "ok"})
    assert path.read_text().splitlines()[0] == ",".join(old)  # its header is kept
    assert [r["accuracy"] for r in store.rows()] == [0.5, 0.7]


def unlabelled_targets(pool, size, seed):
    """The true labels (M,) of the pool rows that load_dataset(..., unlabelled='rest') hands back."""
    from ganaug.data.datasets import LabelledImages, load_dataset

    rows = stratified_subset(LabelledImages(torch.arange(len(pool)), pool.targets, pool.classes), size, seed).images
    rest = torch.ones(len(pool), dtype=torch.bool)
    rest[rows] = False
    assert torch.equal(pool.images[rest], load_dataset(pool, n_per_class=size, seed=seed, unlabelled="rest")[1])
    return pool.targets[rest]


def test_cli_semi_mode(tmp_path, capsys):
    from ganaug.cli import main

    args = ["benchmark", "--dataset", "digits", "--unlabelled", "rest", "--sizes", "5", "--seeds", "0",
            "--val-per-class", "20", "--semi-threshold", "0.05", "--semi-rounds", "1", "--shares", "0.5",
            "--gan-steps", "4", "--gan-width", "2", "--clf-steps", "40", "--clf-width", "4", "--out", str(tmp_path),
            "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "self-train+sgan+aug@auto vs self-train" in out and "| semi GAN (labelled + pseudo-labelled) | 5 |" in out
    assert {cf.base_method(r["method"]) for r in ResultStore(tmp_path / "results.csv").rows()} == set(
        cf.SEMI_DEFAULT_METHODS)  # the mode's default methods
    assert json.loads((tmp_path / "config.json").read_text())["semi_threshold"] == 0.05
    assert main(["benchmark", "--dataset", "digits", "--methods", "real", "self-train", "--out", str(tmp_path / "x")]) == 2
    assert "--methods: expected methods that need no unlabelled pool" in capsys.readouterr().err


def test_missing_albumentations_fails_before_any_training(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "albumentations", None)  # `import albumentations` raises ImportError
    monkeypatch.setattr(cellmod, "train_classifier", lambda *a, **k: pytest.fail("trained before the check"))
    with pytest.raises(RuntimeError, match="methods: the classical augmentation of real\\+aug and the pseudo-labelling "
                       "needs albumentations"):
        run_benchmark(semi(methods=("real", "real+aug", "self-train")), tmp_path, progress=False, log=None)
    assert not (tmp_path / "results.csv").exists()


def test_self_train_is_the_last_pseudo_labelling_round_when_its_schedule_is_the_cells(monkeypatch):
    from conftest import state_equal
    from ganaug.data.datasets import load_dataset

    cfg = semi().validate()
    pool, selection, evaluation = bm.load_benchmark_data(cfg)
    subset, unlabelled = load_dataset(pool, n_per_class=5, seed=0, unlabelled="rest")
    cell = lambda: cellmod.Cell(cfg, subset, evaluation, selection, 0, torch.device("cpu"), None,  # noqa: E731
                            unlabelled=unlabelled)
    a, b = cell(), cell()
    a.union()
    b._union = a._union  # the same union, but no classifier from the pseudo-labelling
    reused, fresh = a.model("self-train"), b.model("self-train")
    assert reused is not fresh and state_equal(reused, fresh)  # reusing it changes no number
    d = cell()  # self-train first, as in a grid: pseudo-labelling hands over its classifier, none is trained
    with monkeypatch.context() as m:
        m.setattr(cellmod, "train_classifier", lambda *a, **k: pytest.fail("self-train trained a classifier again"))
        assert state_equal(d.model("self-train"), reused)
    c = cellmod.Cell(dataclasses.replace(cfg, clf_lr=2e-3), subset, evaluation, selection, 0, "cpu", None,
                 unlabelled=unlabelled)
    c.union()
    assert "self-train" not in c._models  # another recipe: self-train trains its own classifier


def test_torch_augmentation_runs_every_method_on_batches_without_albumentations(tmp_path, monkeypatch):
    import sys

    # The torch backend needs no albumentations: every "+aug" method augments whole batches with DigitAugment.
    monkeypatch.setitem(sys.modules, "albumentations", None)
    batches = []
    real_call = ganaug_DigitAugment.__call__

    def counting(self, x):
        batches.append(tuple(x.shape))
        return real_call(self, x)

    monkeypatch.setattr(ganaug_DigitAugment, "__call__", counting)
    methods = ("real", "real+aug", "real+gan+aug", "real+augan+aug", "pretrain-gan+aug")
    rows = run_benchmark(tiny(methods=methods, augmentation="torch"), tmp_path, progress=False, log=None)
    assert all(r["status"] == "ok" for r in rows) and len(rows) == 1 + 1 + 3 + 3 + 1
    # real+aug, two shares each of real+gan+aug and real+augan+aug, pretrain's two halves: 4 steps each, one
    # augmented batch per step; the augmented copies for the augan GAN are single images (C, H, W), each
    # passed on as a batch of one.
    assert sum(len(s) == 4 and s[0] > 1 for s in batches) == 4 * (1 + 2 + 2 + 1)
    assert sum(len(s) == 3 for s in batches) == 2 * 50  # gan_aug_copies=2 of the 50 labelled images
    assert (tmp_path / "gans" / "n5-seed0" / "augan-torch" / "generator.pt").exists()


def test_augmentation_backend_is_in_the_setting_but_the_default_keeps_old_hashes():
    assert tiny(augmentation="torch").setting() != tiny().setting()
    assert "augmentation" not in tiny().fields()  # settings written before the field keep their hash
    assert tiny(augmentation="torch").fields()["augmentation"] == "torch"
    kw = semi(augmentation="torch").validate().pseudo_label_kwargs(0, "cpu")
    assert kw["augmentation"] == "batch" and semi().validate().pseudo_label_kwargs(0, "cpu")["augmentation"] == "default"


def test_trunc_methods_draw_truncated_noise_and_truncation_is_in_the_setting(tmp_path, monkeypatch):
    from ganaug.synth import synthetic

    made = []
    init = synthetic.SyntheticDataset.__init__

    def recording(self, *a, **k):
        made.append(k.get("truncation"))
        init(self, *a, **k)

    monkeypatch.setattr(synthetic.SyntheticDataset, "__init__", recording)
    rows = run_benchmark(tiny(methods=("real", "real+aug", "real+gan+aug-trunc", "real+gan-trunc"), shares=(0.5,),
                              truncation=0.7), tmp_path, progress=False, log=None)
    assert [r["method"] for r in rows] == ["real", "real+aug", "real+gan+aug-trunc@0.5", "real+gan+aug-trunc@auto",
                                           "real+gan-trunc@0.5", "real+gan-trunc@auto"]
    assert all(r["status"] == "ok" for r in rows) and made == [0.7, None, 0.7]  # the GAN's CAS: untruncated
    assert tiny(truncation=0.5).setting() != tiny().setting() and "truncation" not in tiny().fields()
    with pytest.raises(ValueError, match="truncation: expected a number in \\(0.0"):
        tiny(truncation=0).validate()


def test_progress_shows_a_bar_for_each_inner_training(tmp_path, capfd):
    # A cell can spend an hour training its GANs (and, semi-supervised, pseudo-labelling) before its first
    # row: the grid's bar alone would sit still that long.
    run_benchmark(tiny(methods=("real", "real+gan")), tmp_path, progress=True, log=None)
    err = capfd.readouterr().err
    assert "n=5 seed=0" in err  # the grid's bar
    assert "classifier" in err and "ganaug mlp" in err  # the classifiers' and the GAN's bars
    run_benchmark(tiny(methods=("real", "real+gan")), tmp_path / "quiet", progress=False, log=None)
    assert capfd.readouterr().err == ""
