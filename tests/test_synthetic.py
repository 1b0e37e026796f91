import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import ganaug
from ganaug.gan.checkpoint import CheckpointError
from ganaug.gan.models import build_generator, default_spec
from ganaug.synth.synthetic import SyntheticDataset
from ganaug.data.transforms import to_uint8_hwc

CLASSES = ["a", "b", "c", "d"]


def make_gen(arch="mlp", shape=(1, 8, 8), classes=CLASSES, seed=0):
    torch.manual_seed(seed)
    return build_generator(default_spec(arch, shape, classes, z_dim=8, width=2)).eval()


@pytest.fixture
def gen():
    return make_gen()


def items_equal(a, b):
    return all(torch.equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b)) and len(a) == len(b)


def test_torchvision_contract(gen):
    ds = SyntheticDataset(gen, size=10, transform=lambda x: x * 0, target_transform=lambda t: t + 100)
    assert len(ds) == 10 and ds.classes == CLASSES and ds.class_to_idx == {"a": 0, "b": 1, "c": 2, "d": 3}
    image, target = ds[3]
    assert isinstance(target, int) and target == int(ds.targets[3]) + 100
    assert image.shape == (1, 8, 8) and float(image.abs().sum()) == 0
    assert ds.targets.dtype == torch.int64 and ds.targets.shape == (10,)
    text = repr(ds)
    assert "Number of datapoints: 10" in text and "Class counts: [3, 3, 2, 2]" in text and "Transform" in text
    with pytest.raises(IndexError):
        ds[10]
    assert torch.equal(ds[-1][0], ds[9][0])


def test_output_formats_agree(gen):
    tensor_ds = SyntheticDataset(gen, size=8)
    numpy_ds = SyntheticDataset(gen, size=8, output_format="numpy")
    pil_ds = SyntheticDataset(gen, size=8, output_format="pil")
    x, _ = tensor_ds[2]
    assert x.dtype == torch.float32 and x.shape == (1, 8, 8) and -1 <= float(x.min()) <= float(x.max()) <= 1
    arr, _ = numpy_ds[2]
    assert arr.dtype == np.uint8 and arr.shape == (8, 8, 1)
    assert np.array_equal(arr, to_uint8_hwc(x))
    im, _ = pil_ds[2]
    assert im.mode == "L" and im.size == (8, 8) and np.array_equal(np.asarray(im), arr[..., 0])
    rgb = SyntheticDataset(make_gen(shape=(3, 10, 12)), size=4, output_format="pil")[0][0]
    assert rgb.mode == "RGB" and rgb.size == (12, 10)


def test_class_control(gen):
    uniform = SyntheticDataset(gen, size=11)
    assert uniform.class_counts == [3, 3, 3, 2]
    counted = SyntheticDataset(gen, class_counts=[5, 0, 2, 1])
    assert len(counted) == 8 and torch.bincount(counted.targets, minlength=4).tolist() == [5, 0, 2, 1]
    assert SyntheticDataset(gen, class_counts={"b": 4, 3: 1}).class_counts == [0, 4, 0, 1]
    weighted = SyntheticDataset(gen, size=10, class_weights=[1, 1, 2, 0])
    assert weighted.class_counts == [3, 2, 5, 0] or weighted.class_counts == [2, 3, 5, 0]
    assert sum(weighted.class_counts) == 10
    # every item's label is its target, whichever way it is fetched
    assert [y for _, y in counted.__getitems__(list(range(8)))] == counted.targets.tolist()


def test_balance_to_fills_minorities(gen):
    x = torch.zeros(16, 8, 8, dtype=torch.uint8)
    y = torch.tensor([0] * 8 + [1] * 4 + [2] * 3 + [3] * 1)
    real = ganaug.load_dataset((x, y), classes=CLASSES)
    ds = SyntheticDataset(gen, balance_to=real)
    assert ds.class_counts == [0, 4, 5, 7]
    total = torch.bincount(torch.cat([real.targets, ds.targets]), minlength=4)
    assert total.tolist() == [8, 8, 8, 8]


