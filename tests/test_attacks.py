"""Attack suite (issue 16): bad data, faults (kill -9, concurrent runs, stale files), hostile loader input.

The CLI matrix lives in test_cli.py and the hostile checkpoint files in test_checkpoint.py.
"""
import gzip
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganaug
from ganaug._outdir import LOCK_NAME, OutDirInUseError, RunLock
from ganaug.gan.checkpoint import safe_load
from ganaug.data.datasets import DatasetNotFoundError, _read_idx, from_arrays

from conftest import state_equal, tiny_config

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- odd batch sizes
@pytest.mark.parametrize("arch, batch", [("mlp", 7), ("dcgan", 9), ("mlp", 3), ("mlp", 39)])
def test_odd_batch_sizes_train(tiny, arch, batch):
    gen, history = ganaug.fit(tiny, tiny_config(arch=arch, batch_size=batch, steps=2, log_every=1), progress=False)
    assert len(history) == 2 and all(np.isfinite(h["g_loss"]) for h in history)


def test_mode_seeking_pairs_share_labels_in_an_odd_batch(tiny, monkeypatch):
    import ganaug.gan.training as tr

    seen = []
    real = tr._mode_seeking
    monkeypatch.setattr(tr, "_mode_seeking", lambda fake, z, half: seen.append((fake.shape[0], half)) or
                        real(fake, z, half))
    ganaug.fit(tiny, tiny_config(batch_size=9, steps=1), progress=False)
    assert seen == [(9, 4)]


def test_gan_oversampler_on_45_samples():
    from ganaug.synth.oversampling import GANOversampler

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(45, 64)).astype(np.uint8)
    y = np.r_[np.zeros(30, int), np.ones(15, int)]
    cfg = ganaug.TrainConfig(arch="mlp", steps=2, width=2, z_dim=8, sample_every=0)
    Xr, yr = GANOversampler(config=cfg, random_state=0).fit_resample(X, y)
    assert Xr.shape == (60, 64) and np.bincount(yr).tolist() == [30, 30]


@pytest.mark.parametrize("kw, match", [
    (dict(minibatch_std=3), r"minibatch_std: expected 0 \(off\) or a group size >= 2 that divides batch_size=8"),
    (dict(minibatch_std=1), r"minibatch_std: expected 0 \(off\)"),
    (dict(minibatch_std=4, batch_size=10), r"divides batch_size=10"),
    (dict(spectral_norm="yes"), r"spectral_norm: expected None, True or False"),
    (dict(device="gpu"), r"device: expected a device name"),
])
def test_options_that_would_do_nothing_or_cannot_work_are_refused(tiny, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ganaug.fit(tiny, tiny_config(**kw), progress=False)


def test_minibatch_std_that_divides_trains(tiny):
    gen, _ = ganaug.fit(tiny, tiny_config(minibatch_std=4, batch_size=8, steps=2), progress=False)
    assert gen.sample(2, seed=0)[0].isfinite().all()


# ---------------------------------------------------------------- output folders
def test_a_folder_holding_a_run_is_refused_without_resume_or_overwrite(tiny, tmp_path):
    ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match=r"out_dir: expected a new or empty folder.*holding a run.*resume=True"):
        ganaug.fit(tiny, tiny_config(steps=4, seed=1), out_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before  # nothing replaced
    with pytest.raises(ValueError, match=r"overwrite: expected either resume or overwrite"):
        ganaug.fit(tiny, tiny_config(steps=4), out_dir=tmp_path, resume=True, overwrite=True, progress=False)


def test_overwrite_replaces_the_run(tiny, tmp_path):
    ganaug.fit(tiny, tiny_config(steps=4, sample_every=2), out_dir=tmp_path, progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    gen, _ = ganaug.fit(tiny, tiny_config(steps=2, seed=1), out_dir=tmp_path, overwrite=True, progress=False)
    assert safe_load(tmp_path / "checkpoint.pt")["step"] == 2
    assert not (tmp_path / "samples" / "step_000004.png").exists()  # the old run's grids are gone
    assert (tmp_path / "notes.txt").read_text() == "mine"  # files ganaug did not write stay
    assert state_equal(gen, ganaug.load_generator(tmp_path / "generator.pt", device="cpu"))


def test_a_file_as_out_dir_is_refused(tiny, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"out_dir: expected a folder .*got .a file: "):
        ganaug.fit(tiny, tiny_config(), out_dir=tmp_path / "f", progress=False)


def test_lock_in_the_same_process(tiny, tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(OutDirInUseError, match=rf"in use by another ganaug run \(pid {os.getpid()} on"):
            ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)
    ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)  # released: the folder is free
    assert (tmp_path / LOCK_NAME).read_text() == ""  # the lock file stays, empty and unlocked


def test_lock_held_by_another_process_names_its_pid(tiny, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from ganaug._outdir import RunLock
        with RunLock({str(tmp_path)!r}):
            print("locked", flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutDirInUseError, match=rf"pid {holder.pid} on .*Wait for it to finish"):
            ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)
        assert not (tmp_path / "checkpoint.pt").exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)  # kill -9 leaves no stale lock


