import math

import pytest

from ganaug.bench.store import ResultStore, select_rows


def test_append_read_back_and_done(tmp_path):
    store = ResultStore(tmp_path / "sub" / "r.csv", fields=("setting", "seed", "method", "acc", "status"),
                        ints=("seed",), floats=("acc",))
    assert store.rows() == []
    store.append({"setting": "a", "seed": 0, "method": "real", "acc": 0.5, "status": "ok"})
    store.append({"setting": "a", "seed": 1, "method": "real", "status": "failed"})  # missing acc -> nan
    store.append({"setting": "b", "seed": 0, "method": "real", "acc": 0.25, "status": "ok"})
    rows = store.rows()
    assert [r["seed"] for r in rows] == [0, 1, 0] and rows[0]["acc"] == 0.5 and math.isnan(rows[1]["acc"])
    assert store.done("a", key=("seed", "method")) == {(0, "real")}
    assert [r["setting"] for r in select_rows(rows)] == ["b"]  # the last row's setting, ok rows only
    assert [r["seed"] for r in select_rows(rows, "a")] == [0]
    assert select_rows([]) == []


def test_a_csv_with_other_columns_is_refused(tmp_path):
    (tmp_path / "r.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"out: expected a results CSV with columns setting, seed"):
        ResultStore(tmp_path / "r.csv", fields=("setting", "seed")).rows()