def test_classes_are_interleaved(gen):
    ds = SyntheticDataset(gen, size=4000)
    first = torch.bincount(ds.targets[:100], minlength=4)
    assert int(first.min()) >= 20 and int(first.max()) <= 30  # any stretch has close to the overall mix


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_item_is_the_same_whatever_the_access(arch):
    g = make_gen(arch)
    ds = SyntheticDataset(g, size=1000, seed=3)
    order = torch.randperm(1000, generator=torch.Generator().manual_seed(0)).tolist()[:300]
    one_by_one = [ds[i] for i in order]
    fresh = SyntheticDataset(g, size=1000, seed=3)
    batched = fresh.__getitems__(order)  # scattered: generated together in one pass
    tiny_cache = SyntheticDataset(g, size=1000, seed=3, cache_mb=1e-6)
    reversed_items = [tiny_cache[i] for i in reversed(order)][::-1]
    assert items_equal(one_by_one, batched) and items_equal(one_by_one, reversed_items)
    assert not torch.equal(SyntheticDataset(g, size=1000, seed=4)[order[0]][0], one_by_one[0][0])


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_same_items_with_workers_and_batch_sizes(arch):
    ds = SyntheticDataset(make_gen(arch), size=700, seed=1)
    order = torch.randperm(700, generator=torch.Generator().manual_seed(1)).tolist()
    direct = torch.stack([ds[i][0] for i in order])

    def through(batch_size, workers):
        loader = DataLoader(ds, batch_size=batch_size, sampler=order, num_workers=workers)
        xs, ys = zip(*loader)
        return torch.cat(xs), torch.cat(ys)

    x0, y0 = through(32, 0)
    x2, y2 = through(7, 2)
    assert torch.equal(x0, direct) and torch.equal(x2, direct)
    assert torch.equal(y0, ds.targets[order]) and torch.equal(y2, y0)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_same_items_whatever_the_thread_count(arch):
    # MNIST-sized generators, so that the matrix kernels do split their work between threads
    torch.manual_seed(0)
    g = build_generator(default_spec(arch, (1, 28, 28), CLASSES, z_dim=64, width=16)).eval()
    order = torch.randperm(2000, generator=torch.Generator().manual_seed(2)).tolist()[:300]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        items = {k: SyntheticDataset(g, size=2000, seed=5, num_threads=k).__getitems__(order) for k in (1, 2, None)}
        auto = SyntheticDataset(g, size=2000, seed=5)
        for start in range(0, 300, 10):  # many small passes: the chooser times and switches counts
            assert items_equal(auto.__getitems__(order[start:start + 10]), items[1][start:start + 10])
        assert torch.get_num_threads() == 2  # restored after generating
        assert set(auto._threads.seconds) == {1, 2}  # both counts were timed
    finally:
        torch.set_num_threads(before)
    assert items_equal(items[1], items[2]) and items_equal(items[1], items[None])


