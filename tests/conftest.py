import importlib.util
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

import ganaug

# MNIST is found only through $GANAUG_DATA (the folder holding MNIST/raw); resolved now, before any test
# changes the working directory. Unset: the MNIST tests skip.
MNIST_ROOT = Path(os.environ["GANAUG_DATA"]).resolve() if os.environ.get("GANAUG_DATA") else None


@pytest.fixture(scope="session")
def digits():
    return ganaug.load_dataset("digits")


@pytest.fixture
def tiny():
    """40 seeded random 8x8 images over 4 classes."""
    g = np.random.default_rng(0)
    x = g.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = np.arange(40) % 4
    return ganaug.load_dataset((x, y))


@pytest.fixture
def adam_lrs(monkeypatch):
    """The learning rate of every Adam step taken while the test runs, in order."""
    seen = []
    adam_step = torch.optim.Adam.step

    def recording(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return adam_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    return seen


@pytest.fixture
def mnist_root():
    if MNIST_ROOT is None:
        pytest.skip("MNIST tests need GANAUG_DATA set to the folder that holds MNIST/raw")
    if not (MNIST_ROOT / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"GANAUG_DATA={MNIST_ROOT} holds no MNIST/raw/train-images-idx3-ubyte")
    return MNIST_ROOT


@pytest.fixture
def compiled(monkeypatch):
    """torch.compile with the aot_eager backend: real tracing (graphs, autograd) without minutes of C++ codegen."""
    calls = []
    real = torch.compile

    def traced(module, **kwargs):
        calls.append((type(module).__name__, kwargs))
        return real(module, backend="aot_eager", **kwargs)

    monkeypatch.setattr(torch, "compile", traced)
    return calls


def tiny_config(**kw):
    base = dict(arch="mlp", width=2, z_dim=8, steps=6, batch_size=8, log_every=2, sample_every=0,
                checkpoint_every=0, device="cpu")
    base.update(kw)
    return ganaug.TrainConfig(**base)


def state_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@contextmanager
def benchmark_module(filename: str):
    """Import benchmarks/<filename> as a module (it imports benchmarks/_common.py), for a module-scoped fixture."""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    spec = importlib.util.spec_from_file_location(f"bench_{Path(filename).stem}", benchmarks / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(benchmarks))
        del sys.modules[spec.name]
