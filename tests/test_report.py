import math

import pytest

from ganaug.bench.store import ResultStore
from ganaug.bench.report import comparisons, markdown, plot, summary, write_report
from ganaug.metrics.stats import paired_test


def rows():
    acc = {"real": [0.70, 0.72, 0.69], "real+aug": [0.75, 0.74, 0.76], "real+gan": [0.71, 0.70, 0.73],
           "real+gan+aug": [0.77, 0.78, 0.75]}
    out = []
    for size in (10, 0):
        for method, values in acc.items():
            for seed, v in enumerate(values):
                out.append({"setting": "s", "dataset": "mnist", "eval_split": "test", "size": size,
                            "n_real": 100 if size else 60000, "n_classes": 10, "seed": seed, "method": method,
                            "accuracy": v + (0.2 if size == 0 else 0.0), "balanced_accuracy": v, "status": "ok"})
    return out


def test_summary_per_method_and_size():
    s = {(c["method"], c["size"]): c for c in summary(rows())}
    assert s[("real", 10)]["mean"] == pytest.approx(0.70333333) and s[("real", 10)]["n"] == 3
    assert s[("real", 0)]["mean"] == pytest.approx(0.90333333)
    assert [c["size"] for c in summary(rows()) if c["method"] == "real"] == [10, 0]  # full last


def test_comparisons_are_paired_by_seed():
    c = {(x["method"], x["baseline"], x["size"]): x for x in comparisons(rows())}
    ref = paired_test([0.77, 0.78, 0.75], [0.75, 0.74, 0.76])
    got = c[("real+gan+aug", "real+aug", 10)]
    assert got["mean_diff"] == pytest.approx(ref["mean_diff"]) and got["t_p"] == pytest.approx(ref["t_p"])
    assert ("real+gan-filtered", "real", 10) not in c  # never ran


def test_markdown_table():
    text = markdown(rows())
    assert "| method | 10/class | full set |" in text
    assert "| real | 0.7033 ± " in text and "(3)" in text
    assert "real+gan+aug vs real+aug" in text
    assert "balanced_accuracy" in markdown(rows(), "balanced_accuracy")


def test_plot_writes_png(tmp_path):
    path = plot(rows(), tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_from_csv(tmp_path):
    store = ResultStore(tmp_path / "results.csv")
    for r in rows():
        store.append({**r, "wall_s": 1.0})
    paths = write_report(tmp_path)
    assert "| real+aug |" in paths["markdown"].read_text()
    assert paths["summary"].read_text().startswith("method,size,n,mean,std")
    assert paths["plot"].exists()


def test_write_report_adds_the_pseudo_labelling_of_its_cells(tmp_path):
    import json

    store = ResultStore(tmp_path / "results.csv")
    for r in rows():
        store.append({**r, "wall_s": 1.0})
    assert "Pseudo-labelling" not in write_report(tmp_path)["markdown"].read_text()  # supervised: no table
    info = {"n_labelled": 100, "n_pool": 900, "n_pseudo": 850, "rounds": [{"round": 1}, {"round": 2}],
            "wall_s": 90.0, "pseudo_label_accuracy": 0.98765}
    for cell in ("n10-seed1", "n20-seed0"):  # the second is no cell of the rows: left out
        (tmp_path / "gans" / cell / "pseudo-torch").mkdir(parents=True)
        (tmp_path / "gans" / cell / "pseudo-torch" / "info.json").write_text(json.dumps(info))
    text = write_report(tmp_path)["markdown"].read_text()
    assert "| 10 | 1 | pseudo-torch | 900 | 850 | 98.8% | 2 | 1.5 |" in text
    assert "| 20 |" not in text.split("Pseudo-labelling")[1]
    # Kept in pseudo_labels.csv: a report regenerated without the gans folder still has the table, and
    # a new cell's info.json is merged into it.
    import shutil

    shutil.rmtree(tmp_path / "gans")
    (tmp_path / "gans" / "n10-seed2" / "pseudo-torch").mkdir(parents=True)
    (tmp_path / "gans" / "n10-seed2" / "pseudo-torch" / "info.json").write_text(
        json.dumps({**info, "n_pseudo": 800, "wall_s": 120.0}))
    store.append({**rows()[0], "seed": 2, "wall_s": 1.0})
    text = write_report(tmp_path)["markdown"].read_text()
    assert "| 10 | 1 | pseudo-torch | 900 | 850 | 98.8% | 2 | 1.5 |" in text
    assert "| 10 | 2 | pseudo-torch | 900 | 800 | 98.8% | 2 | 2.0 |" in text
    assert len((tmp_path / "pseudo_labels.csv").read_text().splitlines()) == 4  # header + 3 cells, n20 kept
    assert not list(tmp_path.glob("*.tmp"))


def test_single_seed_has_no_interval():
    one = [r for r in rows() if r["seed"] == 0]
    assert math.isnan(summary(one)[0]["ci_half"])
    assert "| real | 0.7000 (1) |" in markdown(one)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="out_dir: expected a folder holding a benchmark's results.csv"):
        write_report(tmp_path)
    with pytest.raises(ValueError, match="rows: expected at least one finished run"):
        markdown([])
    with pytest.raises(ValueError, match="metric: expected one of 'accuracy', 'balanced_accuracy'"):
        summary(rows(), "f1")