def test_cpu_amp_warns_where_the_cpu_emulates_bf16(gen, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr("ganaug._device.platform.machine", lambda: "x86_64")
    with pytest.warns(RuntimeWarning, match="cpu_amp=True: this CPU has no native bf16 math") as caught:
        SyntheticDataset(gen, size=4, cpu_amp=True)
    assert caught[0].filename == __file__


def test_cpu_amp_is_bf16_rounding_of_the_same_images_and_as_deterministic():
    torch.manual_seed(0)
    g = build_generator(default_spec("mlp", (1, 28, 28), CLASSES, z_dim=64, width=16)).eval()
    order = torch.randperm(2000, generator=torch.Generator().manual_seed(3)).tolist()[:200]
    full = torch.stack([x for x, _ in SyntheticDataset(g, size=2000, seed=5).__getitems__(order)])
    amp = SyntheticDataset(g, size=2000, seed=5, cpu_amp=True)
    half = torch.stack([x for x, _ in amp.__getitems__(order)])
    assert half.dtype == torch.float32 and not torch.equal(half, full)
    assert (half - full).abs().max() < 0.05  # bf16 rounding, not other images
    # a pure function of the item: one by one, in other batches, with other thread counts
    assert torch.equal(torch.stack([amp[i][0] for i in order[:20]]), half[:20])
    assert torch.equal(torch.stack([x for x, _ in amp.__getitems__(order[::-1])]), half.flip(0))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        two = SyntheticDataset(g, size=2000, seed=5, cpu_amp=True, num_threads=2).__getitems__(order)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(torch.stack([x for x, _ in two]), half)
    assert "bf16 on the CPU" in repr(amp) and "bf16" not in repr(SyntheticDataset(g, size=20))


def test_generation_is_batched_and_cached(gen):
    calls = []
    ds = SyntheticDataset(gen, size=100_000, cache_mb=1)  # 32 blocks: the dataset does not fit
    ds.generator.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    for _ in DataLoader(torch.utils.data.Subset(ds, range(256)), batch_size=32):
        pass
    assert calls == [128, 128]  # two blocks for 256 sequential items, each generated once
    calls.clear()
    scattered = torch.randperm(100_000, generator=torch.Generator().manual_seed(0))[:100].tolist()
    ds.__getitems__(scattered)
    assert calls == [128]  # 100 shuffled items: one pass, not one block per item


def test_ten_million_items_stay_virtual(gen):
    ds = SyntheticDataset(gen, size=10_000_000, cache_mb=1)
    image, target = ds[9_999_999]
    assert image.shape == (1, 8, 8) and target in range(4)
    for start in range(0, 40_000, 500):
        ds.__getitems__(list(range(start, start + 500)))
    cached = sum(images.numel() * 4 for images, _ in ds._cache.values())
    assert len(ds._cache) <= ds._cache_blocks and cached <= 2**20
    assert ds.class_counts == [2_500_000] * 4


def test_resample_gives_new_images_same_labels(gen):
    ds = SyntheticDataset(gen, size=50)
    before = [ds[i] for i in range(50)]
    ds.resample()
    assert ds.epoch == 1
    after = [ds[i] for i in range(50)]
    assert [y for _, y in before] == [y for _, y in after]
    assert not any(torch.equal(a[0], b[0]) for a, b in zip(before, after))
    assert items_equal([ds.resample(0)[i] for i in range(50)], before)


def test_truncated_noise_is_bounded_deterministic_and_order_free(gen, monkeypatch):
    from ganaug.synth import synthetic

    z = synthetic._truncated_gaussian(torch.arange(5000), 8, key=7, bound=1.0)  # (5000, 8)
    assert z.abs().max() <= 1.0 and abs(z.std().item() - 0.538) < 0.01  # std of N(0, 1) cut at +-1
    torch.testing.assert_close(synthetic._truncated_gaussian(torch.arange(4990, 5000), 8, 7, 1.0), z[4990:])
    seen = []
    monkeypatch.setattr(synthetic, "run_in_blocks", lambda fn, z, y, device: seen.append(z) or fn(z, y))
    ds = SyntheticDataset(gen, size=300, truncation=0.5)
    items = [ds[i] for i in (299, 0, 150)]
    assert all(z.abs().max() <= 0.5 for z in seen)
    assert items_equal(items, [SyntheticDataset(gen, size=300, truncation=0.5)[i] for i in (299, 0, 150)])
    assert not torch.equal(items[1][0], SyntheticDataset(gen, size=300)[0][0])
    assert "truncation: |z| <= 0.5" in repr(ds)


def test_pickles_without_its_cache(gen):
    ds = SyntheticDataset(gen, size=300, output_format="numpy")
    first = ds[5]
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone._cache) == 0 and np.array_equal(clone[5][0], first[0])


def test_loads_a_saved_generator(gen, tmp_path):
    gen.save(tmp_path / "g.pt")
    assert torch.equal(SyntheticDataset(tmp_path / "g.pt", size=8)[3][0], SyntheticDataset(gen, size=8)[3][0])


