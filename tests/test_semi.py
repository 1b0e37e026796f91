import numpy as np
import pytest
import torch
from conftest import state_equal, tiny_config

import ganaug
from ganaug.classify import semi
from ganaug.data.datasets import fingerprint

# 5 labelled digits per class, the other 1,747 as the pool; small, fast classifiers (no augmentation).
FAST = dict(threshold=0.9, steps=250, width=16, batch_size=32, augmentation=None, seed=0)


@pytest.fixture(scope="module")
def split():
    full = ganaug.load_dataset("digits")
    labelled, pool = ganaug.load_dataset("digits", n_per_class=5, seed=0, unlabelled="rest")
    truth = full.targets[~semi._copies_of(full.images, labelled.images)]  # hidden labels of the pool, (M,)
    return labelled, pool, truth


@pytest.fixture(scope="module")
def two_rounds(split):
    return ganaug.pseudo_label(*split[:2], rounds=2, **FAST)


def test_load_dataset_rest_is_the_subset_plus_the_other_images_without_labels(digits):
    labelled, pool = ganaug.load_dataset("digits", n_per_class=5, seed=3, unlabelled="rest")
    subset = ganaug.stratified_subset(digits, 5, seed=3)
    assert torch.equal(labelled.images, subset.images) and torch.equal(labelled.targets, subset.targets)
    assert isinstance(pool, torch.Tensor) and pool.shape == (len(digits) - 50, 1, 8, 8)
    in_labelled = semi._copies_of(digits.images, labelled.images)
    assert torch.equal(pool, digits.images[~in_labelled])  # every other image, in the data's order
    assert not semi._copies_of(pool, labelled.images).any()


def test_load_dataset_rest_errors(digits):
    with pytest.raises(ValueError, match="unlabelled: expected 'rest' or None"):
        ganaug.load_dataset("digits", n_per_class=5, unlabelled="all")
    with pytest.raises(ValueError, match="n_per_class: expected the number of labelled images per class"):
        ganaug.load_dataset("digits", unlabelled="rest")
    tiny = ganaug.load_dataset((np.zeros((4, 8, 8), np.uint8), np.array([0, 0, 1, 1])))
    with pytest.raises(ValueError, match="some are left for the pool"):
        ganaug.load_dataset(tiny, n_per_class=2, unlabelled="rest")


def test_pseudo_labels_are_mostly_right_and_confident(split, two_rounds):
    labelled, pool, truth = split
    r = two_rounds
    assert r.n_labelled == 50 and len(r.data) == 50 + r.n_pseudo
    assert torch.equal(r.data.images[:50], labelled.images) and torch.equal(r.data.targets[:50], labelled.targets)
    assert torch.equal(r.pseudo.images, pool[r.pool_index])
    assert r.n_pseudo >= 300  # a large share of the pool joins the 50 labels
    assert (r.pseudo.targets == truth[r.pool_index]).float().mean() >= 0.97
    assert (r.confidence >= FAST["threshold"]).all()
    assert [s["round"] for s in r.rounds] == [1, 2]
    assert sum(r.rounds[-1]["per_class"]) == r.rounds[-1]["kept"] == r.n_pseudo
    assert r.rounds[-1]["per_class"] == torch.bincount(r.pseudo.targets, minlength=10).tolist()
    # The self-trained classifier beats chance by far on the pool's hidden labels.
    assert (ganaug.predict_proba(r.classifier, pool).argmax(1) == truth).float().mean() >= 0.8


def test_each_round_relabels_the_pool_with_the_previous_rounds_classifier(split, two_rounds):
    labelled, pool, _ = split
    assert len(two_rounds.classifiers) == 3 and two_rounds.classifier is two_rounds.classifiers[-1]
    conf, pred = ganaug.predict_proba(two_rounds.classifiers[1], pool).max(dim=1)
    keep, _ = semi._select(conf, pred, torch.ones(len(pool), dtype=torch.bool), FAST["threshold"], 10, 1.5)
    assert torch.equal(two_rounds.pool_index, keep)
    assert torch.equal(two_rounds.pseudo.targets, pred[keep])


def test_seeded_runs_are_identical(split, two_rounds):
    again = ganaug.pseudo_label(*split[:2], rounds=1, **FAST)  # the same seed: the same first round
    assert again.rounds[0] == two_rounds.rounds[0]
    for a, b in zip(again.classifiers, two_rounds.classifiers):
        assert state_equal(a, b)
    # The round-0 classifier is the labelled images' own: trained on them alone.
    plain = ganaug.train_classifier(split[0], steps=FAST["steps"], width=16, batch_size=32, lr_schedule="cosine")
    assert state_equal(plain, two_rounds.classifiers[0])


