import json
import pickle

import pytest
import torch

import ganaug
from ganaug.gan.checkpoint import CheckpointError, atomic_save, safe_load
from ganaug.gan.models import build_generator, default_spec

from conftest import state_equal


@pytest.fixture
def gen():
    torch.manual_seed(0)
    return build_generator(default_spec("dcgan", (1, 8, 8), ["a", "b", "c"], z_dim=8, width=2))


def test_save_load_roundtrip(gen, tmp_path):
    gen.save(tmp_path / "g.pt")
    loaded = ganaug.load_generator(tmp_path / "g.pt", device="cpu")
    assert state_equal(gen, loaded) and loaded.classes == ["a", "b", "c"] and not loaded.training
    gen.eval()
    assert torch.equal(gen.sample(6, seed=1)[0], loaded.sample(6, seed=1)[0])
    raw = torch.load(tmp_path / "g.pt", weights_only=True)
    assert json.loads(raw["spec"])["arch"] == "dcgan"  # the config travels as JSON text


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.pt"
    atomic_save({"a": torch.ones(2)}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_save({"a": Boom()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]


def test_nan_weights_are_never_written(gen, tmp_path):
    with torch.no_grad():
        next(gen.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"NaN/inf; refusing to write"):
        gen.save(tmp_path / "g.pt")
    assert not (tmp_path / "g.pt").exists()


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint: no file at .*nope.pt"):
        ganaug.load_generator(tmp_path / "nope.pt")


def test_corrupt_file(gen, tmp_path):
    gen.save(tmp_path / "g.pt")
    data = (tmp_path / "g.pt").read_bytes()
    (tmp_path / "g.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(tmp_path / "g.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(tmp_path / "junk.pt")


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_untrusted_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "ganaug.generator", "payload": Evil()}, f)
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(path)
    assert "pwned" not in capsys.readouterr().out


def test_foreign_files(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"expected a file of format ganaug.generator"):
        ganaug.load_generator(tmp_path / "foreign.pt")
    torch.save({"format": "ganaug.generator", "version": 99}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match=r"expected format version 1, got 99"):
        safe_load(tmp_path / "future.pt")
    torch.save({"format": "ganaug.generator", "version": 1, "spec": "{}", "state_dict": {}}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"invalid network spec \(arch None\)"):
        ganaug.load_generator(tmp_path / "bad.pt")


# ---- files written by an earlier ganaug (tests/data, format version 1 of commit ec3f64c)
DATA = __import__("pathlib").Path(__file__).parent / "data"


def test_legacy_files_load_and_sample_the_same_images():
    import numpy as np

    expected = torch.from_numpy(np.load(DATA / "legacy_v1_samples.npy"))
    for name in ("legacy_v1_checkpoint.pt", "legacy_v1_generator.pt"):
        gen = ganaug.load_generator(DATA / name, device="cpu")
        assert gen.classes == ["0", "1", "2", "3"]
        # The same images up to float32 rounding: conv kernels (and so their last bit) differ between CPUs.
        assert torch.allclose(gen.sample(6, seed=0)[0], expected, rtol=0.0, atol=1e-6)
    from ganaug.synth.filtering import load_discriminator

    d, spec = load_discriminator(DATA / "legacy_v1_checkpoint.pt")
    assert d.mbstd_group == 2 and d.twin is not None and spec["z_dim"] == 8


def test_legacy_checkpoint_resumes_bit_for_bit(tiny, tmp_path):
    import shutil

    from conftest import tiny_config

    cfg = dict(minibatch_std=2, aux_weight=0.5, aux_twin=True)
    straight, hist = ganaug.fit(tiny, tiny_config(steps=6, **cfg), progress=False)
    (tmp_path / "run").mkdir()
    shutil.copy(DATA / "legacy_v1_checkpoint.pt", tmp_path / "run" / "checkpoint.pt")
    resumed, hist_resumed = ganaug.fit(tiny, tiny_config(steps=6, **cfg), out_dir=tmp_path / "run", resume=True,
                                       progress=False)
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    print(max(float((a[k].double() - b[k].double()).abs().max()) for k in a))
    assert all(torch.allclose(a[k], b[k], rtol=0.0, atol=1e-5) for k in a)
    assert [h["step"] for h in hist_resumed] == [2, 4, 6]
    assert [h["d_loss"] for h in hist_resumed] == pytest.approx([h["d_loss"] for h in hist], rel=1e-5)


# ---- files of today's format (tests/data/v1_dcgan_*, written at commit 2fd7798, before the package
# moved into subpackages): a dcgan run with spectral norm, minibatch-std and the class head
def test_v1_dcgan_files_load_sample_and_resume(tiny, tmp_path):
    import shutil

    import numpy as np

    from conftest import tiny_config

    expected = torch.from_numpy(np.load(DATA / "v1_dcgan_samples.npy"))
    for name in ("v1_dcgan_checkpoint.pt", "v1_dcgan_generator.pt"):
        gen = ganaug.load_generator(DATA / name, device="cpu")
        assert gen.spec["arch"] == "dcgan" and gen.classes == ["0", "1", "2", "3"]
        # The same images up to float32 rounding: conv kernels (and so their last bit) differ between CPUs.
        assert torch.allclose(gen.sample(6, seed=0)[0], expected, rtol=0.0, atol=1e-6)
    from ganaug.synth.filtering import load_discriminator

    d, spec = load_discriminator(DATA / "v1_dcgan_checkpoint.pt")
    assert d.mbstd_group == 2 and d.classify is not None and d.twin is None and spec["width"] == 2
    cfg = dict(arch="dcgan", minibatch_std=2, aux_weight=0.5)

    def resume(steps: int, name: str):
        (tmp_path / name).mkdir()
        shutil.copy(DATA / "v1_dcgan_checkpoint.pt", tmp_path / name / "checkpoint.pt")
        return ganaug.fit(tiny, tiny_config(steps=steps, **cfg), out_dir=tmp_path / name, resume=True,
                          progress=False)

    # Resuming at the file's own step restores its (EMA) generator bit for bit: the state is read, not redone.
    at_4, hist_4 = resume(4, "at4")
    assert state_equal(at_4, ganaug.load_generator(DATA / "v1_dcgan_generator.pt", device="cpu"))
    # Two more steps: deterministic, and the run that trained from scratch here up to rounding. The file's
    # first steps ran on another CPU: conv rounding differs between CPUs, and Adam's first updates turn a
    # last-bit difference of a near-zero gradient into up to about lr (test_training checks bit-exact
    # resume on one machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the file's thread count
    try:
        straight, hist = ganaug.fit(tiny, tiny_config(steps=6, **cfg), progress=False)
        resumed, hist_resumed = resume(6, "a")
        again, _ = resume(6, "b")
    finally:
        torch.set_num_threads(threads)
    assert state_equal(resumed, again)
    assert [h["step"] for h in hist_resumed] == [2, 4, 6]
    assert hist_resumed[:2] == hist_4  # steps 2 and 4: the file's history
    assert [h["d_loss"] for h in hist_resumed] == pytest.approx([h["d_loss"] for h in hist], rel=1e-3)
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=0.0, atol=1e-2) for k in a)


