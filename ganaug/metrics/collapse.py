"""Mode collapse and memorisation, per class, in pixel space.

* diversity: mean pairwise distance of generated images of a class over that of real test images
  (:func:`ganaug.metrics.diversity_ratio`); well below 1 means the class looks collapsed.
* memorisation: each generated image's distance to its nearest real *training* image, compared
  with the same distance for real *test* images (fresh images the generator never saw). A
  generator that copies its training set draws images much closer to training images than fresh
  real images are.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import check_float, check_int, fail
from .._progress import track
from ..data.datasets import LabelledImages
from ._featurebank import row_chunk
from .diversity import intra_class_diversity


def _rows(arg: str, x: Any, dim: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 4) or x.shape[0] == 0:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        fail(arg, "a non-empty tensor of images (N, C, H, W) or features (N, D)", got,
             "Stack the samples into one tensor.", TypeError if not isinstance(x, torch.Tensor) else ValueError)
    x = x.detach().flatten(1)
    if dim is not None and x.shape[1] != dim:
        fail(arg, f"{dim} values per sample (as the other set)", x.shape[1],
             "Compare images of the same shape (or features of the same extractor).")
    return x


def nearest_real_distance(samples: torch.Tensor, real: torch.Tensor, device: str | torch.device | None = None,
                          progress: bool = False) -> torch.Tensor:
    """Euclidean distance from each sample to its nearest row of ``real``: float64 (N,) on CPU.

    Images (N, C, H, W) are compared pixel by pixel (flattened, in ganaug's [-1, 1]); 2-D inputs
    (N, D) are taken as feature vectors. 0 means an exact copy. Computed in float64 blocks on
    ``device`` (default cpu), so memory stays bounded for a full MNIST training set.
    """
    x = _rows("samples", samples)
    r = _rows("real", real, dim=x.shape[1])
    device = torch.device(device) if device is not None else torch.device("cpu")
    x64 = x.to(device, torch.float64)
    best = torch.full((x.shape[0],), float("inf"), dtype=torch.float64, device=device)
    real_step = row_chunk(x.shape[1], 1 << 22)  # real rows converted to float64 at a time
    sample_step = row_chunk(min(real_step, r.shape[0]), 1 << 22)
    blocks = range(0, r.shape[0], real_step)
    if progress:
        blocks = track(blocks, desc="nearest training image", unit="block", leave=False)
    for start in blocks:
        rb = r[start:start + real_step].to(device, torch.float64)  # (b_r, D)
        for s in range(0, x.shape[0], sample_step):
            d = torch.cdist(x64[s:s + sample_step], rb)  # (b_s, b_r)
            best[s:s + sample_step] = torch.minimum(best[s:s + sample_step], d.min(dim=1).values)
    return best.cpu()


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _median(x: torch.Tensor) -> float:
    return float(x.median()) if x.numel() else float("nan")


def mode_collapse_report(fake: torch.Tensor, fake_labels: torch.Tensor, train: LabelledImages,
                         test: LabelledImages, *, collapse_below: float = 0.5, copy_below: float = 0.5,
                         device: str | torch.device | None = None, progress: bool = False) -> dict[str, Any]:
    """Per-class diversity and memorisation of generated images ``fake`` (N, C, H, W) with labels (N,).

    For each class: ``diversity_ratio`` (generated / real test intra-class diversity);
    ``nearest_train_generated`` (median distance from a generated image to its nearest training
    image, any class) and ``nearest_train_real`` (the same median for real test images: the
    baseline); ``nearest_ratio`` (their quotient); ``near_copy_fraction`` (share of generated
    images nearer to a training image than 95% of the real test images of the class are; about
    0.05 when nothing is copied). Flags: ``collapsed`` when ``diversity_ratio < collapse_below``,
    ``copying`` when ``nearest_ratio < copy_below``. Undefined values (a class with fewer than 2
    images) are ``None``.
    """
    for name, data in (("train", train), ("test", test)):
        if not isinstance(data, LabelledImages):
            fail(name, "a LabelledImages", type(data).__name__, "Load it with ganaug.load_dataset(...).", TypeError)
    if not isinstance(fake, torch.Tensor) or fake.ndim != 4 or tuple(fake.shape[1:]) != train.image_shape:
        fail("fake", f"generated images (N, {', '.join(map(str, train.image_shape))})",
             tuple(fake.shape) if isinstance(fake, torch.Tensor) else type(fake).__name__,
             "Generate images of the training data's shape.")
    if not isinstance(fake_labels, torch.Tensor) or fake_labels.shape != (fake.shape[0],):
        fail("fake_labels", f"a tensor of {fake.shape[0]} labels (one per image)",
             tuple(fake_labels.shape) if isinstance(fake_labels, torch.Tensor) else type(fake_labels).__name__,
             "Pass the labels returned by generator.sample(...).")
    if train.classes != test.classes:
        fail("test", f"the training classes {train.classes}", test.classes, "Use two splits of one dataset.")
    collapse_below = check_float("collapse_below", collapse_below, 0.0)
    copy_below = check_float("copy_below", copy_below, 0.0)
    k = check_int("num_classes", train.num_classes, minimum=1)
    fake_labels = fake_labels.detach().cpu().long()
    if fake_labels.numel() and (int(fake_labels.min()) < 0 or int(fake_labels.max()) >= k):
        bad = int(fake_labels.min()) if int(fake_labels.min()) < 0 else int(fake_labels.max())
        fail("fake_labels", f"class indices in [0, {k - 1}]", bad,
             "Pass labels of the dataset's classes.")
    div_fake = intra_class_diversity(fake, fake_labels, k)
    div_real = intra_class_diversity(test.images, test.targets, k)
    near_fake = nearest_real_distance(fake, train.images, device=device, progress=progress)
    near_real = nearest_real_distance(test.images, train.images, device=device, progress=progress)
    rows = []
    for c, name in enumerate(train.classes):
        nf, nr = near_fake[fake_labels == c], near_real[test.targets == c]
        ratio = float(div_fake[c] / div_real[c])
        near_ratio = _median(nf) / _median(nr) if nr.numel() and _median(nr) > 0 else float("nan")
        close = float((nf < torch.quantile(nr, 0.05)).double().mean()) if nf.numel() and nr.numel() else float("nan")
        rows.append({"class": name, "n_generated": int(nf.numel()),
                     "diversity_generated": _num(float(div_fake[c])), "diversity_real": _num(float(div_real[c])),
                     "diversity_ratio": _num(ratio), "nearest_train_generated": _num(_median(nf)),
                     "nearest_train_real": _num(_median(nr)), "nearest_ratio": _num(near_ratio),
                     "near_copy_fraction": _num(close), "collapsed": bool(ratio < collapse_below),
                     "copying": bool(near_ratio < copy_below)})
    return {"per_class": rows, "collapsed_classes": [r["class"] for r in rows if r["collapsed"]],
            "copying_classes": [r["class"] for r in rows if r["copying"]],
            "collapse_below": collapse_below, "copy_below": copy_below}