def test_threshold_and_class_cap():
    # Class 0: 10 images at 0.91..1.0; class 1: two at 0.95; class 2: two at 0.99 and one at 0.5.
    conf = torch.tensor([0.91 + 0.01 * i for i in range(10)] + [0.95, 0.95, 0.99, 0.99, 0.5])
    pred = torch.tensor([0] * 10 + [1, 1, 2, 2, 2])
    every = torch.ones(15, dtype=torch.bool)
    keep, above = semi._select(conf, pred, every, 0.9, 3, None)
    assert above == 14 and keep.tolist() == list(range(14))
    keep, above = semi._select(conf, pred, every, 0.96, 3, None)
    assert keep.tolist() == [5, 6, 7, 8, 9, 12, 13]
    # Median kept count 2, ratio 1.5 -> at most 3 per class: class 0 keeps its 3 most confident.
    keep, above = semi._select(conf, pred, every, 0.9, 3, 1.5)
    assert above == 14 and keep.tolist() == [7, 8, 9, 10, 11, 12, 13]
    # Half of the classes have nothing confident (lower median 0): nothing is kept.
    assert semi._select(conf, pred, every, 0.9, 6, 1.5)[0].numel() == 0
    assert semi._select(conf, pred, every, 0.9, 5, 1.5)[0].numel() == 7  # 2 of 5 empty: median 2
    # Non-candidates (copies of labelled images) are never kept.
    assert 9 not in semi._select(conf, pred, torch.arange(15) != 9, 0.9, 3, None)[0].tolist()


def test_pool_formats(split, tmp_path):
    from PIL import Image

    labelled, pool, _ = split
    u8 = ganaug.data.transforms.to_uint8_hwc(pool[:6])  # (6, 8, 8, 1)
    expected = ganaug.load_dataset((u8[..., 0], np.zeros(6, np.int64))).images
    (tmp_path / "a").mkdir()
    for i, img in enumerate(u8):
        Image.fromarray(img[..., 0]).save(tmp_path / ("a" if i % 2 else "") / f"{i}.png")
    from_folder = semi.load_pool(tmp_path, labelled)  # files sorted by path: 0, 2, 4, a/1, a/3, a/5
    assert torch.equal(from_folder, expected[[0, 2, 4, 1, 3, 5]])
    assert torch.equal(semi.load_pool(u8[..., 0], labelled), expected)  # uint8 (N, H, W)
    assert torch.equal(semi.load_pool(pool[:6], labelled), pool[:6])  # [-1, 1] tensors stay bit-exact
    assert torch.equal(semi.load_pool(torch.utils.data.TensorDataset(pool[:6]), labelled), pool[:6])
    assert torch.equal(semi.load_pool(labelled, labelled), labelled.images)  # labels ignored


def test_bad_pools_and_arguments(split, tmp_path):
    labelled = split[0]
    with pytest.raises(ValueError, match="unlabelled: expected at least one image, got 'an empty pool"):
        ganaug.pseudo_label(labelled, torch.empty(0, 1, 8, 8))
    with pytest.raises(ValueError, match="unlabelled: expected at least one image"):
        ganaug.pseudo_label(labelled, tmp_path)  # a folder without images
    with pytest.raises(ValueError, match=r"unlabelled: expected images of shape \(1, 8, 8\).*\(1, 16, 16\)"):
        ganaug.pseudo_label(labelled, torch.zeros(4, 1, 16, 16))
    with pytest.raises(ValueError, match="unlabelled: images: expected shape"):
        ganaug.pseudo_label(labelled, np.zeros((4, 64)))
    with pytest.raises(ValueError, match="unlabelled='rest'"):
        ganaug.pseudo_label(labelled, "rest")
    with pytest.raises(ganaug.DatasetNotFoundError, match="unlabelled: .* is not an existing folder"):
        ganaug.pseudo_label(labelled, tmp_path / "missing")
    with pytest.raises(TypeError, match="unlabelled: expected a tensor/array of images"):
        ganaug.pseudo_label(labelled, 42)
    with pytest.raises(ValueError, match="threshold: expected a number in"):
        ganaug.pseudo_label(labelled, split[1], threshold=0)
    with pytest.raises(ValueError, match="rounds: expected an integer >= 1"):
        ganaug.pseudo_label(labelled, split[1], rounds=0)
    with pytest.raises(ValueError, match="max_class_ratio: expected a number in"):
        ganaug.pseudo_label(labelled, split[1], max_class_ratio=0.5)
    with pytest.raises(TypeError, match="augmentation: expected 'default', 'batch', None or a callable"):
        ganaug.pseudo_label(labelled, split[1], augmentation="strong")
    for bad in ((40, 3000), (40, 3000, 1000), (0, 1, 2), "40"):
        with pytest.raises(ValueError, match=r"schedule: expected \(epochs, min_steps, max_steps\)"):
            ganaug.pseudo_label(labelled, split[1], schedule=bad)