def test_bad_generator(tmp_path, gen):
    with pytest.raises(TypeError, match="generator: expected a ConditionalGenerator.*got None"):
        SyntheticDataset(None, size=5)
    with pytest.raises(CheckpointError, match="no file"):
        SyntheticDataset(tmp_path / "missing.pt", size=5)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable ganaug file"):
        SyntheticDataset(str(tmp_path / "junk.pt"), size=5)
    with torch.no_grad():
        next(gen.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="generator: expected finite weights"):
        SyntheticDataset(gen, size=5)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(size=0), ValueError, r"size: expected an integer >= 1, got 0"),
    (dict(size=2.5), TypeError, r"size: expected an integer, got 2.5"),
    (dict(), ValueError, r"size: expected the number of items"),
    (dict(class_counts=[1, -2, 0, 0]), ValueError, r"class_counts\['b'\]: expected an integer >= 0, got -2"),
    (dict(class_counts=[1, 1.5, 0, 0]), TypeError, r"class_counts\['b'\]: expected an integer, got 1.5"),
    (dict(class_counts=[1, 2]), ValueError, r"class_counts: expected 4 counts"),
    (dict(class_counts={"zebra": 2}), ValueError, r"class_counts: expected keys that are class names"),
    (dict(class_counts=[0, 0, 0, 0]), ValueError, r"class_counts: expected a total of at least 1"),
    (dict(class_counts=[1, 1, 1, 1], size=5), ValueError, r"size: expected the sum of class_counts \(4\)"),
    (dict(size=4, class_weights=[1, -1, 0, 0]), ValueError, r"class_weights\['b'\]: expected a number in \[0"),
    (dict(class_weights=[1, 1, 1, 1]), ValueError, r"size: expected the total number of items"),
    (dict(size=4, class_counts=[1, 1, 1, 1], class_weights=[1, 1, 1, 1]), ValueError, "at most one way"),
    (dict(size=4, output_format="jpeg"), ValueError, r"output_format: expected one of 'tensor', 'numpy', 'pil'"),
    (dict(size=4, transform="flip"), TypeError, r"transform: expected a callable"),
    (dict(size=4, max_tries=0), ValueError, r"max_tries: expected an integer >= 1"),
    (dict(size=4, num_threads=0), ValueError, r"num_threads: expected an integer >= 1, got 0. Pass num_threads >= 1"),
    (dict(size=4, num_threads="auto"), TypeError, r"num_threads: expected an integer, got 'auto'"),
    (dict(size=4, quality_filter="strict"), TypeError, r"quality_filter: expected a ganaug.SampleFilter"),
    (dict(size=4, truncation=0.0), ValueError, r"truncation: expected a number in \(0.0, .*Pass a bound > 0 on \|z\|"),
    (dict(size=4, truncation="1"), TypeError, r"truncation: expected a number"),
    (dict(size=4, cpu_amp="yes"), TypeError, r"cpu_amp: expected True or False, got 'yes'. Pass cpu_amp=True"),
])
def test_bad_arguments(gen, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SyntheticDataset(gen, **kwargs)


def test_balance_to_mismatch(gen, tiny):
    other = ganaug.load_dataset((tiny.images, tiny.targets), classes=["w", "x", "y", "z"])
    with pytest.raises(ValueError, match=r"balance_to classes: expected the generator's classes \['a'"):
        SyntheticDataset(gen, balance_to=other)
    same = ganaug.load_dataset((tiny.images, tiny.targets), classes=CLASSES)
    with pytest.raises(ValueError, match="balance_to: expected an imbalanced dataset"):
        SyntheticDataset(gen, balance_to=same)
    with pytest.raises(ValueError, match="size: expected None together with balance_to"):
        SyntheticDataset(gen, size=3, balance_to=same)
    with pytest.raises(TypeError, match="index: expected an integer"):
        SyntheticDataset(gen, size=3)["0"]
