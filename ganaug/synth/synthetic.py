"""SyntheticDataset: a trained conditional generator as a drop-in, torchvision-style dataset.

Item i is a pure function of (seed, epoch, i): its label comes from a fixed class layout, its noise
from a counter-based random generator keyed by (seed, epoch), and images are computed in
fixed-size blocks (see ``_blocks``). So item i is the same image whatever the order of access, the
DataLoader batch size or the number of workers, and nothing is stored per item: a 10-million-item
dataset costs only its small cache of recently generated blocks.
"""
from __future__ import annotations

import copy
import hashlib
import math
import os
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .._blocks import BLOCK, run_in_blocks
from .._checks import check_bool, check_choice, check_float, check_int, fail
from .._device import warn_if_emulated_bf16
from .._threads import ThreadChooser, in_thread_scope
from ..data.targets import check_same_classes, dataset_targets
from ..data.transforms import OUTPUT_FORMATS, convert_images
from ..gan.checkpoint import load_generator
from ..gan.models import ConditionalGenerator, check_truncation, truncated_normal
from .filtering import FilterQuotaError, SampleFilter

MAX_SIZE = 2**31 - 1  # keeps (i * multiplier) of the class layout inside int64
# A filtered dataset is refused when more than this many of its items are expected to exhaust max_tries.
EXPECTED_FAILURES = 0.01
_FORMAT_NOTES = {"tensor": "float32 tensor (C, H, W) in [-1, 1]", "numpy": "uint8 numpy (H, W, C)",
                 "pil": "PIL image"}


