import importlib.util
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from albumentations.pytorch import ToTensorV2
from PIL import Image
from torchvision.transforms import v2

from ganaug.data.datasets import LabelledImages
from ganaug.gan.models import build_generator, default_spec
from ganaug.synth.synthetic import SyntheticDataset
from ganaug.data.transforms import AlbumentationsAdapter, ToGanaugTensor, digit_augmentation, to_ganaug_tensor, to_uint8_hwc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def u8():
    return np.random.default_rng(0).integers(0, 256, size=(6, 5, 3), dtype=np.uint8)  # (H, W, C)


def test_round_trips_are_exact(u8):
    x = to_ganaug_tensor(u8)
    assert x.shape == (3, 6, 5) and x.dtype == torch.float32 and float(x.min()) >= -1 and float(x.max()) <= 1
    assert np.array_equal(to_uint8_hwc(x), u8)
    assert torch.equal(to_ganaug_tensor(Image.fromarray(u8)), x)
    assert torch.equal(to_ganaug_tensor(torch.from_numpy(u8).permute(2, 0, 1)), x)  # uint8 (C, H, W)
    grey = to_ganaug_tensor(Image.fromarray(u8[..., 0]))
    assert grey.shape == (1, 6, 5) and torch.equal(grey, to_ganaug_tensor(u8[..., 0]))
    assert torch.equal(ToGanaugTensor()(x), x)  # float tensors are ganaug's format already
    assert to_uint8_hwc(torch.zeros(2, 1, 4, 4)).shape == (2, 4, 4, 1)


def test_adapter_accepts_every_format(u8):
    flip = AlbumentationsAdapter(A.Compose([A.HorizontalFlip(p=1.0)]))
    expected = to_ganaug_tensor(u8[:, ::-1].copy())
    for item in (u8, Image.fromarray(u8), to_ganaug_tensor(u8), torch.from_numpy(u8).permute(2, 0, 1)):
        out = flip(item)
        assert isinstance(out, torch.Tensor) and torch.equal(out, expected)
    assert np.array_equal(AlbumentationsAdapter(A.HorizontalFlip(p=1.0), to_tensor=False)(u8), u8[:, ::-1])
    normalised = AlbumentationsAdapter(A.Compose([A.Normalize(mean=0.5, std=0.5, max_pixel_value=255.0)]))(u8)
    assert normalised.shape == (3, 6, 5) and torch.allclose(normalised, expected.flip(-1), atol=1e-6)
    own = AlbumentationsAdapter(A.Compose([ToTensorV2()]))(u8)  # the pipeline's own tensor: untouched
    assert own.dtype == torch.uint8 and own.shape == (3, 6, 5)
    assert "HorizontalFlip" in repr(flip)


def test_one_pipeline_for_real_and_synthetic():
    torch.manual_seed(0)
    gen = build_generator(default_spec("mlp", (1, 8, 8), ["a", "b"], z_dim=4, width=2))
    aug = AlbumentationsAdapter(A.Compose([A.Affine(rotate=(-15, 15), p=1.0), A.RandomBrightnessContrast(p=1.0)]))
    real = LabelledImages(torch.rand(4, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 0, 1]), ["a", "b"], transform=aug)
    for fmt in ("tensor", "numpy", "pil"):
        synth = SyntheticDataset(gen, size=4, output_format=fmt, transform=aug)
        for x, _ in (real[0], synth[0]):
            assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and -1 <= float(x.min()) <= float(x.max()) <= 1


def test_torchvision_v2_works_directly():
    torch.manual_seed(0)
    gen = build_generator(default_spec("mlp", (1, 8, 8), ["a", "b"], z_dim=4, width=2))
    plain = SyntheticDataset(gen, size=4)
    flipped = SyntheticDataset(gen, size=4, transform=v2.RandomHorizontalFlip(p=1.0))
    assert torch.equal(flipped[1][0], plain[1][0].flip(-1))
    pil = SyntheticDataset(gen, size=4, output_format="pil",
                           transform=v2.Compose([v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)]))
    assert torch.allclose(pil[1][0], (plain[1][0] + 1) / 2, atol=0.5 / 255 + 1e-6)


def test_bad_input(u8):
    with pytest.raises(TypeError, match="pipeline: expected an albumentations transform or Compose"):
        AlbumentationsAdapter(v2.RandomHorizontalFlip())
    with pytest.raises(TypeError, match="to_tensor: expected True or False"):
        AlbumentationsAdapter(A.HorizontalFlip(), to_tensor="yes")
    with pytest.raises(TypeError, match="image: expected a uint8 numpy array"):
        to_ganaug_tensor(u8.astype(np.float32))
    with pytest.raises(TypeError, match="image: expected a PIL image, a uint8 numpy array"):
        to_ganaug_tensor([1, 2, 3])
    with pytest.raises(ValueError, match=r"image: expected a tensor \(C, H, W\) with C in \{1, 3\}, got \(2, 1, 8, 8\)"):
        to_ganaug_tensor(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"image: expected a numpy array \(H, W\) or \(H, W, C\)"):
        to_ganaug_tensor(np.zeros((4, 4, 5), dtype=np.uint8))
    with pytest.raises(TypeError, match="image: expected a float tensor in"):
        to_ganaug_tensor(torch.zeros(1, 4, 4, dtype=torch.int32))


def test_example_runs_at_tiny_size():
    spec = importlib.util.spec_from_file_location("albumentations_synthetic",
                                                  ROOT / "examples" / "albumentations_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--tiny"])
    assert 0.0 <= result["val_accuracy_real_plus_synthetic"] <= 1.0
    assert result["n_real"] == 50 and result["n_synthetic_per_epoch"] == 50


def test_augmented_copies(tiny):
    from ganaug.data.transforms import AlbumentationsAdapter, augmented_copies

    def adapter():
        return AlbumentationsAdapter(A.Compose([A.Affine(rotate=(-30, 30), p=1.0)], seed=3))

    out = augmented_copies(tiny, adapter(), copies=2)
    assert isinstance(out, LabelledImages) and len(out) == 120 and out.classes == tiny.classes
    assert torch.equal(out.images[:40], tiny.images) and torch.equal(out.targets, tiny.targets.repeat(3))
    assert not torch.equal(out.images[40:80], tiny.images) and not torch.equal(out.images[40:80], out.images[80:])
    assert out.images.min() >= -1 and out.images.max() <= 1
    assert torch.equal(augmented_copies(tiny, adapter(), copies=2).images, out.images)  # seeded pipeline: same copies
    assert len(augmented_copies(tiny, adapter(), copies=0)) == 40
    with pytest.raises(TypeError, match="data: expected a LabelledImages"):
        augmented_copies([1], adapter(), 1)
    with pytest.raises(TypeError, match="transform: expected a callable"):
        augmented_copies(tiny, "rotate", 1)
    with pytest.raises(ValueError, match="copies: expected an integer >= 0"):
        augmented_copies(tiny, adapter(), -1)
    with pytest.raises(ValueError, match=r"transform: expected float images shaped \(1, 8, 8\)"):
        augmented_copies(tiny, lambda x: x[:, :4], 1)


def test_digit_augmentation_keeps_shape_and_range():
    aug = digit_augmentation(28, seed=0)
    img = (torch.rand(28, 28, 1) * 255).to(torch.uint8).numpy()
    out = aug(image=img)["image"]
    assert out.shape == img.shape and out.dtype == img.dtype
