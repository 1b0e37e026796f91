"""Real + synthetic training data: a mixed (or concatenated) dataset and an exact-proportion batch sampler.

Transforms: a real item goes through the real dataset's own ``transform``, a synthetic item through
the SyntheticDataset's ``transform``; then both go through the mixed dataset's ``transform`` (if
any), which is the place for one augmentation pipeline shared by both sides.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .._checks import check_float, check_int, fail
from ..classify.classifier import predict_proba
from ..data.targets import check_same_classes, dataset_targets
from .synthetic import SyntheticDataset


class MixedDataset(Dataset):
    """Real and synthetic items in one map-style dataset, with a chosen synthetic share.

    Indices ``[0, n_real)`` are the real items, ``[n_real, n_real + n_synthetic)`` the first
    ``n_synthetic`` items of ``synthetic``. With ``synthetic_share = s`` in (0, 1) every real item is
    used and ``n_synthetic = round(n_real * s / (1 - s))``, so with a plain ``DataLoader(shuffle=True)``
    a fraction ``s`` of each epoch (and on average of each batch) is synthetic; for exactly that share
    in every batch use :class:`MixedBatchSampler`. ``s = 1`` is synthetic only, ``s = 0`` real only,
    ``None`` concatenates both datasets in full (see :func:`concat_datasets`).

    ``real`` can be any torchvision-style dataset (a LabelledImages, ``torchvision.datasets.MNIST``
    with its own transform, ...). Its classes must be the generator's, and, unless ``check=False``,
    item 0 of both sides (after their own transforms) must have the same type and image shape, so
    that batches collate. :meth:`resample` gives fresh synthetic images for a new epoch.

    Soft labels: with a ``teacher`` (a classifier of the same classes, e.g. one trained on the real
    images with augmentation) every item's label is a float vector (K,) of class probabilities: a
    real item's is its one-hot label, a synthetic item's is ``(1 - teacher_weight) * one-hot(the
    class it was generated for) + teacher_weight * softmax(teacher(image))``, so images that the
    generator drew ambiguously teach less certainty (knowledge distillation, Hinton et al. 2015, on
    generated images). The teacher sees the synthetic image before ``transform``; ``targets`` stays
    the hard labels. :func:`~ganaug.train_classifier` trains on such labels directly.
    """

    def __init__(self, real: Any, synthetic: SyntheticDataset, synthetic_share: float | None = 0.5, *,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 check: bool = True, teacher: torch.nn.Module | None = None, teacher_weight: float = 0.5):
        if not (hasattr(real, "__getitem__") and hasattr(real, "__len__")):
            fail("real", "a map-style dataset of (image, target) items", type(real).__name__,
                 "Pass e.g. a LabelledImages or torchvision.datasets.MNIST(...).", TypeError)
        if not isinstance(synthetic, SyntheticDataset):
            fail("synthetic", "a SyntheticDataset", type(synthetic).__name__,
                 "Build it with SyntheticDataset(generator, size=...).", TypeError)
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                fail(name, "a callable or None", fn, f"Pass a function/transform object as {name}.", TypeError)
        self.real, self.synthetic = real, synthetic
        self.transform, self.target_transform = transform, target_transform
        self.classes = synthetic.classes
        self.class_to_idx = synthetic.class_to_idx
        check_same_classes(real, synthetic.classes)
        n_real_all = len(real)
        if synthetic_share is None:
            self.n_real, self.n_synthetic = n_real_all, len(synthetic)
        else:
            share = check_float("synthetic_share", synthetic_share, 0.0, 1.0,
                                fix="Pass a fraction in [0, 1], e.g. 0.5 for half synthetic.")
            if share == 1.0:
                self.n_real, self.n_synthetic = 0, len(synthetic)
            else:
                self.n_real, self.n_synthetic = n_real_all, round(n_real_all * share / (1.0 - share))
                if self.n_synthetic > len(synthetic):
                    fail("synthetic", f"at least {self.n_synthetic} items (a share of {share} next to "
                         f"{n_real_all} real items)", f"{len(synthetic)} items",
                         f"Build the SyntheticDataset with size >= {self.n_synthetic} (a large virtual size "
                         "costs nothing), or lower synthetic_share.")
        self.synthetic_share = synthetic_share
        if teacher is not None and not isinstance(teacher, torch.nn.Module):
            fail("teacher", "a torch classifier (nn.Module) returning logits (B, K)", type(teacher).__name__,
                 "Pass e.g. ganaug.train_classifier(real_data), or teacher=None for hard labels.", TypeError)
        if teacher is not None and synthetic.output_format != "tensor":
            fail("teacher", "a SyntheticDataset with output_format='tensor' (the teacher reads tensors)",
                 synthetic.output_format, "Build the SyntheticDataset with output_format='tensor'.")
        self.teacher = teacher
        self.teacher_weight = check_float("teacher_weight", teacher_weight, 0.0, 1.0,
                                          fix="Pass a weight in [0, 1], e.g. 0.5.")
        if len(self) == 0:
            fail("real", "at least one item in the mix", "0 items", "Pass a non-empty real dataset.")
        if check and self.n_real and self.n_synthetic:
            _check_compatible(real[0][0], _fetch(synthetic, [0])[0][0])

    def __len__(self) -> int:
        return self.n_real + self.n_synthetic

    @property
    def targets(self) -> torch.Tensor:
        """Labels of all items, int64 (len(self),): real first, then synthetic."""
        real = dataset_targets(self.real)[: self.n_real] if self.n_real else torch.zeros(0, dtype=torch.long)
        return torch.cat([real, self.synthetic._labels(torch.arange(self.n_synthetic))])

    def __getitem__(self, index: int):
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list:
        """Fetch a batch: real and synthetic indices are each fetched in one call (synthetic: one pass)."""
        n = len(self)
        idx = []
        for i in indices:
            if isinstance(i, torch.Tensor):
                i = i.item()
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                fail("index", "an integer", i, "Index the dataset with ints.", TypeError)
            j = int(i) + (n if i < 0 else 0)
            if not 0 <= j < n:
                raise IndexError(f"index {i} is out of range for a MixedDataset of {n} items")
            idx.append(j)
        real_pos = [p for p, j in enumerate(idx) if j < self.n_real]
        synth_pos = [p for p, j in enumerate(idx) if j >= self.n_real]
        out: list = [None] * len(idx)
        for p, item in zip(real_pos, _fetch(self.real, [idx[p] for p in real_pos])):
            out[p] = item
        for p, item in zip(synth_pos, _fetch(self.synthetic, [idx[p] - self.n_real for p in synth_pos])):
            out[p] = item
        if self.teacher is not None:
            out = self._soft_labels(out, synth_pos)
        if self.transform is not None or self.target_transform is not None:
            out = [(self.transform(x) if self.transform is not None else x,
                    self.target_transform(y) if self.target_transform is not None else y) for x, y in out]
        return out

    def _soft_labels(self, out: list, synth_pos: list[int]) -> list:
        k = len(self.classes)
        eye = torch.eye(k)
        soft = [(x, eye[int(y)]) for x, y in out]  # real items: one-hot (K,)
        if synth_pos:
            x = torch.stack([out[p][0] for p in synth_pos])  # (S, C, H, W)
            y = torch.tensor([int(out[p][1]) for p in synth_pos])  # (S,)
            probs = predict_proba(self.teacher, x)  # (S, K), teacher in eval mode
            if probs.shape[1] != k:
                fail("teacher", f"a classifier with {k} outputs (one per class)", probs.shape[1],
                     "Pass a teacher trained on these classes.")
            w = self.teacher_weight
            for p, row in zip(synth_pos, (1.0 - w) * eye[y] + w * probs):
                soft[p] = (out[p][0], row)
        return soft

    def resample(self, epoch: int | None = None) -> "MixedDataset":
        """Fresh synthetic images for ``epoch`` (default: the next one); see SyntheticDataset.resample."""
        self.synthetic.resample(epoch)
        return self

    def __repr__(self) -> str:
        share = "concatenation" if self.synthetic_share is None else f"synthetic share {self.synthetic_share}"
        lines = [f"MixedDataset ({share})", f"    Number of datapoints: {len(self)} "
                 f"({self.n_real} real + {self.n_synthetic} synthetic)",
                 f"    Real: {type(self.real).__name__}", f"    Classes ({len(self.classes)}): {self.classes}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


def concat_datasets(real: Any, synthetic: SyntheticDataset, **kwargs) -> MixedDataset:
    """All real items followed by all synthetic items (checked like :class:`MixedDataset`)."""
    return MixedDataset(real, synthetic, synthetic_share=None, **kwargs)


class MixedBatchSampler(Sampler):
    """Batches of a :class:`MixedDataset` with exactly ``round(batch_size * synthetic_share)`` synthetic items.

    Use as ``DataLoader(mixed, batch_sampler=MixedBatchSampler(mixed, batch_size=128))``. An epoch
    covers every real item once (shuffled); synthetic items are drawn from the mix's synthetic part,
    shuffled, and reused in a new order if the epoch needs more. Each batch is shuffled internally.
    ``synthetic_share`` defaults to the mixed dataset's. The last, smaller batch (dropped with
    ``drop_last=True``) keeps the proportion as nearly as its size allows. Seeded: each pass
    (``__iter__``) uses the next epoch's order; :meth:`set_epoch` picks one.
    """

    def __init__(self, dataset: MixedDataset, batch_size: int, synthetic_share: float | None = None, *,
                 seed: int = 0, drop_last: bool = False):
        if not isinstance(dataset, MixedDataset):
            fail("dataset", "a MixedDataset", type(dataset).__name__,
                 "Wrap your data with MixedDataset(real, synthetic, ...) first.", TypeError)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        share = synthetic_share if synthetic_share is not None else dataset.synthetic_share
        if share is None:
            fail("synthetic_share", "a share in [0, 1] (the dataset is a plain concatenation)", None,
                 "Pass synthetic_share=0.5 (or build the MixedDataset with one).")
        self.synthetic_share = check_float("synthetic_share", share, 0.0, 1.0,
                                           fix="Pass a fraction in [0, 1], e.g. 0.5 for half synthetic.")
        self.n_synth_batch = round(self.batch_size * self.synthetic_share)
        self.n_real_batch = self.batch_size - self.n_synth_batch
        if 0.0 < self.synthetic_share < 1.0 and not 0 < self.n_synth_batch < self.batch_size:
            fail("synthetic_share", f"a share that puts real and synthetic items in a batch of {self.batch_size}",
                 self.synthetic_share, "Raise batch_size or pick a share further from 0 and 1.")
        self.n_real, self.n_synthetic = dataset.n_real, dataset.n_synthetic
        if self.n_real_batch and not self.n_real:
            fail("dataset", "real items for a share below 1", "0 real items", "Use synthetic_share=1.")
        if self.n_synth_batch and not self.n_synthetic:
            fail("dataset", "synthetic items for a share above 0", "0 synthetic items",
                 "Build the MixedDataset with a synthetic share > 0.")
        self.seed = check_int("seed", seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = check_int("epoch", epoch, minimum=0)

    def __len__(self) -> int:
        per, total = (self.n_real_batch, self.n_real) if self.n_real_batch else (self.batch_size, self.n_synthetic)
        return total // per if self.drop_last else math.ceil(total / per)

    def __iter__(self) -> Iterator[list[int]]:
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1
        real = torch.randperm(self.n_real, generator=rng) if self.n_real_batch else None
        synth_pool: list[torch.Tensor] = []
        synth_left = 0

        def take_synthetic(k: int) -> torch.Tensor:  # next k synthetic indices, reshuffling when used up
            nonlocal synth_left
            out = []
            while k > 0:
                if synth_left == 0:
                    synth_pool.append(torch.randperm(self.n_synthetic, generator=rng) + self.n_real)
                    synth_left = self.n_synthetic
                chunk = synth_pool[-1][self.n_synthetic - synth_left:][:k]
                out.append(chunk)
                synth_left -= len(chunk)
                k -= len(chunk)
            return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)

        for b in range(len(self)):
            if self.n_real_batch:
                r = real[b * self.n_real_batch:(b + 1) * self.n_real_batch]
                s = self.n_synth_batch if len(r) == self.n_real_batch else round(
                    len(r) * self.n_synth_batch / self.n_real_batch)
                batch = torch.cat([r, take_synthetic(s)])
            else:
                batch = take_synthetic(min(self.batch_size, self.n_synthetic - b * self.batch_size))
            yield batch[torch.randperm(len(batch), generator=rng)].tolist()


def _fetch(ds: Any, indices: list[int]) -> list:
    if not indices:
        return []
    getitems = getattr(ds, "__getitems__", None)
    return list(getitems(indices)) if getitems else [ds[i] for i in indices]


def _item_shape(x: Any) -> tuple[str, tuple[int, ...]]:
    # (kind, (C, H, W)) of one image item in any supported format.
    if isinstance(x, torch.Tensor):
        return "tensor", tuple(x.shape)
    if isinstance(x, np.ndarray):
        return "numpy array", tuple(x.shape[-1:] + x.shape[:2]) if x.ndim == 3 else (1, *x.shape)
    if hasattr(x, "getbands") and hasattr(x, "size"):
        return "PIL image", (len(x.getbands()), x.size[1], x.size[0])
    return type(x).__name__, ()


def _check_compatible(real_image: Any, synth_image: Any) -> None:
    (rk, rs), (sk, ss) = _item_shape(real_image), _item_shape(synth_image)
    if rk != sk:
        fail("image type", f"synthetic items of the real items' type ({rk})", sk,
             "Set SyntheticDataset(output_format='tensor'|'numpy'|'pil') to match, or give the real dataset "
             "transform=ganaug.ToGanaugTensor().")
    if rs != ss:
        fail("image shape", f"synthetic items shaped like the real ones {rs}", ss,
             "Use a generator trained on images of this size, or add a Resize to one side's transform.")
