"""Image format conversions and an albumentations adapter, so one pipeline serves real and synthetic data.

ganaug's own format is a float32 tensor (C, H, W) in [-1, 1]. Albumentations expects uint8 numpy
(H, W, C); classic torchvision transforms expect PIL images. The helpers here convert between the
three, so that a transform written for one of them works whatever the dataset hands it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_bool, check_int, fail
from .datasets import LabelledImages

OUTPUT_FORMATS = ("tensor", "numpy", "pil")


def to_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """ganaug tensors in [-1, 1], (C, H, W) or (N, C, H, W), as uint8 numpy (H, W, C) or (N, H, W, C)."""
    # Inverse of the loaders' u8 / 255 * 2 - 1, so a real image survives the round trip exactly.
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).contiguous().numpy()


def convert_images(images: torch.Tensor, output_format: str) -> list:
    """Split a batch (N, C, H, W) in [-1, 1] into N items of ``output_format`` (see OUTPUT_FORMATS)."""
    if output_format == "tensor":
        return list(images.unbind(0))
    arrays = to_uint8_hwc(images)  # (N, H, W, C), one conversion for the whole batch
    if output_format == "numpy":
        return list(arrays)
    from PIL import Image

    if arrays.shape[-1] == 1:
        return [Image.fromarray(a[..., 0]) for a in arrays]  # uint8 (H, W) -> mode L
    return [Image.fromarray(a) for a in arrays]  # uint8 (H, W, 3) -> mode RGB


def _as_uint8_hwc(image: Any) -> np.ndarray:
    # Any supported item -> uint8 numpy (H, W, C) with C in {1, 3}.
    if hasattr(image, "mode") and hasattr(image, "getbands"):  # PIL image
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB" if len(image.getbands()) >= 3 else "L")
        arr = np.array(image)  # a writable copy (torch warns about read-only buffers)
    elif isinstance(image, torch.Tensor):
        if image.ndim == 2:
            image = image.unsqueeze(0)
        if image.ndim != 3 or image.shape[0] not in (1, 3):
            fail("image", "a tensor (C, H, W) with C in {1, 3}", tuple(image.shape),
                 "Pass one image, not a batch, in channels-first layout.")
        if image.dtype == torch.uint8:
            return image.permute(1, 2, 0).contiguous().numpy()
        if not image.is_floating_point():
            fail("image", "a float tensor in [-1, 1] or a uint8 tensor", f"dtype {image.dtype}",
                 "Convert the tensor to float in [-1, 1] (ganaug's format) or to uint8.", TypeError)
        return to_uint8_hwc(image)
    elif isinstance(image, np.ndarray):
        arr = image
    else:
        fail("image", "a PIL image, a uint8 numpy array (H, W, C) or a tensor (C, H, W)",
             type(image).__name__, "Convert the item to one of these formats first.", TypeError)
    if arr.dtype != np.uint8:
        fail("image", "a uint8 numpy array (values 0..255)", f"dtype {arr.dtype}",
             "Pass uint8 pixels; for float arrays normalised by your own pipeline, convert them yourself.",
             TypeError)
    if arr.ndim == 2:
        arr = arr[:, :, None]  # (H, W) -> (H, W, 1)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3):
        fail("image", "a numpy array (H, W) or (H, W, C) with C in {1, 3}", arr.shape,
             "Pass one image in channels-last layout.")
    return arr


def to_ganaug_tensor(image: Any) -> torch.Tensor:
    """Any image item as ganaug's format: a float32 tensor (C, H, W) in [-1, 1].

    Accepts a PIL image (mode L or RGB, others are converted), a uint8 numpy array (H, W) or
    (H, W, C), a uint8 tensor (C, H, W), or a float tensor (C, H, W), which is taken to be in
    ganaug's [-1, 1] already and returned as float32.
    """
    if isinstance(image, torch.Tensor) and image.is_floating_point():
        if image.ndim != 3 or image.shape[0] not in (1, 3):
            fail("image", "a tensor (C, H, W) with C in {1, 3}", tuple(image.shape),
                 "Pass one image, not a batch, in channels-first layout.")
        return image.float()
    arr = _as_uint8_hwc(image)  # (H, W, C)
    if not arr.flags.writeable:
        arr = arr.copy()
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


class ToGanaugTensor:
    """A transform that turns PIL / uint8 numpy / tensor items into ganaug's float (C, H, W) in [-1, 1].

    Give it to a torchvision dataset (``MNIST(root, transform=ToGanaugTensor())``) so that its
    items have the same format as a default :class:`~ganaug.SyntheticDataset`.
    """

    def __call__(self, image: Any) -> torch.Tensor:
        return to_ganaug_tensor(image)

    def __repr__(self) -> str:
        return "ToGanaugTensor()"


class AlbumentationsAdapter:
    """Use an ``albumentations`` pipeline as the ``transform`` of real and synthetic datasets alike.

    Each item (ganaug float tensor in [-1, 1], uint8 tensor, PIL image or uint8 numpy) is handed to
    ``pipeline`` as uint8 numpy (H, W, C), which is what albumentations expects. What comes back:

    - the pipeline returned a torch tensor (it ends with ``ToTensorV2``): returned unchanged, in the
      normalisation your pipeline chose (e.g. ``A.Normalize``);
    - a uint8 array: as ganaug's float32 tensor (C, H, W) in [-1, 1] when ``to_tensor`` (the
      default), else the uint8 array (H, W, C) itself;
    - a float array (your pipeline normalised it): as a float32 tensor (C, H, W) with the values
      unchanged when ``to_tensor``, else the array itself.
    """

    def __init__(self, pipeline: Any, to_tensor: bool = True):
        import albumentations as A

        if not isinstance(pipeline, (A.BaseCompose, A.BasicTransform)):
            fail("pipeline", "an albumentations transform or Compose", type(pipeline).__name__,
                 "Pass e.g. A.Compose([A.HorizontalFlip(), A.Affine(rotate=(-10, 10))]); for "
                 "torchvision transforms no adapter is needed.", TypeError)
        check_bool("to_tensor", to_tensor)
        self.pipeline = pipeline
        self.to_tensor = to_tensor

    def __call__(self, image: Any):
        out = self.pipeline(image=_as_uint8_hwc(image))["image"]
        if isinstance(out, torch.Tensor) or not self.to_tensor:
            return out
        out = np.asarray(out)
        if out.dtype == np.uint8:
            return to_ganaug_tensor(out)
        if out.ndim == 2:
            out = out[:, :, None]
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).permute(2, 0, 1)

    def __repr__(self) -> str:
        inner = "\n".join("    " + line for line in repr(self.pipeline).splitlines())
        return f"AlbumentationsAdapter(to_tensor={self.to_tensor},\n{inner})"


def augmented_copies(data: Any, transform: Any, copies: int) -> Any:
    """``data`` (a LabelledImages) plus ``copies`` augmented versions of every image, as one LabelledImages.

    A fixed, larger training set for a GAN: trained on it, the generator learns the variety that
    ``transform`` (e.g. an :class:`AlbumentationsAdapter`) adds, not only the few real images. Items
    are ``originals`` then copy 1 of every image, copy 2, ...; a seeded ``transform`` gives the same
    copies every time. ``transform`` must return ganaug tensors (C, H, W) in [-1, 1].
    """
    if not isinstance(data, LabelledImages):
        fail("data", "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    if not callable(transform):
        fail("transform", "a callable image transform", type(transform).__name__,
             "Pass e.g. AlbumentationsAdapter(A.Compose([...])).", TypeError)
    copies = check_int("copies", copies, minimum=0)
    images = [data.images]
    for _ in range(copies):
        out = torch.stack([transform(x) for x in data.images])  # (N, C, H, W)
        if out.shape != data.images.shape or not out.is_floating_point():
            fail("transform", f"float images shaped {tuple(data.images.shape[1:])} in [-1, 1]",
                 f"{out.dtype} {tuple(out.shape[1:])}", "End the pipeline in ganaug's format "
                 "(AlbumentationsAdapter(..., to_tensor=True) without ToTensorV2).")
        images.append(out.clamp(-1, 1))
    return LabelledImages(torch.cat(images), data.targets.repeat(copies + 1), data.classes, name=data.name)


def digit_augmentation(image_size: int, seed: int = 0):
    """The classical augmentation for digits: small affine jitter plus elastic distortion.

    ``Affine``: rotation +-12 deg, shear +-8 deg, scale 0.9-1.1, translation +-8%, p=0.9; then
    ``ElasticTransform`` (Simard et al. 2003: alpha 34, sigma 4 for 28 px, scaled with the image size),
    p=0.5; constant black border. No flips (they change digit identity).
    """
    import albumentations as A

    k = image_size / 28.0
    return A.Compose([
        A.Affine(rotate=(-12, 12), shear=(-8, 8), scale=(0.9, 1.1), translate_percent=(-0.08, 0.08),
                 border_mode=0, fill=0, p=0.9),
        A.ElasticTransform(alpha=34 * k, sigma=4 * k, border_mode=0, fill=0, p=0.5),
    ], seed=seed)