# ---- hostile and broken files: refused before anything large is allocated
def _generator_file(tmp_path, spec=None, state=None, name="g.pt"):
    gen = build_generator(default_spec("mlp", (1, 8, 8), ["a", "b"], z_dim=4, width=1))
    obj = {"format": "ganaug.generator", "version": 1, "spec": json.dumps(spec or gen.spec),
           "state_dict": state if state is not None else gen.state_dict()}
    torch.save(obj, tmp_path / name)
    return tmp_path / name, gen


@pytest.mark.parametrize("change, match", [
    (dict(width=10 ** 6), r"invalid network spec \(width 1000000\)"),
    (dict(z_dim=0), r"invalid network spec \(z_dim 0\)"),
    (dict(z_dim=2.5), r"invalid network spec \(z_dim 2.5\)"),
    (dict(embed_dim=10 ** 9), r"embed_dim"),
    (dict(image_shape=[1, 100000, 100000]), r"image_shape"),
    (dict(image_shape=[2, 8, 8]), r"image_shape"),
    (dict(classes=[str(i) for i in range(20000)]), r"classes"),
    (dict(classes=[]), r"classes"),
    (dict(arch="os.system"), r"arch 'os.system'"),
    (dict(width=1024, z_dim=4096), r"parameters \(limit"),  # inside each limit, too big together
])
def test_hostile_specs_are_refused_before_building(tmp_path, change, match, monkeypatch):
    import ganaug.gan.models as models

    path, gen = _generator_file(tmp_path)
    spec = {**gen.spec, **change}
    _generator_file(tmp_path, spec=spec)
    built = []
    real = models.MLPGenerator.__init__

    def counting(self, *a, **k):
        built.append(str(torch.empty(0).device))
        return real(self, *a, **k)

    monkeypatch.setattr(models.MLPGenerator, "__init__", counting)
    with pytest.raises(CheckpointError, match=match):
        ganaug.load_generator(path, device="cpu")
    assert all(d == "meta" for d in built)  # nothing was built with real memory


