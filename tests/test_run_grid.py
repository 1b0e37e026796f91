"""benchmarks/run_grid.py: jobs in parallel processes into one shared results folder, and a deadline."""
import csv
import json

import pytest

from conftest import benchmark_module

TINY = ("--dataset digits --val-per-class 5 --gan-steps 20 --gan-width 8 --clf-steps 10 --clf-width 4 "
        "--shares 0.5 --device cpu")


@pytest.fixture(scope="module")
def grid():
    with benchmark_module("run_grid.py") as module:
        yield module


def test_jobs_file_comments_blank_lines_and_base(grid, tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("# a comment\n\n--sizes 5 --out {base}/a  # trailing\n--seeds 1 'two words'\n")
    assert grid.read_jobs(jobs, "R") == [["--sizes", "5", "--out", "R/a"], ["--seeds", "1", "two words"]]
    jobs.write_text("# nothing\n")
    with pytest.raises(SystemExit, match="no job lines"):
        grid.read_jobs(jobs)


def test_two_jobs_share_one_results_csv(grid, tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("".join(f"--sizes 5 --seeds {s} --methods real real+gan --out {{base}}/res\n" for s in (0, 1)))
    records = grid.main(["--jobs", str(jobs), "--workers", "2", "--base", str(tmp_path), "--log",
                         str(tmp_path / "logs"), "--", *TINY.split()])
    assert [r["rc"] for r in records] == [0, 0]
    rows = list(csv.DictReader(open(tmp_path / "res" / "results.csv")))
    got = {(r["seed"], r["method"]) for r in rows}
    assert got == {(s, m) for s in ("0", "1") for m in ("real", "real+gan@0.5", "real+gan@auto")}
    assert json.loads((tmp_path / "logs" / "summary.json").read_text()) == records
    assert "benchmark" in (tmp_path / "logs" / "job000.log").read_text().splitlines()[0]


def test_deadline_stops_running_jobs_and_leaves_the_rest(grid, tmp_path):
    jobs = tmp_path / "jobs.txt"
    slow = "--sizes 5 --seeds 0 --methods real --clf-steps 1000000 --out {base}/res\n"
    jobs.write_text(slow + slow.replace("--seeds 0", "--seeds 1"))
    records = grid.run(grid.read_jobs(jobs, str(tmp_path)), TINY.split()[:-2], workers=1, deadline_s=3.0,
                       log_dir=tmp_path / "logs", poll_s=0.2)
    assert [r["rc"] for r in records] == ["stopped", None]
