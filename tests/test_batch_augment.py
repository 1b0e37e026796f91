import albumentations as A
import numpy as np
import pytest
import torch

import ganaug
from ganaug.data.batch_augment import DigitAugment, _blur_matrix
from ganaug.data.transforms import AlbumentationsAdapter


@pytest.fixture(scope="module")
def digits28(digits):
    # The embedded 8x8 digits, upsampled to MNIST's 28x28: (N, 1, 28, 28) in [-1, 1], black background.
    x = digits.images[:128]
    return torch.nn.functional.interpolate(x, size=28, mode="bilinear", align_corners=False).clamp(-1, 1)


def test_identity_when_nothing_is_drawn(digits28):
    out = DigitAugment(28, p_affine=0.0, p_elastic=0.0)(digits28)
    torch.testing.assert_close(out, digits28, atol=1e-5, rtol=0)


def test_shape_range_one_image_and_seeding(digits28):
    out = DigitAugment(28, seed=3)(digits28)
    assert out.shape == digits28.shape and out.dtype == digits28.dtype
    assert out.min() >= -1 - 1e-6 and out.max() <= 1 + 1e-6
    assert not torch.equal(out, digits28)
    torch.testing.assert_close(DigitAugment(28, seed=3)(digits28), out, atol=0, rtol=0)  # same seed, same draws
    assert not torch.equal(DigitAugment(28, seed=4)(digits28), out)
    state = torch.get_rng_state()
    single = DigitAugment(28, seed=3)(digits28[0])  # (C, H, W) in, (C, H, W) out
    assert single.shape == digits28[0].shape
    assert torch.equal(torch.get_rng_state(), state)  # its own generator: the global RNG is untouched


def test_translation_moves_the_border_in_black():
    x = torch.ones(4, 1, 28, 28)  # all white: only the filled border can be dark
    out = DigitAugment(28, rotate=0, shear=0, scale=(1, 1), translate=0.2, p_affine=1.0, p_elastic=0.0)(x)
    dark = (out < 0).flatten(1).float().mean(1)  # (4,) share of border fill
    assert (dark > 0).all() and (dark < 0.45).all()


@pytest.mark.parametrize("kind", ["affine", "elastic"])
def test_distortion_strength_matches_albumentations(digits28, kind):
    # DigitAugment mirrors digit_augmentation: the mean pixel change it makes is that of albumentations'.
    if kind == "affine":
        ours = DigitAugment(28, seed=0, p_affine=1.0, p_elastic=0.0)
        theirs = A.Affine(rotate=(-12, 12), shear=(-8, 8), scale=(0.9, 1.1), translate_percent=(-0.08, 0.08),
                          border_mode=0, fill=0, p=1.0)
    else:
        ours = DigitAugment(28, seed=0, p_affine=0.0, p_elastic=1.0)
        theirs = A.ElasticTransform(alpha=34, sigma=4, border_mode=0, fill=0, p=1.0)
    adapter = AlbumentationsAdapter(A.Compose([theirs], seed=0))
    change_ours = (ours(digits28) - digits28).abs().mean().item()
    change_theirs = (torch.stack([adapter(img) for img in digits28]) - digits28).abs().mean().item()
    assert 0.75 < change_ours / change_theirs < 1.33, (change_ours, change_theirs)


def test_blur_matrix_rows_sum_to_one():
    m = _blur_matrix(28, 4.0)
    torch.testing.assert_close(m.sum(1), torch.ones(28))
    assert m[14, 14] > m[14, 20] > 0  # a Gaussian around the diagonal


def test_bad_input():
    with pytest.raises(TypeError, match="x: expected a float tensor"):
        DigitAugment()(np.zeros((1, 28, 28)))
    with pytest.raises(TypeError, match="x: expected a float tensor"):
        DigitAugment()(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"scale: expected a \(low, high\) pair"):
        DigitAugment(scale=(1.1, 0.9))
    with pytest.raises(ValueError, match="p_elastic"):
        DigitAugment(p_elastic=1.5)
    with pytest.raises(ValueError, match="sigma"):
        DigitAugment(sigma=0)


def test_train_classifier_augments_every_batch(tiny):
    seen = []

    def augment(x):
        seen.append(tuple(x.shape))
        return x.flip(-1)

    ganaug.train_classifier(tiny, steps=3, batch_size=16, width=4, augment=augment)
    assert seen == [(16, 1, 8, 8), (16, 1, 8, 8), (8, 1, 8, 8)]  # 40 images: the last batch is short
    plain = ganaug.train_classifier(tiny, steps=3, batch_size=16, width=4)
    batched = ganaug.train_classifier(tiny, steps=3, batch_size=16, width=4, augment=ganaug.DigitAugment(8))
    assert not torch.equal(plain.head[1].weight, batched.head[1].weight)
    with pytest.raises(TypeError, match="augment: expected a callable"):
        ganaug.train_classifier(tiny, steps=1, augment="default")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_gpu(digits28):
    out = DigitAugment(28, seed=0)(digits28.cuda())
    assert out.is_cuda
    torch.testing.assert_close(out.cpu(), DigitAugment(28, seed=0)(digits28), atol=1e-4, rtol=0)