def test_stale_temp_files_are_cleaned_on_the_next_start(tiny, tmp_path):
    ganaug.fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)
    stale = [tmp_path / ".checkpoint.pt.abc123.tmp", tmp_path / ".generator.pt.xyz.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 1000)
    (tmp_path / ".other.tmp").write_text("not ours")
    ganaug.fit(tiny, tiny_config(steps=4), out_dir=tmp_path, resume=True, progress=False)
    assert not any(p.exists() for p in stale) and (tmp_path / ".other.tmp").exists()


def test_loss_history_survives_a_resume_between_log_points(tiny, tmp_path):
    cfg = dict(log_every=4, checkpoint_every=3)
    _, straight = ganaug.fit(tiny, tiny_config(steps=8, **cfg), progress=False)
    ganaug.fit(tiny, tiny_config(steps=8, **cfg), out_dir=tmp_path, progress=False, hooks=[lambda s: s.step == 3])
    _, resumed = ganaug.fit(tiny, tiny_config(steps=8, **cfg), out_dir=tmp_path, resume=True, progress=False)
    drop = lambda h: [{k: v for k, v in e.items() if k != "elapsed_s"} for e in h]  # noqa: E731
    assert drop(resumed) == drop(straight)  # the step-4 mean covers steps 1-4, not only 4
    assert resumed[-1]["elapsed_s"] >= resumed[0]["elapsed_s"]


_KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {repo!r}); sys.path.insert(0, {tests!r})
import numpy as np, ganaug
from conftest import tiny_config
g = np.random.default_rng(0)
x = g.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
data = ganaug.load_dataset((x, np.arange(40) % 4))
def slow(state):
    time.sleep(0.05)
ganaug.fit(data, tiny_config(steps=40, checkpoint_every=2), out_dir={out!r}, resume={resume}, progress=False,
           hooks=[slow])