class SyntheticDataset(Dataset):
    """Images drawn from a trained class-conditional generator, as a map-style dataset.

    Items are ``(image, target)`` like a torchvision dataset, with ``transform`` /
    ``target_transform``, ``classes``, ``class_to_idx`` and ``targets``. ``generator`` is a
    :class:`~ganaug.ConditionalGenerator` (copied, put in eval mode on ``device``) or the
    path of a file written by ``gen.save`` or by training.

    Class control (pick one): ``size`` alone gives equal class counts; ``class_counts`` (a list of K
    counts, or a dict keyed by class name or index) fixes each count; ``class_weights`` (K
    non-negative numbers) splits ``size`` proportionally; ``balance_to=real_dataset`` gives each
    class ``max(real counts) - real count``, so that real + synthetic is balanced.

    ``output_format``: ``"tensor"`` (float32 (C, H, W) in [-1, 1], ganaug's normalisation),
    ``"numpy"`` (uint8 (H, W, C), what albumentations expects) or ``"pil"`` (what classic torchvision
    transforms expect). ``transform`` gets the image in that format.

    Determinism: item i depends only on ``seed``, the current epoch and i. :meth:`resample` moves
    to another epoch, i.e. fresh images (same labels) without rebuilding the dataset.
    ``quality_filter``: a :class:`~ganaug.SampleFilter`; each item then draws up to
    ``max_tries`` candidates and keeps the first one the filter accepts. The per-class acceptance
    rate, measured on ``probe_per_class`` samples per class at construction, is in
    :attr:`acceptance_rates`; a class too unlikely to fill its quota raises
    :class:`~ganaug.FilterQuotaError` right away.

    Images are generated ``BLOCK`` (128) at a time and the last few blocks are cached (at most
    ``cache_mb`` MiB per process). With ``device="cuda"`` use ``num_workers=0``.

    ``truncation``: draw the noise from a Gaussian truncated to ``|z| <= truncation`` (the "truncation
    trick", Brock et al. 2019): images closer to the typical ones of each class and fewer that look like
    another class, at some cost in variety. ``None``: the full Gaussian.

    ``num_threads``: torch threads for generating a batch on the CPU (the forward pass and the
    copies around it; restored afterwards). ``None`` (default) times the forward passes and keeps
    the fastest of 1, 2, 4, ... up to ``torch.get_num_threads()``, re-trying the others now and
    then, so a busy core does not stall every batch; an int uses that many. The images are the
    same whatever the count.

    ``cpu_amp``: run the forward pass under bf16 autocast on the CPU (the images come back as
    float32). About 1.7x faster where the CPU has native bf16 math (AVX512-BF16 or AMX), slower where
    it is emulated (a ``RuntimeWarning`` says so). The images differ from the float32 ones by bf16
    rounding (mean 0.0007, at most about 0.05 on the [-1, 1] range for an MNIST generator), and stay
    a pure function of (seed, epoch, item).
    Ignored on other devices.
    """

    def __init__(self, generator: Any, size: int | None = None, *, class_counts: Any = None,
                 class_weights: Sequence[float] | None = None, balance_to: Any = None, seed: int = 0,
                 epoch: int = 0, output_format: str = "tensor", transform: Callable | None = None,
                 target_transform: Callable | None = None, quality_filter: SampleFilter | None = None,
                 max_tries: int = 50, probe_per_class: int = 128, cache_mb: float = 64.0,
                 device: str | torch.device = "cpu", num_threads: int | None = None,
                 truncation: float | None = None, cpu_amp: bool = False):
        self.device = torch.device(device)
        self.cpu_amp = check_bool("cpu_amp", cpu_amp)
        if self.cpu_amp and self.device.type == "cpu":
            warn_if_emulated_bf16("cpu_amp")
        self.truncation = None if truncation is None else check_truncation(truncation)
        self.generator = _private_generator(generator, self.device)
        self.classes = self.generator.classes
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.class_counts = _resolve_counts(self.generator, size, class_counts, class_weights, balance_to)
        self.seed = check_int("seed", seed)
        self.epoch = check_int("epoch", epoch, minimum=0)
        self.output_format = check_choice("output_format", output_format, OUTPUT_FORMATS)
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                fail(name, "a callable or None", fn, f"Pass a function/transform object as {name}.", TypeError)
        self.transform, self.target_transform = transform, target_transform
        self.max_tries = check_int("max_tries", max_tries, minimum=1)
        self.num_threads = None if num_threads is None else check_int(
            "num_threads", num_threads, minimum=1, fix="Pass num_threads >= 1, or None to choose by measuring.")
        self._threads = ThreadChooser(self.num_threads)
        cache_mb = check_float("cache_mb", cache_mb, 0.0, low_open=True)
        block_bytes = BLOCK * 4 * math.prod(self.generator.image_shape)
        self._cache_blocks = max(2, int(cache_mb * 2**20 // block_bytes))
        self._cache: OrderedDict[int, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._targets: torch.Tensor | None = None

        # Class layout: item i sits at position (a * i + b) mod N of a class-sorted list. a is coprime
        # with N (a bijection, so the counts are exact) and close to N / golden ratio, so consecutive
        # items land far apart and every stretch of items has close to the overall class mix.
        self._n = sum(self.class_counts)
        self._cum = torch.tensor(self.class_counts, dtype=torch.long).cumsum(0)  # (K,)
        self._mult = max(1, round(self._n * 0.6180339887498949))
        while math.gcd(self._mult, self._n) != 1:
            self._mult += 1
        self._offset = _key(self.seed, "layout") % self._n

        self.quality_filter = quality_filter
        self.acceptance_rates: dict[str, float] | None = None
        k = len(self.classes)
        self._tried, self._kept = torch.zeros(k, dtype=torch.long), torch.zeros(k, dtype=torch.long)
        if quality_filter is not None:
            if not isinstance(quality_filter, SampleFilter):
                fail("quality_filter", "a ganaug.SampleFilter (ConfidenceFilter or DiscriminatorFilter)",
                     type(quality_filter).__name__, "Build one with ConfidenceFilter(...) or "
                     "DiscriminatorFilter(...).", TypeError)
            self._probe(check_int("probe_per_class", probe_per_class, minimum=1))

    # ---- torchvision-style interface
    def __len__(self) -> int:
        return self._n

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.generator.image_shape

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def targets(self) -> torch.Tensor:
        """All labels, int64 (N,); computed on first use (8 bytes per item)."""
        if self._targets is None:
            self._targets = self._labels(torch.arange(self._n))
        return self._targets

    @in_thread_scope  # generating and copying under the chosen thread count
    def __getitem__(self, index: int):
        i = self._index(index)
        images, labels = self._block(i // BLOCK)
        j = i % BLOCK
        return self._finish(images[j:j + 1].clone(), labels[j:j + 1])[0]

    @in_thread_scope
    def __getitems__(self, indices: Sequence[int]) -> list:
        """Fetch many items at once (the DataLoader calls this with each batch's indices).

        Indices that crowd into a few blocks (sequential access) are served from cached blocks;
        scattered ones (shuffled access) are generated together, only them, in one pass.
        """
        idx = torch.tensor([self._index(i) for i in indices], dtype=torch.long)  # (n,)
        images = torch.empty((len(idx), *self.image_shape))  # (n, C, H, W), a fresh copy
        blocks = idx // BLOCK
        uniq, inverse, counts = torch.unique(blocks, return_inverse=True, return_counts=True)
        everything_fits = -(-self._n // BLOCK) <= self._cache_blocks
        scattered = torch.ones(len(idx), dtype=torch.bool)
        for j, (b, count) in enumerate(zip(uniq.tolist(), counts.tolist())):
            if b in self._cache or everything_fits or count >= BLOCK // 8:
                block_images, _ = self._block(b)
                sel = (inverse == j).nonzero().squeeze(1)
                images[sel] = block_images[idx[sel] - b * BLOCK]
                scattered[sel] = False
        labels = self._labels(idx)
        if scattered.any():
            images[scattered] = self._render(idx[scattered], labels[scattered])
        return self._finish(images, labels)

    def resample(self, epoch: int | None = None) -> "SyntheticDataset":
        """Switch to ``epoch`` (default: the next one): new images, same labels. Returns ``self``.

        DataLoader workers get a copy of the dataset when an epoch's iteration starts, so call this
        before iterating; with ``persistent_workers=True`` the workers keep their old copy.
        """
        self.epoch = check_int("epoch", self.epoch + 1 if epoch is None else epoch, minimum=0)
        self._cache.clear()
        return self

    def observed_acceptance_rates(self) -> dict[str, float | None]:
        """Filter acceptance rate per class over the candidates generated so far in this process."""
        return {c: (k / t if t else None)
                for c, k, t in zip(self.classes, self._kept.tolist(), self._tried.tolist())}

    def filter_report(self) -> str:
        """One line per class: probe acceptance rate and the rate observed so far in this process."""
        if self.acceptance_rates is None:
            return "no quality filter"
        observed = self.observed_acceptance_rates()
        return "\n".join(f"{c}: probe {r:.1%}, observed " + ("-" if observed[c] is None else f"{observed[c]:.1%}")
                         for c, r in self.acceptance_rates.items())

    def __getstate__(self):  # what DataLoader workers (spawn) and pickle get: no cached images
        state = self.__dict__.copy()
        state["_cache"], state["_targets"] = OrderedDict(), None
        return state

    def __repr__(self) -> str:
        spec = self.generator.spec
        lines = [f"SyntheticDataset", f"    Number of datapoints: {self._n}",
                 f"    Generator: {spec['arch']}, image shape {self.image_shape}, z_dim {self.generator.z_dim}",
                 f"    Classes ({self.num_classes}): {self.classes}",
                 f"    Class counts: {self.class_counts}",
                 f"    Seed: {self.seed}, epoch: {self.epoch}"
                 + (f", truncation: |z| <= {self.truncation:g}" if self.truncation is not None else "")
                 + (", bf16 on the CPU" if self.cpu_amp and self.device.type == "cpu" else ""),
                 f"    Output format: {self.output_format} ({_FORMAT_NOTES[self.output_format]})"]
        if self.quality_filter is not None:
            rates = ", ".join(f"{c}: {r:.0%}" for c, r in (self.acceptance_rates or {}).items())
            lines.append(f"    Filter: {self.quality_filter!r}, max_tries={self.max_tries}")
            lines.append(f"    Acceptance rates (probe): {rates}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)

    # ---- generation
    def _index(self, index: Any) -> int:
        if isinstance(index, torch.Tensor) and index.numel() == 1:
            index = index.item()
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            fail("index", "an integer", index, "Index the dataset with ints (or use __getitems__ for lists).",
                 TypeError)
        i = int(index) + (self._n if index < 0 else 0)
        if not 0 <= i < self._n:
            raise IndexError(f"index {index} is out of range for a SyntheticDataset of {self._n} items")
        return i

    def _labels(self, idx: torch.Tensor) -> torch.Tensor:  # idx (n,) -> labels (n,), int64
        pos = (idx * self._mult + self._offset) % self._n
        return torch.searchsorted(self._cum, pos, right=True)

    def _block(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Block b = items [b * BLOCK, (b + 1) * BLOCK): (images (m, C, H, W), labels (m,)), LRU-cached.
        hit = self._cache.get(b)
        if hit is not None:
            self._cache.move_to_end(b)
            return hit
        idx = torch.arange(b * BLOCK, min((b + 1) * BLOCK, self._n))
        labels = self._labels(idx)
        entry = (self._render(idx, labels), labels)
        self._cache[b] = entry
        while len(self._cache) > self._cache_blocks:
            self._cache.popitem(last=False)
        return entry

    def _noise(self, idx: torch.Tensor, key: int) -> torch.Tensor:
        if self.truncation is None:
            return _gaussian(idx, self.generator.z_dim, key)  # (n, z_dim)
        return _truncated_gaussian(idx, self.generator.z_dim, key, self.truncation)

    def _raw(self, idx: torch.Tensor, labels: torch.Tensor, key: int) -> torch.Tensor:
        z = self._noise(idx, key)  # (n, z_dim)
        return run_in_blocks(self._forward, z, labels, device=self.device)  # (n, C, H, W)

    def _forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # One block: z (BLOCK, z_dim), y (BLOCK,) -> (BLOCK, C, H, W), under the chosen CPU thread count.
        if self.device.type != "cpu":
            return self.generator(z, y)
        if self.cpu_amp:  # same blocks, same kernels: still a pure function of the item
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self._threads(self.generator, z, y).float()
        return self._threads(self.generator, z, y)

    def _render(self, idx: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.quality_filter is None:
            return self._raw(idx, labels, _key(self.seed, self.epoch, 0))
        # Rejection sampling: candidate t of item i has noise keyed by (seed, epoch, t) and item i keeps
        # its first accepted candidate, so the result depends only on the item, never on what else is
        # generated with it. When few items are pending, the next r candidates of each are drawn in
        # one pass (r * pending <= BLOCK) instead of padding a nearly empty block.
        out = torch.empty((len(idx), *self.image_shape))
        pending = torch.arange(len(idx))
        k, attempt = self.num_classes, 0
        while pending.numel() and attempt < self.max_tries:
            m = len(pending)
            r = min(self.max_tries - attempt, max(1, BLOCK // m))
            y = labels[pending]
            z = torch.cat([self._noise(idx[pending], _key(self.seed, self.epoch, attempt + t))
                           for t in range(r)])  # (r * m, z_dim): candidate t of every pending item
            images = run_in_blocks(self._forward, z, y.repeat(r), device=self.device)  # (r * m, C, H, W)
            ok = self.quality_filter.accept(images, y.repeat(r)).view(r, m)
            found = ok.any(dim=0)  # (m,)
            first = ok.to(torch.uint8).argmax(dim=0)  # (m,) first accepted candidate (0 if none)
            cols = found.nonzero().squeeze(1)
            out[pending[cols]] = images.view(r, m, *self.image_shape)[first[cols], cols]
            self._tried += torch.bincount(y, weights=torch.where(found, first + 1, r).double(), minlength=k).long()
            self._kept += torch.bincount(y[found], minlength=k)
            pending = pending[~found]
            attempt += r
        if pending.numel() == 0:
            return out
        i, c = int(idx[pending[0]]), self.classes[int(labels[pending[0]])]
        rate = (self.acceptance_rates or {}).get(c, 0.0)
        raise FilterQuotaError(
            f"quality_filter: expected item {i} (class {c!r}) to pass within max_tries={self.max_tries} "
            f"candidates, got {self.max_tries} rejections (probe acceptance rate of {c!r}: {rate:.1%}). "
            "Raise max_tries, lower the filter's threshold, or train the generator longer.")

    def _probe(self, per_class: int) -> None:
        # probe samples (K * per_class) under their own noise stream: calibrate/check the filter.
        k = self.num_classes
        labels = torch.arange(k).repeat_interleave(per_class)
        images = self._raw(torch.arange(len(labels)), labels, _key(self.seed, "probe"))
        self.quality_filter.prepare(self.generator, images, labels)
        ok = self.quality_filter.accept(images, labels)
        rates = (torch.bincount(labels[ok], minlength=k).double() / per_class).tolist()
        self.acceptance_rates = dict(zip(self.classes, rates))
        for c, (name, rate, count) in enumerate(zip(self.classes, rates, self.class_counts)):
            if count and (1.0 - rate) ** self.max_tries * count > EXPECTED_FAILURES:
                need = ("no number of tries helps" if rate == 0.0 else "it needs max_tries >= "
                        f"{math.ceil(math.log(EXPECTED_FAILURES / count) / math.log(1.0 - rate))}")
                raise FilterQuotaError(
                    f"quality_filter: expected every class to fill its quota within max_tries={self.max_tries} "
                    f"candidates per item, got an acceptance rate of {rate:.1%} for class {name!r} "
                    f"({round(rate * per_class)}/{per_class} probe samples; {need}). Lower the filter's "
                    "threshold, raise max_tries, or train the generator longer.")

    def _finish(self, images: torch.Tensor, labels: torch.Tensor) -> list:
        items = convert_images(images, self.output_format)
        targets = labels.tolist()
        if self.transform is not None:
            items = [self.transform(x) for x in items]
        if self.target_transform is not None:
            targets = [self.target_transform(t) for t in targets]
        return list(zip(items, targets))


# ---- helpers
def _private_generator(generator: Any, device: torch.device) -> ConditionalGenerator:
    if isinstance(generator, (str, os.PathLike)):
        generator = load_generator(generator, device="cpu")  # CheckpointError explains a bad file
    elif not isinstance(generator, ConditionalGenerator):
        fail("generator", "a ConditionalGenerator or the path of a saved generator", generator,
             "Pass the model returned by ganaug.fit(...) or ganaug.load_generator(path), and check that "
             "loading it succeeded.", TypeError)
    gen = copy.deepcopy(generator).to(device).eval().requires_grad_(False)
    for name, value in [*gen.named_parameters(), *gen.named_buffers()]:
        if value.is_floating_point() and not torch.isfinite(value).all():
            fail("generator", "finite weights", f"NaN/inf in {name!r}",
                 "This generator diverged or was corrupted; load an earlier checkpoint or retrain.")
    return gen


def _resolve_counts(gen: ConditionalGenerator, size, class_counts, class_weights, balance_to) -> list[int]:
    k = gen.num_classes
    given = [n for n, v in (("class_counts", class_counts), ("class_weights", class_weights),
                            ("balance_to", balance_to)) if v is not None]
    if len(given) > 1:
        fail(" / ".join(given), "at most one way of choosing class counts", "several",
             "Pass only one of class_counts, class_weights, balance_to.")
    if size is not None:
        size = check_int("size", size, minimum=1)
    if class_counts is not None:
        if isinstance(class_counts, Mapping):
            counts = [0] * k
            for key, value in class_counts.items():
                c = gen.classes.index(str(key)) if str(key) in gen.classes else key
                if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < k:
                    fail("class_counts", f"keys that are class names {gen.classes} or indices 0..{k - 1}",
                         key, "Key the dict by the generator's class names.")
                counts[int(c)] = value
        else:
            counts = list(class_counts)
            if len(counts) != k:
                fail("class_counts", f"{k} counts (one per class {gen.classes})", f"{len(counts)} counts",
                     "Pass one count per class, or a dict {class name: count}.")
        counts = [check_int(f"class_counts[{gen.classes[c]!r}]", v, minimum=0,
                            fix="Pass whole numbers >= 0.") for c, v in enumerate(counts)]
        if size is not None and size != sum(counts):
            fail("size", f"the sum of class_counts ({sum(counts)}) or None", size, "Drop size or fix the counts.")
    elif class_weights is not None:
        if size is None:
            fail("size", "the total number of items to split by class_weights", None, "Pass size=N too.")
        weights = list(class_weights)
        if len(weights) != k:
            fail("class_weights", f"{k} weights (one per class {gen.classes})", f"{len(weights)} weights",
                 "Pass one weight per class.")
        weights = [check_float(f"class_weights[{gen.classes[c]!r}]", w, 0.0) for c, w in enumerate(weights)]
        if sum(weights) <= 0:
            fail("class_weights", "at least one positive weight", weights, "Give some class a weight > 0.")
        # Largest remainder: floor shares, then the leftover items to the largest fractional parts.
        shares = [size * w / sum(weights) for w in weights]
        counts = [int(s) for s in shares]
        for c in sorted(range(k), key=lambda c: (counts[c] - shares[c], c))[: size - sum(counts)]:
            counts[c] += 1
    elif balance_to is not None:
        if size is not None:
            fail("size", "None together with balance_to (the counts follow from the real data)", size,
                 "Drop size, or use class_counts instead of balance_to.")
        check_same_classes(balance_to, gen.classes, "balance_to")
        real_counts = torch.bincount(dataset_targets(balance_to), minlength=k).tolist()
        counts = [max(real_counts) - n for n in real_counts]
        if sum(counts) == 0:
            fail("balance_to", "an imbalanced dataset (it sets each class to the largest class's count)",
                 f"equal class counts {real_counts}", "Nothing to fill: use size=N for extra data.")
    else:
        if size is None:
            fail("size", "the number of items (or class_counts / class_weights / balance_to)", None,
                 "Pass e.g. SyntheticDataset(gen, size=10_000).")
        counts = [size // k + (1 if c < size % k else 0) for c in range(k)]
    total = sum(counts)
    if total < 1:
        fail("class_counts", "a total of at least 1 item", counts, "Give some class a count > 0.")
    if total > MAX_SIZE:
        fail("size", f"at most {MAX_SIZE} items", total, "Use a smaller virtual size (or resample per epoch).")
    return counts


def _key(*parts: Any) -> int:
    # A 64-bit key from any tuple of ints/strings, stable across processes and Python versions.
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "little")


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _splitmix64(counter: np.ndarray, key: int) -> np.ndarray:
    # SplitMix64 (Steele et al., 2014) output for stream position ``counter``: uint64 arrays wrap mod 2**64.
    x = (counter + np.uint64(1)) * _GAMMA + np.uint64(key)
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def _counters(idx: torch.Tensor, z_dim: int) -> np.ndarray:
    # Stream positions of the z values of items idx (n,): (n, z_dim), two positions per value.
    base = idx.numpy().astype(np.uint64)[:, None] * np.uint64(2 * z_dim)
    return base + np.arange(0, 2 * z_dim, 2, dtype=np.uint64)[None, :]


def _uniform(ctr: np.ndarray, key: int) -> np.ndarray:
    # One float64 uniform in (0, 1) per stream position.
    return ((_splitmix64(ctr, key) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _gaussian(idx: torch.Tensor, z_dim: int, key: int) -> torch.Tensor:
    # Counter-based N(0, 1) noise: row i depends only on (key, i), so any subset of items can be
    # drawn in any order. Box-Muller on two uniforms per value. idx (n,) -> (n, z_dim) float32.
    ctr = _counters(idx, z_dim)  # (n, z_dim), even positions
    u1, u2 = _uniform(ctr, key), _uniform(ctr + np.uint64(1), key)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return torch.from_numpy(z.astype(np.float32))


def _truncated_gaussian(idx: torch.Tensor, z_dim: int, key: int, bound: float) -> torch.Tensor:
    # N(0, 1) restricted to [-bound, bound] from one counter-based uniform per value, so it stays a pure
    # function of (key, i) like _gaussian. idx (n,) -> (n, z_dim) float32.
    return truncated_normal(torch.from_numpy(_uniform(_counters(idx, z_dim), key)), bound)