def test_weights_that_do_not_match_the_spec(tmp_path):
    path, gen = _generator_file(tmp_path)
    state = gen.state_dict()
    state["embed.weight"] = torch.zeros(3, 3)
    _generator_file(tmp_path, state=state)
    with pytest.raises(CheckpointError, match=r"weights that do not match its spec"):
        ganaug.load_generator(path, device="cpu")
    _generator_file(tmp_path, state={"embed.weight": "x"})
    with pytest.raises(CheckpointError, match=r"no usable generator weights|not a readable"):
        ganaug.load_generator(path, device="cpu")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_weights_are_refused_on_load_and_on_save(tmp_path, value):
    path, gen = _generator_file(tmp_path)
    state = {k: v.clone() for k, v in gen.state_dict().items()}
    state["net.0.weight"][0, 0] = value
    _generator_file(tmp_path, state=state)
    with pytest.raises(CheckpointError, match=r"NaN/inf generator weights \('net.0.weight'\)"):
        ganaug.load_generator(path, device="cpu")
    gen.load_state_dict(state)
    with pytest.raises(FloatingPointError, match=r"NaN/inf; refusing to write"):
        gen.save(tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_zip_bomb_and_entry_flood_are_refused_unread(tmp_path, monkeypatch):
    import zipfile

    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb/data.pkl", b"\0" * (50 << 20))  # 50 MB of zeros in a ~50 KB file
    assert bomb.stat().st_size < 1 << 20
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or {})
    with pytest.raises(CheckpointError, match=r"inflating to 52,428,800 bytes from a"):
        safe_load(bomb)
    flood = tmp_path / "flood.pt"
    with zipfile.ZipFile(flood, "w") as z:
        for i in range(10_001):
            z.writestr(f"f/{i}", b"")
    with pytest.raises(CheckpointError, match=r"10,001 archive entries"):
        safe_load(flood)
    assert loads == []  # torch.load never saw either file


@pytest.mark.parametrize("content", [b"", b"\0" * 100, b"PK\x03\x04" + b"\xff" * 200, b"not a zip at all"])
def test_truncated_and_garbage_files(tmp_path, content):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
        ganaug.load_generator(tmp_path / "x.pt", device="cpu")


def test_truncated_real_checkpoint(tmp_path, gen):
    gen.save(tmp_path / "g.pt")
    data = (tmp_path / "g.pt").read_bytes()
    for cut in (len(data) // 3, len(data) - 30):
        (tmp_path / "t.pt").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=r"not a readable ganaug file"):
            ganaug.load_generator(tmp_path / "t.pt", device="cpu")


def test_disk_full_keeps_the_previous_file(tmp_path, gen, monkeypatch):
    import errno

    from ganaug.gan.checkpoint import DiskFullError

    gen.save(tmp_path / "g.pt")
    before = (tmp_path / "g.pt").read_bytes()
    real_save = torch.save

    def full(obj, f, *a, **k):
        f.write(b"partial data")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(DiskFullError, match=r"no space left on the device while writing .*previous file there"):
        gen.save(tmp_path / "g.pt")
    monkeypatch.setattr(torch, "save", real_save)
    assert (tmp_path / "g.pt").read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_disk_full_during_training_names_the_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    import errno

    import ganaug.gan.checkpoint as ck
    from conftest import tiny_config

    real_save, calls = torch.save, {"n": 0}

    def full_on_second(obj, f, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(ck.torch, "save", full_on_second)
    with pytest.raises(ck.DiskFullError, match=r"at step 4; the last good checkpoint \(step 2\) is intact.*resume"):
        ganaug.fit(tiny, tiny_config(steps=6, checkpoint_every=2), out_dir=tmp_path, progress=False)
    assert safe_load(tmp_path / "checkpoint.pt")["step"] == 2
    monkeypatch.setattr(ck.torch, "save", real_save)
    straight, _ = ganaug.fit(tiny, tiny_config(steps=6, checkpoint_every=2), progress=False)
    resumed, _ = ganaug.fit(tiny, tiny_config(steps=6, checkpoint_every=2), out_dir=tmp_path, resume=True,
                            progress=False)
    assert state_equal(straight, resumed)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_respect_the_umask(tmp_path, gen, umask):
    import os

    old = os.umask(umask)
    try:
        gen.save(tmp_path / "g.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "g.pt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_save_with_another_writer_leaves_no_half_file(tmp_path):
    import numpy as np

    from ganaug.gan.checkpoint import atomic_save

    path = tmp_path / "a.npz"
    atomic_save({"x": np.arange(3)}, path, write=lambda d, f: np.savez_compressed(f, **d))
    assert np.load(path)["x"].tolist() == [0, 1, 2]

    def broken(d, f):
        f.write(b"half")
        raise OSError("write failed")

    with pytest.raises(OSError, match="write failed"):
        atomic_save({"x": np.arange(5)}, path, write=broken)
    assert np.load(path)["x"].tolist() == [0, 1, 2] and sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]