def test_share_labels_order_and_baselines():
    from ganaug.bench.report import baseline_of, order

    labels = ["cas", "real+gan+aug@auto", "real+gan+aug@0.5", "real", "real+gan+aug@0.25", "real+aug",
              "pretrain-gan+aug", "real+gan@0.5"]
    assert sorted(labels, key=order) == ["real", "real+aug", "real+gan@0.5", "real+gan+aug@0.25", "real+gan+aug@0.5",
                                         "real+gan+aug@auto", "pretrain-gan+aug", "cas"]
    assert [baseline_of(x) for x in ("real", "cas", "real+aug", "real+gan@0.5", "real+gan-filtered@auto",
                                     "real+gan+aug@0.25", "real+augan+aug@auto", "pretrain-gan+aug",
                                     "real+gan+aug-soft@0.5")] == [
        None, None, "real", "real", "real", "real+aug", "real+aug", "real+aug", "real+aug"]
    rs = [{**r, "method": r["method"] + "@0.5" if r["method"] == "real+gan+aug" else r["method"]} for r in rows()]
    assert "| real+gan+aug@0.5 vs real+aug | 10 |" in markdown(rs)
    semi = ["cas-sgan", "self-train+sgan+aug@auto", "real+sgan+aug@0.5", "self-train", "real+sgan@0.5", "real+aug",
            "real"]
    assert sorted(semi, key=order) == ["real", "real+aug", "self-train", "real+sgan@0.5", "real+sgan+aug@0.5",
                                       "self-train+sgan+aug@auto", "cas-sgan"]
    assert [baseline_of(x) for x in sorted(semi, key=order)] == [
        None, "real", "real+aug", "real", "real+aug", "self-train", None]


def test_semi_gan_quality_table():
    rs = [{**r, "method": {"real+gan": "real+sgan@0.5", "real+gan+aug": "self-train"}.get(r["method"], r["method"])}
          for r in rows()]
    for r in rs:
        if r["method"] == "real+sgan@0.5":
            r.update(gan_cas=0.9, gan_recall=0.5 + 0.1 * r["seed"], gan_coverage=0.7, gan_steps=20000, gan_wall_s=60.0)
    text = markdown(rs)
    assert "| semi GAN (labelled + pseudo-labelled) | 10 | 0.9000 " in text
    assert "| 0.6000 | 0.7000 | 20000 | 1.0 |" in text and "| self-train vs real+aug | 10 |" in text


def test_gan_quality_table():
    rs = rows()
    for r in rs:
        if r["method"] in ("real+gan", "real+gan+aug"):
            r.update(gan_cas=0.5 + 0.1 * r["seed"], gan_steps=4000, gan_wall_s=120.0)
    text = markdown(rs)
    assert "| generator | size/class | CAS | recall | coverage | steps | minutes |" in text
    assert "| GAN on the subset | 10 | 0.6000 ± " in text and "| – | – | 4000 | 2.0 |" in text
    assert "GAN on augmented copies" not in text  # no such rows