def test_default_steps_follow_the_schedule_rule(split, monkeypatch):
    steps = []
    real = semi.train_classifier
    monkeypatch.setattr(semi, "train_classifier", lambda data, **k: steps.append(k["steps"]) or real(data, **k))
    r = ganaug.pseudo_label(*split[:2], rounds=1, threshold=0.05, schedule=(1, 5, 8), width=4, batch_size=16,
                            augmentation=None, max_class_ratio=None)
    # 1 epoch of the 50 labelled images is 4 batches, raised to 5; of the union (> 128 images), capped at 8.
    assert len(r.data) > 128 and steps == [5, 8]


def test_a_pool_holding_the_labelled_images_warns_and_skips_them(split, digits):
    labelled = split[0]
    with pytest.warns(UserWarning, match="unlabelled: 50 of the 1797 pool images are exact copies"):
        r = ganaug.pseudo_label(labelled, digits.images, rounds=1, threshold=0.5, steps=5, width=4,
                                augmentation=None)
    copies = semi._copies_of(digits.images, labelled.images).nonzero().flatten()
    assert not set(copies.tolist()) & set(r.pool_index.tolist())


def test_default_augmentation_is_seeded(split):
    labelled, pool, _ = split
    runs = [ganaug.pseudo_label(labelled, pool[:200], rounds=1, threshold=0.5, steps=20, width=4, batch_size=16)
            for _ in range(2)]
    assert state_equal(runs[0].classifier, runs[1].classifier)
    plain = ganaug.pseudo_label(labelled, pool[:200], rounds=1, threshold=0.5, steps=20, width=4, batch_size=16,
                                augmentation=None)
    assert not state_equal(plain.classifier, runs[0].classifier)  # the augmentation was applied


def test_batch_augmentation_is_seeded_and_differs_from_the_default(split):
    labelled, pool, _ = split
    kw = dict(rounds=1, threshold=0.5, steps=20, width=4, batch_size=16)
    runs = [ganaug.pseudo_label(labelled, pool[:200], augmentation="batch", **kw) for _ in range(2)]
    assert state_equal(runs[0].classifier, runs[1].classifier)
    for other in (None, "default"):
        assert not state_equal(ganaug.pseudo_label(labelled, pool[:200], augmentation=other, **kw).classifier,
                               runs[0].classifier)


PL = dict(rounds=1, threshold=0.8, steps=150, width=16, batch_size=32, augmentation=None)


def test_fit_on_labelled_plus_pool_trains_resumes_bit_exactly_and_samples(split, tmp_path, monkeypatch):
    labelled, pool, _ = split
    cfg = tiny_config(checkpoint_every=3)
    gen_a, _ = ganaug.fit(labelled, cfg, out_dir=tmp_path / "a", progress=False, unlabelled=pool,
                          pseudo_label_kwargs=PL)
    saved = torch.load(tmp_path / "a" / "pseudo_labels.pt", weights_only=True)
    assert saved["n_labelled"] == 50 and saved["n_pseudo"] > 50
    union = ganaug.LabelledImages(torch.cat([labelled.images, pool[saved["pool_index"]]]),
                                  torch.cat([labelled.targets, saved["targets"]]), labelled.classes)
    ckpt = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    assert ckpt["data"] == fingerprint(union)  # the GAN trained on labelled + pseudo-labelled images
    assert ckpt["data"] == fingerprint(ganaug.pseudo_label(labelled, pool, seed=cfg.seed, **PL).data)

    ganaug.fit(labelled, tiny_config(steps=3), out_dir=tmp_path / "b", progress=False, unlabelled=pool,
               pseudo_label_kwargs=PL)

    def no_retraining(*a, **k):
        raise AssertionError("a resume reads the stored pseudo-labels")

    monkeypatch.setattr(semi, "pseudo_label", no_retraining)
    gen_b, _ = ganaug.fit(labelled, cfg, out_dir=tmp_path / "b", resume=True, progress=False, unlabelled=pool,
                          pseudo_label_kwargs=PL)
    assert state_equal(gen_a, gen_b)
    with pytest.raises(ValueError, match="unlabelled: expected the labelled images, pool and pseudo_label_kwargs"):
        ganaug.fit(labelled, cfg, out_dir=tmp_path / "b", resume=True, progress=False, unlabelled=pool,
                   pseudo_label_kwargs={**PL, "threshold": 0.9})
    with pytest.raises(ValueError, match="out_dir: expected a new or empty folder"):  # refused before pseudo-labelling
        ganaug.fit(labelled, cfg, out_dir=tmp_path / "b", progress=False, unlabelled=pool, pseudo_label_kwargs=PL)
    with pytest.raises(TypeError, match="pseudo_label_kwargs: expected options of pseudo_label"):
        ganaug.fit(labelled, cfg, progress=False, unlabelled=pool, pseudo_label_kwargs={"labelled": labelled})

    synthetic = ganaug.SyntheticDataset(gen_b, size=20, seed=0)
    image, label = synthetic[0]
    assert len(synthetic) == 20 and image.shape == (1, 8, 8) and 0 <= label < 10
