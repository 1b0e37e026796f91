"""Run a benchmark grid as many single-threaded ``ganaug benchmark`` processes, with a deadline.

    python benchmarks/run_grid.py --jobs benchmarks/grids/mnist_downstream.txt --workers 2 \\
        --deadline-min 600 --base benchmarks/results/downstream -- --root data

Each non-empty line of the jobs file (``#`` starts a comment) is the arguments of one
``python -m ganaug benchmark`` call, usually one cell (``--sizes 10 --seeds 3``); the arguments after
``--`` are added to every line (data root, ``--out``, ``--device``). Lines run in file order, at most
``--workers`` at a time (``{base}`` in a line is replaced by ``--base``), each with one intra-op thread (one process per core is the fastest use of
a CPU; on a GPU machine the processes share the card). Results land in the shared ``--out`` CSVs as
each method finishes, so a job stopped at the deadline keeps its finished rows and the same command
later runs only what is missing. ``--log`` gets one log per job and ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT


def read_jobs(path: str | Path, base: str = ".") -> list[list[str]]:
    """The jobs file's lines as argument lists (comments and blank lines dropped, ``{base}`` replaced)."""
    jobs = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip().replace("{base}", base)
        if line:
            jobs.append(shlex.split(line))
    if not jobs:
        raise SystemExit(f"run_grid: --jobs {path}: no job lines (each line holds `ganaug benchmark` arguments)")
    return jobs


def _stop(proc: subprocess.Popen) -> None:
    # Each job is its own process group: the whole group (with any DataLoader workers) goes.
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass


def run(jobs: list[list[str]], common: list[str], workers: int, deadline_s: float | None, log_dir: Path,
        poll_s: float = 1.0) -> list[dict]:
    """Run ``jobs``; return one record per job: its arguments, exit code (None: not started,
    "stopped": stopped at the deadline) and wall time."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    records = [{"job": i, "args": " ".join(map(shlex.quote, a)), "rc": None, "wall_s": None} for i, a in enumerate(jobs)]
    t0 = time.monotonic()
    pending, running = list(range(len(jobs))), {}
    while pending or running:
        late = deadline_s is not None and time.monotonic() - t0 > deadline_s
        for i, (proc, start, log) in list(running.items()):
            if late:
                _stop(proc)
            if proc.poll() is not None:
                records[i].update(rc="stopped" if late and proc.returncode < 0 else proc.returncode,
                                  wall_s=round(time.monotonic() - start, 1))
                log.close()
                del running[i]
                print(f"[{time.monotonic() - t0:7.0f}s] job {i} {records[i]['rc']}: {records[i]['args']}", flush=True)
        if late:
            break
        while pending and len(running) < workers:
            i = pending.pop(0)
            log = open(log_dir / f"job{i:03d}.log", "w")
            cmd = [sys.executable, "-m", "ganaug", "benchmark", *jobs[i], *common, "--no-progress"]
            log.write(" ".join(map(shlex.quote, cmd)) + "\n")
            log.flush()
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                    start_new_session=True)
            running[i] = (proc, time.monotonic(), log)
        time.sleep(poll_s)
    (log_dir / "summary.json").write_text(json.dumps(records, indent=2))
    return records


def main(argv: list[str] | None = None) -> list[dict]:
    argv = sys.argv[1:] if argv is None else argv
    common: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, common = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", required=True, help="file with one line of `ganaug benchmark` arguments per job")
    p.add_argument("--workers", type=int, default=2, help="jobs at a time (default 2: one per core here)")
    p.add_argument("--deadline-min", type=float, default=None, help="stop every job after this many minutes")
    p.add_argument("--base", default=".", help="replaces {base} in the job lines, e.g. a results folder (default .)")
    p.add_argument("--log", default="grid-logs", help="folder for job logs and summary.json (default grid-logs)")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers: expected at least 1, got {args.workers}")
    records = run(read_jobs(args.jobs, args.base), common, args.workers,
                  None if args.deadline_min is None else 60 * args.deadline_min, Path(args.log))
    done = sum(r["rc"] == 0 for r in records)
    print(f"run_grid: {done}/{len(records)} jobs finished; "
          f"{sum(r['rc'] == 'stopped' for r in records)} stopped at the deadline, "
          f"{sum(r['rc'] is None for r in records)} not started, "
          f"{sum(r['rc'] not in (0, None, 'stopped') for r in records)} failed (logs in {args.log})")
    return records


if __name__ == "__main__":
    main()