"""


def test_kill_9_mid_run_then_resume_is_bit_for_bit(tiny, tmp_path):
    out = tmp_path / "run"
    script = _KILL_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests"), out=str(out), resume=False)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 300
        while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.kill()  # SIGKILL: no cleanup runs, possibly in the middle of a checkpoint write
        proc.wait()
    killed_at = safe_load(out / "checkpoint.pt")["step"]
    assert 2 <= killed_at < 40
    (out / ".checkpoint.pt.killed.tmp").write_bytes(b"half a file")  # what a kill mid-write leaves
    resumed, _ = ganaug.fit(tiny, tiny_config(steps=40, checkpoint_every=2), out_dir=out, resume=True, progress=False)
    straight, _ = ganaug.fit(tiny, tiny_config(steps=40, checkpoint_every=2), progress=False)
    assert state_equal(straight, resumed)
    assert not (out / ".checkpoint.pt.killed.tmp").exists()


# ---------------------------------------------------------------- input interpretation
def test_sklearn_digits_floats_need_their_range():
    from sklearn.datasets import load_digits

    d = load_digits()
    with pytest.raises(ValueError, match=r"images: expected float pixels in \[0, 1\] or \[-1, 1\].*got 'values "
                                         r"in \[0, 16\]'.*value_range=\(0, 16\)"):
        from_arrays(d.images, d.target)
    data = from_arrays(d.images, d.target, value_range=(0, 16))
    assert float(data.images.min()) == -1.0 and float(data.images.max()) == 1.0


@pytest.mark.parametrize("dtype, match", [(np.uint16, r"dtype uint16.*\(0, 65535\) for 16-bit"),
                                          (np.int16, r"dtype int16.*\(0, 65535\)"),
                                          (np.int32, r"dtype int32.*value_range=\(low, high\)"),
                                          (np.int64, r"dtype int64")])
def test_integer_images_other_than_uint8_need_a_range(dtype, match):
    x = np.full((2, 8, 8), 1000, dtype=dtype)
    with pytest.raises(ValueError, match=match):
        from_arrays(x, [0, 1])
    assert float(from_arrays(x, [0, 1], value_range=(0, 2000)).images.mean()) == 0.0


@pytest.mark.parametrize("images, match", [
    (np.full((2, 8, 8), 255.0), r"values in \[255, 255\]"),
    (np.linspace(-3, 3, 128).reshape(2, 8, 8), r"values in \[-3, 3\]"),  # e.g. standardised pixels
    (np.linspace(-0.4, 2.8, 128).reshape(2, 8, 8), r"values in \[-0.4, 2.8\]"),  # MNIST's Normalize
])
def test_ambiguous_float_ranges_are_refused(images, match):
    with pytest.raises(ValueError, match=match):
        from_arrays(images, [0, 1])


def test_value_range_that_does_not_fit_the_data():
    with pytest.raises(ValueError, match=r"pixel values inside value_range.*value_range=\(0, 20\)"):
        from_arrays(np.full((2, 8, 8), 20.0), [0, 1], value_range=(0, 16))
    with pytest.warns(UserWarning, match=r"span only \[0, 1\] of value_range \(0, 255\).*value_range=\(0, 1\)"):
        from_arrays(np.linspace(0, 1, 128).reshape(2, 8, 8), [0, 1], value_range=(0, 255))
    with pytest.raises(TypeError, match=r"value_range: expected a \(low, high\) pair"):
        from_arrays(np.zeros((2, 8, 8)), [0, 1], value_range=16)


@pytest.mark.parametrize("labels, exc, match", [
    ([0.5, 1.0], TypeError, r"labels: expected integer class indices \(whole numbers\).*such as \[0.5\]"),
    ([np.nan, 1.0], TypeError, r"such as \[nan\]"),
    ([0, 10 ** 9], ValueError, r"labels: expected class indices below the number of images \(2\)"),
    ([True, False], TypeError, r"labels: expected integer class indices"),
    ([object(), object()], TypeError, r"labels: expected integer class indices or class-name strings"),
])
def test_bad_labels(labels, exc, match):
    with pytest.raises(exc, match=match):
        from_arrays(np.zeros((2, 8, 8), dtype=np.uint8), np.array(labels, dtype=object if
                                                                    isinstance(labels[0], object) and not
                                                                    isinstance(labels[0], (int, float)) else None))


def test_whole_float_labels_and_string_labels():
    data = from_arrays(np.zeros((3, 8, 8), dtype=np.uint8), np.array([1.0, 0.0, 1.0]))
    assert data.targets.tolist() == [1, 0, 1]
    named = from_arrays(np.zeros((3, 8, 8), dtype=np.uint8), ["dog", "cat", "dog"])
    assert named.classes == ["cat", "dog"] and named.targets.tolist() == [1, 0, 1]
    ordered = from_arrays(np.zeros((3, 8, 8), dtype=np.uint8), ["dog", "cat", "dog"], classes=["dog", "cat"])
    assert ordered.targets.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match=r"labels: expected names from classes \['dog', 'cat'\], got \['cow'\]"):
        from_arrays(np.zeros((3, 8, 8), dtype=np.uint8), ["dog", "cow", "cat"], classes=["dog", "cat"])


# ---------------------------------------------------------------- image folders
def _folder(tmp_path, make):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir(exist_ok=True)
        for i in range(2):
            make(Image, tmp_path / cls / f"{i}.png")
    return tmp_path


@pytest.mark.parametrize("make, match", [
    (lambda I, p: I.fromarray(np.full((8, 8), 4000, dtype=np.uint16)).save(p), r"16-bit image \(mode I;16\)"),
    (lambda I, p: I.fromarray(np.zeros((8, 8, 4), dtype=np.uint8)).save(p), r"transparent pixels"),
    (lambda I, p: I.fromarray(np.zeros((500, 500), dtype=np.uint8)).save(p), r"a 500x500 image.*Resize"),
    (lambda I, p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10), r"unreadable image"),
    (lambda I, p: p.write_bytes(b""), r"unreadable image"),
])
def test_image_folder_refuses_what_it_would_read_wrong(tmp_path, make, match):
    with pytest.raises(ValueError, match=r"source: expected 8-bit .*" + match):
        ganaug.load_dataset(_folder(tmp_path, make))


def test_image_folder_opaque_rgba_and_hidden_folders(tmp_path):
    def make(I, p):
        x = np.zeros((8, 8, 4), dtype=np.uint8)
        x[..., 3] = 255
        I.fromarray(x).save(p)

    _folder(tmp_path, make)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    data = ganaug.load_dataset(tmp_path)
    assert data.classes == ["a", "b"] and len(data) == 4


def test_unknown_dataset_name_suggests_the_closest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"Did you mean 'fashion-mnist'\?"):
        ganaug.load_dataset("fashion-mnst")


# ---------------------------------------------------------------- MNIST files: .gz, download, hostile IDX
def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_mnist(folder: Path, n=12, gz=False, prefix="train"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {f"{prefix}-images-idx3-ubyte": _idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
             f"{prefix}-labels-idx1-ubyte": _idx((np.arange(n) % 10).astype(np.uint8))}
    for name, blob in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (folder / name).write_bytes(blob)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_gz_and_plain_raw_files_load_the_same(tmp_path, name, folder):
    _write_mnist(tmp_path / "gz" / folder / "raw", gz=True)
    _write_mnist(tmp_path / "plain" / folder / "raw", gz=False)
    a = ganaug.load_dataset(name, root=tmp_path / "gz")
    b = ganaug.load_dataset(name, root=tmp_path / "plain")
    assert torch.equal(a.images, b.images) and a.targets.tolist() == list(range(10)) + [0, 1]
    assert a.classes == b.classes and len(a.classes) == 10


def test_failed_download_says_so_and_where_to_put_the_files(tmp_path, monkeypatch):
    import torchvision

    def offline(self, *a, **k):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error [Errno -2] Name or "
                           "service not known>")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError, match=r"fashion-mnist: the download failed \(.*Name or service not "
                                                   r"known.*\)\. .*put them \(as \.gz or unpacked\) into "
                                                   r".*FashionMNIST/raw"):
        ganaug.load_dataset("fashion-mnist", root=tmp_path, download=True)


def test_missing_dataset_message_has_no_development_paths(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        ganaug.load_dataset("mnist", root=tmp_path)
    assert "shared" not in str(info.value) and "root='data'" in str(info.value)


@pytest.mark.parametrize("blob, match", [
    (b"", r"header empty"),
    (bytes([0, 0, 9, 3]) + b"\0" * 12, r"header 00000903"),
    (bytes([0, 0, 8, 3]) + struct.pack(">3I", 10 ** 9, 28, 28), r"a header claiming 784,000,000,000 bytes"),
    (bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 5000, 5000), r"images of 5000x5000 pixels"),
    (bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 28, 28) + b"\0" * 100, r"100 data bytes where the header says 1,568"),
    (bytes([0, 0, 8, 3]) + b"\0\0", r"truncated header"),
])
def test_hostile_idx_files(tmp_path, blob, match):
    (tmp_path / "f").write_bytes(blob)
    with pytest.raises(ValueError, match=match):
        _read_idx(tmp_path / "f", 3)


def test_gzip_garbage_idx(tmp_path):
    (tmp_path / "f.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match=r"unreadable data"):
        _read_idx(tmp_path / "f.gz", 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=64), ndim=st.sampled_from([1, 3]), gz=st.booleans())
def test_idx_reader_never_crashes_on_random_bytes(tmp_path, blob, ndim, gz):
    path = tmp_path / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(blob) if gz else blob)
    try:
        out = _read_idx(path, ndim)
    except ValueError as err:
        assert str(err).startswith("root: expected an IDX file")
    else:
        assert out.ndim == ndim and out.dtype == np.uint8


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 3), st.integers(8, 12), st.integers(8, 12)), seed=st.integers(0, 2 ** 16))
def test_idx_roundtrip(shape, seed):
    import tempfile

    array = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "f.gz").write_bytes(gzip.compress(_idx(array)))
        assert np.array_equal(_read_idx(Path(d) / "f.gz", 3), array)


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-5, 5), span=st.floats(0.01, 300), n=st.integers(1, 4))
def test_from_arrays_maps_into_minus_one_one_or_refuses(lo, span, n):
    x = np.linspace(lo, lo + span, n * 64, dtype=np.float64).reshape(n, 8, 8)
    try:
        data = from_arrays(x, np.zeros(n, dtype=int))
    except ValueError as err:
        assert "value_range=" in str(err)  # a refusal always names the fix
        assert not (lo >= -1 and lo + span <= 1)  # and only happens outside the unambiguous ranges
    else:
        assert -1.0 - 1e-6 <= float(data.images.min()) and float(data.images.max()) <= 1.0 + 1e-6


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(st.one_of(st.integers(-3, 50), st.floats(allow_nan=True, allow_infinity=True),
                                 st.text(max_size=3)), min_size=1, max_size=6))
def test_labels_are_accepted_or_refused_with_a_message(labels):
    x = np.zeros((len(labels), 8, 8), dtype=np.uint8)
    try:
        data = from_arrays(x, np.array(labels, dtype=object))
    except (ValueError, TypeError) as err:
        assert str(err).startswith("labels: expected")
    else:
        assert len(data) == len(labels) and data.targets.min() >= 0
        assert data.targets.max() < data.num_classes


@pytest.mark.parametrize("kw, match", [(dict(width=4000), r"width: expected at most 1024"),
                                       (dict(z_dim=10 ** 8), r"z_dim: expected at most 4096")])
def test_sizes_that_would_not_load_again_are_refused(tiny, kw, match):
    with pytest.raises(ValueError, match=match):
        ganaug.fit(tiny, tiny_config(**kw), progress=False)


@pytest.mark.parametrize("kw", [dict(width=1024, arch="mlp"), dict(z_dim=4096, width=1000)])
def test_absurd_network_sizes_are_refused_before_allocating(tiny, kw, monkeypatch):
    import ganaug.gan.models as models

    built = []
    real = models.MLPGenerator.__init__
    monkeypatch.setattr(models.MLPGenerator, "__init__",
                        lambda self, *a, **k: built.append(str(torch.empty(0).device)) or real(self, *a, **k))
    with pytest.raises(ValueError, match=r"width: expected networks of at most 250,000,000 parameters"):
        ganaug.fit(tiny, tiny_config(**kw), progress=False)
    assert built and all(d == "meta" for d in built)


def test_sample_labels_by_class_name(tmp_path, capsys):
    from ganaug.cli import main
    from ganaug.gan.models import build_generator, default_spec

    build_generator(default_spec("mlp", (1, 8, 8), ["cat", "dog", "7"], z_dim=4, width=1)).save(tmp_path / "g.pt")
    argv = ["sample", "--checkpoint", str(tmp_path / "g.pt"), "--n", "4", "--out", str(tmp_path / "s.npz")]
    assert main(argv + ["--labels", "dog", "cat", "#2", "7"]) == 0
    assert np.load(tmp_path / "s.npz")["labels"].tolist() == [1, 0, 2, 2]
    assert main(argv + ["--labels", "dgo"]) == 2
    assert "--labels: expected class names or indices 0..2" in capsys.readouterr().err
    build_generator(default_spec("mlp", (1, 8, 8), ["1", "0"], z_dim=4, width=1)).save(tmp_path / "g.pt")
    assert main(argv[:-2] + ["--out", str(tmp_path / "t.npz"), "--labels", "1"]) == 2
    assert "'1' is the name of class 0 and the index of class '0'" in capsys.readouterr().err


def test_help_shows_defaults_and_examples(capsys):
    from ganaug.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for cmd in ("train", "sample", "demo", "evaluate", "benchmark"):
        assert f"e.g. ganaug {cmd}" in top
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    train = " ".join(capsys.readouterr().out.split())
    assert "(default: 64)" in train and "(default: 0.999)" in train and "--minibatch-std" in train
    assert "--overwrite" in train and "example:" in train
