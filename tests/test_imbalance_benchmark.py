"""benchmarks/imbalance.py at a tiny size on the embedded digits: rows, resuming, report, argument errors."""
import re

import pytest
import torch
from conftest import benchmark_module

TINY = ["--quick", "--n-max", "20", "--ratios", "4", "--seeds", "0", "--gan-steps", "5", "--gan-width", "4",
        "--clf-steps", "5", "--clf-width", "2", "--no-progress"]


@pytest.fixture(scope="module")
def imbalance():
    with benchmark_module("imbalance.py") as module:
        yield module


@pytest.fixture(scope="module")
def one_thread():
    # Two torch threads on two cores shared with other jobs run several times slower than one.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def finished(imbalance, one_thread, tmp_path_factory):
    out = tmp_path_factory.mktemp("imbalance")
    imbalance.main(TINY + ["--out", str(out)])
    return out


def rows(imbalance, out):
    return imbalance.ResultStore(out / "results.csv", fields=imbalance.FIELDS, ints=imbalance.INTS,
                                 floats=imbalance.FLOATS).rows()


def test_one_row_per_method_with_metrics_in_range(imbalance, finished):
    got = rows(imbalance, finished)
    assert [r["method"] for r in got] == list(imbalance.METHODS)
    counts = [20, 17, 15, 13, 11, 9, 8, 7, 6, 5]
    for r in got:
        assert r["status"] == "ok" and r["ratio"] == 4.0 and r["seed"] == 0 and r["dataset"] == "digits"
        assert r["class_counts"] == " ".join(map(str, counts)) and r["n_train"] == sum(counts)
        assert r["n_resampled"] == (sum(counts) if r["method"] == "none" else 200)
        for metric in imbalance.METRICS:
            assert 0.0 <= r[metric] <= 1.0
        assert r["wall_s"] >= 0 and len(r["setting"]) == 10
    assert 0.0 < got[-1]["filter_acceptance"] <= 1.0
    assert (finished / "gans" / f"{got[0]['setting']}-r4-seed0" / "generator.pt").exists()


def test_rerun_skips_finished_rows(imbalance, finished, capsys):
    before = (finished / "results.csv").read_text()
    imbalance.main(TINY + ["--out", str(finished)])
    assert (finished / "results.csv").read_text() == before
    assert "0 run(s) to do, 5 already" in capsys.readouterr().out


def test_gan_filter_alone_reuses_the_cached_gan(imbalance, finished, tmp_path, monkeypatch):
    # A run split off to another machine: only gan+filter, with the GAN file of the first run.
    out = tmp_path / "split"
    (out / "gans").mkdir(parents=True)
    setting = rows(imbalance, finished)[0]["setting"]
    cached = finished / "gans" / f"{setting}-r4-seed0"
    (out / "gans" / cached.name).mkdir()
    (out / "gans" / cached.name / "generator.pt").write_bytes((cached / "generator.pt").read_bytes())
    monkeypatch.setattr(imbalance.ganaug, "GANOversampler", None)  # would fail if a GAN were trained
    imbalance.main(TINY + ["--out", str(out), "--methods", "gan+filter"])
    split, full = rows(imbalance, out)[0], rows(imbalance, finished)[-1]
    assert split["setting"] == setting
    assert [split[m] for m in imbalance.METRICS] == [full[m] for m in imbalance.METRICS]


def test_report_only_rewrites_markdown_and_plot(imbalance, finished):
    for name in ("results.md", "results.png"):
        (finished / name).unlink()
    paths = imbalance.main(["--report-only", "--out", str(finished)])
    text = paths["markdown"].read_text()
    assert "| gan+filter |" in text and "ratio 4: balanced accuracy" in text and "gan vs ros" in text
    assert "20 17 15 13 11 9 8 7 6 5 (111 images)" in text
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["--methods", "adasyn"], r"--methods: expected one of 'none'"),
    (["--ratios", "0.5"], r"--ratios: expected a number in \[1.0, inf\]"),
    (["--ratios", "15"], r"--ratios: expected ratios that leave SMOTE two images in the rarest class"),
    (["--ratios", "40"], r"ratio: expected a ratio below 40 with n_max=20"),
    (["--n-max", "500"], r"n_max: expected a long tail that fits the data"),
    (["--filter-keep", "0"], r"--filter-keep: expected a number in \(0.0, 1.0\]"),
    (["--clf-steps", "0"], r"--clf-steps: expected an integer >= 1"),
])
def test_bad_arguments_exit_with_one_line(imbalance, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        imbalance.main(TINY + ["--out", str(tmp_path)] + args)
    assert exc.value.code == 2
    assert not any(tmp_path.iterdir())  # refused before anything was written or trained
    assert re.search(message, capsys.readouterr().err)


def test_report_only_without_results(imbalance, tmp_path, capsys):
    with pytest.raises(SystemExit):
        imbalance.main(["--report-only", "--out", str(tmp_path)])
    assert "--out: expected a folder holding this benchmark's results.csv" in capsys.readouterr().err
