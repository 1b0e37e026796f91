"""fit and `ganaug train` under torchrun: 2 CPU processes with gloo on this machine.

The same file is the worker script: torchrun runs it with ``python tests/test_distributed.py ROOT``,
each rank trains and saves what it saw into ROOT/rank{R}.pt for the tests to compare.
"""
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganaug
from ganaug.gan.checkpoint import safe_load
from ganaug.gan.training import TrainConfig, fit

REPO = Path(__file__).resolve().parents[1]
N = 3  # steps per half of the resume test


def _data():
    return ganaug.load_dataset("digits", n_per_class=10)  # 100 images (1, 8, 8)


def _config(**kw):
    base = dict(arch="mlp", width=4, z_dim=8, batch_size=16, steps=2 * N, log_every=1, sample_every=0,
                checkpoint_every=N, device="cpu")
    return TrainConfig(**{**base, **kw})


def _torchrun(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *map(str, args)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _record_writes(log):
    # Wrap every file writer fit uses, so each rank lists the files it wrote.
    import ganaug._files as files
    import ganaug.gan.checkpoint as checkpoint
    import ganaug.gan.viz as viz

    def recording(module, name):
        real = getattr(module, name)

        def wrapper(obj, path, *a, **k):
            log.append(Path(path).name)
            return real(obj, path, *a, **k)

        setattr(module, name, wrapper)

    recording(checkpoint, "atomic_save")  # checkpoint.pt
    recording(files, "atomic_save")  # generator.pt (gen.save)
    recording(viz, "save_grid")  # sample grids


def _worker(root: Path):
    rank = int(os.environ["RANK"])
    writes, losses, last = [], [], {}
    _record_writes(writes)
    data = _data()

    def hook(state):
        losses.append(state.d_loss)
        last.update({name: {k: v.clone() for k, v in net.state_dict().items()}
                     for name, net in (("G", state.G), ("D", state.D))})

    straight, _ = fit(data, _config(sample_every=N), out_dir=root / "straight", hooks=[hook], progress=False)
    fit(data, _config(steps=N), out_dir=root / "resumed", progress=False)
    resumed, _ = fit(data, _config(), out_dir=root / "resumed", resume=True, progress=False)
    # A hook that stops rank 1 only, and an exhausted time budget: every rank must stop together.
    stopped_at = []

    def stop_rank1(state):
        stopped_at.append(state.step)
        return rank == 1 and state.step == 2

    other, _ = fit(data, _config(arch="dcgan", loss="wgan-gp", minibatch_std=2, steps=10), hooks=[stop_rank1],
                   progress=False)
    _, timed = fit(data, _config(steps=None, max_minutes=1e-9), progress=False)
    diverged = _diverge_on_rank1(data, rank)
    cli = _cli(root / "cli")
    torch.save({"G_ema": straight.state_dict(), "G": last["G"], "D": last["D"], "losses": losses,
                "writes": writes, "resumed": resumed.state_dict(), "stopped_at": stopped_at,
                "other": other.state_dict(), "timed": len(timed), "diverged": diverged, "cli": cli},
               root / f"rank{rank}.pt")


def _diverge_on_rank1(data, rank) -> str:
    # A NaN generator loss on rank 1 alone at step 2 must raise on both ranks (not leave rank 0 waiting).
    import ganaug.gan.training as training

    real, calls = training.g_loss, []

    def poisoned(name, fake):
        calls.append(1)
        return real(name, fake) * (float("nan") if rank == 1 and len(calls) == 2 else 1.0)

    training.g_loss = poisoned
    try:
        fit(data, _config(), progress=False)
    except ganaug.TrainingDivergedError as err:
        return str(err)
    finally:
        training.g_loss = real
    return ""


def _cli(out: Path) -> int:
    # `python -m ganaug train ...` in this torchrun process (runpy is what -m runs); progress bar on.
    sys.argv = ["ganaug", "train", "--dataset", "digits", "--n-per-class", "10", "--arch", "mlp", "--width", "4",
                "--batch-size", "16", "--steps", "2", "--sample-every", "0", "--out", str(out)]
    try:
        runpy.run_module("ganaug", run_name="__main__")
    except SystemExit as done:
        return done.code
    return -1


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    done = _torchrun(Path(__file__).relative_to(REPO), root)
    return root, [torch.load(root / f"rank{r}.pt", weights_only=True) for r in range(2)], done


def test_ranks_end_identical(ranks):
    _, (r0, r1), _ = ranks
    for key in ("G", "D", "G_ema", "resumed", "other"):
        assert _equal(r0[key], r1[key]), key


def test_ranks_draw_different_batches(ranks):
    _, (r0, r1), _ = ranks
    first = []
    fit(_data(), _config(steps=1), hooks=[lambda s: first.append(s.d_loss)], progress=False)
    # Step 1's loss comes from identical initial weights: rank 0 drew what one process draws,
    # rank 1 drew other images and noise.
    assert r0["losses"][0] == first[0] and r1["losses"][0] != first[0]
    assert len(r0["losses"]) == len(r1["losses"]) == 2 * N


def test_only_rank0_writes(ranks):
    root, (r0, r1), _ = ranks
    assert r1["writes"] == []
    assert sorted(set(r0["writes"])) == ["checkpoint.pt", "final.png", "generator.pt", f"step_{N:06d}.png",
                                       f"step_{2 * N:06d}.png"]
    assert (root / "straight" / "generator.pt").exists() and not list(root.rglob(".*.tmp"))


def test_resume_is_bit_for_bit(ranks):
    root, (r0, _), _ = ranks
    a, b = safe_load(root / "straight" / "checkpoint.pt"), safe_load(root / "resumed" / "checkpoint.pt")
    assert a["step"] == b["step"] == 2 * N and a["world_size"] == 2
    for key in ("G", "D", "G_ema"):
        assert _equal(a[key], b[key]), key
    assert _equal(r0["G_ema"], r0["resumed"])
    assert not torch.equal(*a["rng_ranks"])  # each rank's own stream is stored


def test_every_rank_stops_together(ranks):
    _, (r0, r1), _ = ranks
    assert r0["stopped_at"] == r1["stopped_at"] == [1, 2]
    assert r0["timed"] == r1["timed"] == 0
    assert r0["diverged"].startswith("training diverged at step 1: the generator loss is non-finite on another")
    assert r1["diverged"].startswith("training diverged at step 1: the generator loss is nan")


def test_single_process_refuses_two_process_checkpoint(ranks):
    root, _, _ = ranks
    with pytest.raises(ValueError, match=r"world_size: expected 2 processes, as many as wrote .*checkpoint.pt"
                                         r".*got 1\. Resume with 2 processes in all"):
        fit(_data(), _config(steps=2 * N + 1), out_dir=root / "straight", resume=True, progress=False)


def test_cli_train_under_torchrun(ranks):
    root, (r0, r1), done = ranks
    assert r0["cli"] == r1["cli"] == 0
    assert done.stdout.count("done:") == 1 and done.stdout.count("training ") == 1  # rank 0 talks
    assert done.stderr.count("2/2 [") == 1  # but one progress bar (rank 0)
    ckpt = safe_load(root / "cli" / "checkpoint.pt")
    assert ckpt["step"] == 2 and ckpt["world_size"] == 2
    assert ganaug.load_generator(root / "cli" / "generator.pt", device="cpu").num_classes == 10


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
