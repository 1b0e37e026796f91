"""Labelled image data in one normalisation: float32 (N, C, H, W) in [-1, 1] plus class names."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import check_float, check_int, did_you_mean, fail

NAMED_DATASETS = ("digits", "mnist", "fashion-mnist")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not where the loader looked."""


class LabelledImages(Dataset):
    """An in-memory labelled image dataset in ganaug's normalisation.

    ``images`` is a float32 tensor of shape (N, C, H, W) with values in [-1, 1]; ``targets`` is an
    int64 tensor of shape (N,) with values in ``[0, len(classes))``. Items follow torchvision's
    contract: ``dataset[i] -> (image, target)`` with optional ``transform`` / ``target_transform``.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, classes: Sequence[str],
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 name: str = "custom"):
        self.images = images
        self.targets = targets
        self.classes = [str(c) for c in classes]
        self.transform = transform
        self.target_transform = target_transform
        self.name = name

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.targets, minlength=self.num_classes).tolist()

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int):
        image, target = self.images[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def subset(self, indices) -> "LabelledImages":
        """A new dataset holding only ``indices`` (same classes, transforms and name)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return LabelledImages(self.images[idx], self.targets[idx], self.classes, self.transform,
                              self.target_transform, self.name)

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        lines = [f"LabelledImages {self.name!r}", f"    Number of datapoints: {len(self)}",
                 f"    Image shape: ({c}, {h}, {w}), float32 in [-1, 1]",
                 f"    Classes ({self.num_classes}): {self.classes}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


def default_root() -> str:
    """Where named datasets live unless ``root`` is given: $GANAUG_DATA or ./data."""
    return os.environ.get("GANAUG_DATA", "data")


def load_dataset(source: Any = "digits", *, root: str | os.PathLike | None = None, train: bool = True,
                 download: bool = False, n_per_class: int | None = None, seed: int = 0,
                 classes: Sequence[str] | None = None, unlabelled: str | None = None) -> Any:
    """Load labelled images as a :class:`LabelledImages` in [-1, 1], shape (N, C, H, W).

    ``source`` is one of ``"digits"`` (scikit-learn's embedded 8x8 digits, the default),
    ``"mnist"``, ``"fashion-mnist"`` (through torchvision, from ``root``; pass ``download=True`` to
    fetch them), a path to an image folder with one sub-folder per class, a torchvision-style dataset
    of ``(image, label)`` items, or an ``(images, labels)`` pair of arrays/tensors. ``n_per_class``
    takes a seeded stratified subset (see :func:`stratified_subset`).

    ``unlabelled="rest"`` (with ``n_per_class``) returns ``(labelled, pool)``: the same subset, and
    the rest of the data as a float32 tensor (M, C, H, W) in [-1, 1] without labels, in the data's
    order, for :func:`ganaug.pseudo_label` or ``fit(..., unlabelled=pool)``.
    """
    if isinstance(source, LabelledImages):
        data = source
    elif isinstance(source, tuple) and len(source) == 2:
        data = from_arrays(source[0], source[1], classes=classes)
    elif isinstance(source, str) and source.lower() in NAMED_DATASETS:
        data = _load_named(source.lower(), root, train, download)
    elif isinstance(source, (str, os.PathLike)):
        data = _load_folder(Path(source))
    elif hasattr(source, "__getitem__") and hasattr(source, "__len__"):
        data = _from_torch_dataset(source, classes)
    else:
        fail("source", f"one of {NAMED_DATASETS}, an image-folder path, a dataset of (image, label) "
             "items or an (images, labels) tuple", source,
             "Pass e.g. load_dataset('digits') or load_dataset((X, y)).", TypeError)
    if unlabelled is not None:
        return _labelled_and_rest(data, n_per_class, seed, unlabelled)
    if n_per_class is not None:
        data = stratified_subset(data, n_per_class, seed=seed)
    return data


def _labelled_and_rest(data: LabelledImages, n_per_class, seed, unlabelled) -> tuple[LabelledImages, torch.Tensor]:
    if unlabelled != "rest":
        fail("unlabelled", "'rest' or None", unlabelled,
             "Pass unlabelled='rest' to get the images outside the labelled subset as an unlabelled pool.")
    if n_per_class is None:
        fail("n_per_class", "the number of labelled images per class, together with unlabelled='rest'", None,
             "Pass e.g. n_per_class=10.")
    # stratified_subset's seeded draw applied to row numbers: the labelled part is exactly
    # stratified_subset(data, n_per_class, seed), and `rows` says which images it took.
    rows = stratified_subset(LabelledImages(torch.arange(len(data)), data.targets, data.classes), n_per_class,
                             seed).images  # (K * n_per_class,)
    rest = torch.ones(len(data), dtype=torch.bool)
    rest[rows] = False
    if not rest.any():
        fail("n_per_class", f"fewer than the {len(data)} images of the data, so that some are left for the pool",
             n_per_class, "Lower n_per_class, or use unlabelled=None.")
    return data.subset(rows), data.images[rest]


def from_arrays(images: Any, labels: Any, classes: Sequence[str] | None = None,
                value_range: tuple[float, float] | None = None, name: str = "arrays") -> LabelledImages:
    """Build a :class:`LabelledImages` from image and label arrays (numpy or torch).

    Images may be (N, H, W), (N, C, H, W) or (N, H, W, C) with C in {1, 3}. ``value_range`` is the
    pixel range of the input (mapped to [-1, 1]). Without it only unambiguous ranges are assumed:
    uint8 is (0, 255), floats inside [0, 1] are (0, 1), floats inside [-1, 1] with negative values are
    already normalised; anything else (e.g. scikit-learn's digits, floats 0..16, or 16-bit images)
    is refused with a message asking for ``value_range``. ``labels`` are integer class indices (whole
    floats are accepted) or class-name strings (mapped in the order of ``classes``, else sorted).
    """
    x = _as_float_images(images, value_range)
    y, classes = _as_labels(labels, x.shape[0], classes)
    if classes is None:
        num_classes = int(y.max()) + 1
        classes = [str(i) for i in range(num_classes)]
    else:
        classes = [str(c) for c in classes]
        if int(y.max()) >= len(classes):
            fail("labels", f"values in [0, {len(classes) - 1}] (one per class name)", int(y.max()),
                 "Pass one class name per label value, or remap labels to 0..K-1.")
    counts = torch.bincount(y, minlength=len(classes))
    empty = [i for i, c in enumerate(counts.tolist()) if c == 0]
    if empty:
        fail("labels", "at least one sample in every class", f"no samples for class(es) {empty}",
             "Remap labels to 0..K-1 without gaps, or drop the empty class from `classes`.")
    return LabelledImages(x, y, classes, name=name)


def _as_float_images(images: Any, value_range) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        if images.dtype == object or not (np.issubdtype(images.dtype, np.number) or images.dtype == bool):
            fail("images", "a numeric array", f"dtype {images.dtype}", "Convert images to uint8 or float.",
                 TypeError)
        x = torch.from_numpy(np.ascontiguousarray(images))
    elif isinstance(images, torch.Tensor):
        x = images.detach().cpu()
    else:
        fail("images", "a numpy array or torch tensor", type(images).__name__,
             "Stack your images into one array of shape (N, C, H, W) or (N, H, W).", TypeError)
    if x.dtype == torch.bool or x.is_complex():
        fail("images", "real-valued pixels (uint8 or float)", f"dtype {x.dtype}",
             "Convert images to uint8 or float.", TypeError)
    if x.ndim == 3:
        x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    elif x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        fail("images", "shape (N, H, W), (N, C, H, W) or (N, H, W, C) with C in {1, 3}", tuple(x.shape),
             "Reshape your images, e.g. X.reshape(-1, 28, 28) for flat 784-pixel MNIST rows.")
    if x.shape[0] == 0:
        fail("images", "at least one image", "an empty array", "Pass a non-empty dataset.")
    if min(x.shape[2:]) < 8 or max(x.shape[2:]) > 64:
        fail("images", "height and width between 8 and 64 pixels", tuple(x.shape[2:]),
             "Resize your images into that range (e.g. torchvision.transforms.Resize(32)).")
    x = x.to(torch.float32)
    if not torch.isfinite(x).all():
        fail("images", "finite pixel values", "NaN or inf pixels",
             "Clean or drop the broken images before loading.")
    lo_x, hi_x = float(x.min()), float(x.max())
    explicit = value_range is not None
    if value_range is None:
        value_range = _guess_range(images, lo_x, hi_x)
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2):
        fail("value_range", "a (low, high) pair", value_range, "Pass e.g. value_range=(0, 255).", TypeError)
    lo, hi = check_float("value_range", value_range[0]), check_float("value_range", value_range[1])
    if not hi > lo:
        fail("value_range", "(low, high) with high > low", value_range, "Pass the pixel range of your data.")
    if lo_x < lo - 1e-6 or hi_x > hi + 1e-6:
        fail("images", f"pixel values inside value_range {(lo, hi)}", (lo_x, hi_x),
             f"Pass value_range=(low, high) covering your data, e.g. value_range=({_nice(min(lo, lo_x))}, "
             f"{_nice(max(hi, hi_x))}).")
    if explicit and hi_x > lo_x and (hi_x - lo_x) < 0.1 * (hi - lo):
        warnings.warn(f"images: the pixels span only [{lo_x:g}, {hi_x:g}] of value_range ({lo:g}, {hi:g}), so "
                      f"the images come out nearly flat. If that is not intended, pass value_range=({_nice(lo_x)}, "
                      f"{_nice(hi_x)}) or the range your data was stored in.", UserWarning, stacklevel=4)
    if (lo, hi) == (-1.0, 1.0):
        return x.contiguous()  # already ganaug's range: bit-exact (the mapping below may move the last bit)
    return ((x - lo) / (hi - lo) * 2.0 - 1.0).contiguous()


def _nice(v: float) -> str:
    return f"{v:g}" if v != int(v) else str(int(v))


def _guess_range(images, lo_x: float, hi_x: float) -> tuple[float, float]:
    # Only unambiguous cases are guessed: uint8 is 0..255, floats inside [0, 1] are 0..1, floats
    # inside [-1, 1] with negatives are already normalised. Anything else needs the caller's range.
    dtype = images.dtype
    if dtype in (np.uint8, torch.uint8):
        return 0.0, 255.0
    is_float = (np.issubdtype(dtype, np.floating) if isinstance(dtype, np.dtype) else dtype.is_floating_point)
    if not is_float:
        sixteen = "16" in str(dtype)
        fail("images", "uint8 or float pixels (other integer types have no standard range)",
             f"dtype {dtype} with values in [{lo_x:g}, {hi_x:g}]",
             "Pass value_range=(low, high), the range your pixels were stored in, e.g. "
             + ("(0, 65535) for 16-bit images or (0, 4095) for 12-bit ones." if sixteen
                else f"({_nice(min(lo_x, 0.0))}, {_nice(hi_x)}) or (0, 255) for 8-bit pixels."))
    if lo_x >= 0.0 and hi_x <= 1.0:
        return 0.0, 1.0
    if lo_x >= -1.0 and hi_x <= 1.0:
        return -1.0, 1.0
    fail("images", "float pixels in [0, 1] or [-1, 1] (the ranges ganaug assumes for floats)",
         f"values in [{lo_x:g}, {hi_x:g}]",
         f"Pass value_range=(low, high), the range your pixels were stored in, e.g. "
         f"value_range=({_nice(min(lo_x, 0.0))}, {_nice(hi_x)}) (scikit-learn's digits: (0, 16); 8-bit pixels "
         "as floats: (0, 255)).")


def _as_labels(labels: Any, n: int, classes: Sequence[str] | None) -> tuple[torch.Tensor, list[str] | None]:
    """Labels -> int64 (n,) class indices, plus class names when the labels were names."""
    if not isinstance(labels, torch.Tensor):
        arr = np.asarray(labels)
        if arr.dtype.kind in "USO":  # class names: map them to indices, in the order of `classes` or sorted
            names = [str(v) for v in arr.reshape(-1)]
            if arr.dtype.kind == "O" and not all(isinstance(v, str) for v in arr.reshape(-1)):
                fail("labels", "integer class indices or class-name strings", f"objects of type "
                     f"{type(arr.reshape(-1)[0]).__name__}", "Convert labels to integers 0..K-1 or to strings.",
                     TypeError)
            order = [str(c) for c in classes] if classes is not None else sorted(set(names))
            index = {c: i for i, c in enumerate(order)}
            unknown = sorted(set(names) - set(index))
            if unknown:
                fail("labels", f"names from classes {order[:10]}", unknown[:5],
                     "Pass classes=... listing every label name, or leave classes out.")
            labels = np.array([index[v] for v in names], dtype=np.int64).reshape(arr.shape)
            classes = order
        else:
            labels = arr
    y = torch.as_tensor(labels) if not isinstance(labels, torch.Tensor) else labels.detach().cpu()
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        if y.dtype.is_floating_point and torch.isfinite(y).all() and bool((y == y.round()).all()):
            y = y.round()
        else:
            bad = y[~torch.isfinite(y) | (y != y.round())][:3].tolist() if y.dtype.is_floating_point else y.dtype
            fail("labels", "integer class indices (whole numbers)", f"dtype {y.dtype} with values such as {bad}",
                 "Convert labels to integers 0..K-1 (e.g. with sklearn.preprocessing.LabelEncoder).", TypeError)
    y = y.to(torch.int64).reshape(-1) if y.ndim <= 1 else y
    if y.ndim != 1 or y.shape[0] != n:
        fail("labels", f"a 1-D array of {n} labels (one per image)", tuple(y.shape),
             "Pass exactly one integer label per image.")
    if int(y.min()) < 0:
        fail("labels", "non-negative class indices", int(y.min()), "Remap labels to 0..K-1.")
    if classes is None and int(y.max()) >= n:  # K classes need K images; also bounds the class count
        fail("labels", f"class indices below the number of images ({n}), every class having an image",
             int(y.max()), "Remap labels to 0..K-1 without gaps (e.g. with sklearn.preprocessing.LabelEncoder).")
    return y, classes


def _load_named(name: str, root, train: bool, download: bool) -> LabelledImages:
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        data = from_arrays(bunch.images.astype(np.float32), bunch.target, value_range=(0.0, 16.0),
                           classes=[str(c) for c in bunch.target_names], name="digits")
        return data
    import torchvision

    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    root = Path(root if root is not None else default_root())
    folder = root / cls.__name__ / "raw"
    prefix = "train" if train else "t10k"
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    paths = [_find_raw(folder, stem) for stem in stems]
    if None in paths and download:
        try:
            cls(root=str(root), train=train, download=True)
        except Exception as err:  # no network, proxy, checksum, disk: all end the same way for the user
            reason = " ".join(str(err).split())[:160] or type(err).__name__
            mirror = cls.mirrors[0]
            raise DatasetNotFoundError(
                f"{name}: the download failed ({reason}). On a machine with network, fetch "
                f"{', '.join(s + '.gz' for s in stems)} from {mirror} and put them (as .gz or unpacked) into "
                f"{folder.resolve()}, then run again without download.") from None
        paths = [_find_raw(folder, stem) for stem in stems]
    if None in paths:
        raise DatasetNotFoundError(
            f"{name} not found: looked for {' and '.join(stems)} (or the same names with .gz) in "
            f"{folder.resolve()}. Pass download=True (CLI: --download) to fetch it, or point root (CLI: --root) "
            f"at the folder that contains {cls.__name__}/raw (e.g. root='data').")
    images, labels = _read_idx(paths[0], 3), _read_idx(paths[1], 1)
    if images.shape[0] != labels.shape[0]:
        fail("root", f"matching {name} image and label files", f"{images.shape[0]} images and "
             f"{labels.shape[0]} labels in {folder}", "Replace the files with the official ones.")
    return from_arrays(images, labels.astype(np.int64), classes=list(cls.classes), name=name)


# The largest IDX payload read (bytes): MNIST's training images are 47 MB; a header claiming more is refused
# before anything is allocated.
MAX_IDX_BYTES = 1 << 30


def _find_raw(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """One unsigned-byte IDX file (LeCun's MNIST format), plain or gzipped -> uint8 array with ``ndim`` axes."""
    import gzip
    import struct
    import zlib

    def bad(what: str):
        fail("root", f"an IDX file of {ndim}-D unsigned bytes (the official MNIST format)", f"{what} in {path}",
             "Replace it with the official file (or pass download=True after deleting it).")

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] != 0x08 or head[3] != ndim:
                bad(f"header {head.hex() or 'empty'}")
            dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
            if ndim > 1 and not (8 <= dims[1] <= 64 and 8 <= dims[2] <= 64):
                bad(f"images of {dims[1]}x{dims[2]} pixels")
            size = int(np.prod(dims, dtype=np.int64))
            if size > MAX_IDX_BYTES:
                bad(f"a header claiming {size:,} bytes")
            payload = f.read(size + 1)
    except struct.error:
        bad("a truncated header")
    except (OSError, EOFError, zlib.error) as err:
        bad(f"unreadable data ({' '.join(str(err).split())[:80]})")
    if len(payload) != size:
        bad(f"{len(payload):,} data bytes where the header says {size:,}")
    return np.frombuffer(bytearray(payload), dtype=np.uint8).reshape(dims)  # writable: torch shares it


def _load_folder(path: Path) -> LabelledImages:
    if not path.is_dir():
        hint = did_you_mean(str(path), NAMED_DATASETS)
        raise DatasetNotFoundError(
            f"source: {str(path)!r} is neither a known dataset name {NAMED_DATASETS} nor an existing "
            f"folder. {hint + ' ' if hint else ''}Pass a dataset name or a folder with one sub-folder of images "
            "per class.")
    from PIL import Image

    class_dirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise DatasetNotFoundError(f"source: {str(path)!r} has no class sub-folders. Lay it out as "
                                   "root/<class name>/<image files>.")
    arrays, labels = [], []
    for label, d in enumerate(class_dirs):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file())
        if not files:
            fail("source", "at least one image per class folder", f"no images in {d}",
                 "Remove the empty folder or add images to it.")
        for f in files:
            arrays.append(_read_image(f, Image))
            labels.append(label)
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        fail("source", "images of one size", sorted(shapes)[:3], "Resize all images to the same size first.")
    x = np.stack(arrays)  # (N, H, W, 3)
    if all(np.array_equal(x[..., 0], x[..., c]) for c in (1, 2)):
        x = x[..., 0]  # greyscale saved as RGB -> (N, H, W)
    return from_arrays(x, np.asarray(labels), classes=[d.name for d in class_dirs], name=path.name)


def _read_image(f: Path, Image) -> np.ndarray:
    """One 8-bit image file -> (H, W, 3) uint8; refuses what would be converted silently wrong."""
    def refuse(got: str, fix: str):
        fail("source", "8-bit greyscale, palette or RGB images of 8 to 64 pixels a side", f"{got} in {f}", fix)

    try:
        with Image.open(f) as im:
            # Checked on the header, before the pixels are decoded (a huge image is refused unread).
            if not (8 <= min(im.size) and max(im.size) <= 64):
                refuse(f"a {im.size[0]}x{im.size[1]} image", "Resize the images to 8..64 pixels a side first.")
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                refuse(f"a {'16-bit' if '16' in im.mode else '32-bit'} image (mode {im.mode})",
                       "Convert the images to 8 bits first, scaling them as you need (converting here would clip).")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
                if (alpha < 255).any():
                    refuse("an image with transparent pixels", "Flatten the images onto a background first.")
            return np.asarray(im.convert("RGB"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, ValueError) and str(err).startswith("source:"):
            raise
        refuse(f"an unreadable image ({' '.join(str(err).split())[:80]})", "Remove or replace the file.")


def _from_torch_dataset(ds, classes) -> LabelledImages:
    images, labels = [], []
    for i in range(len(ds)):
        image, label = ds[i]
        if hasattr(image, "mode") and hasattr(image, "size"):  # PIL image
            image = np.asarray(image)
        elif isinstance(image, torch.Tensor):
            image = image.numpy()
        images.append(np.asarray(image))
        labels.append(int(label))
    if not images:
        fail("source", "a non-empty dataset", "0 items", "Pass a dataset with at least one item.")
    if len({im.shape for im in images}) != 1:
        fail("source", "items of one image shape", sorted({im.shape for im in images})[:3],
             "Add a Resize transform to the dataset.")
    classes = classes if classes is not None else getattr(ds, "classes", None)
    return from_arrays(np.stack(images), np.asarray(labels), classes=classes,
                       name=type(ds).__name__)


def fingerprint(data: LabelledImages) -> str:
    """16 hex digits of the SHA-256 of the images (float32), labels, shape and class names."""
    h = hashlib.sha256(json.dumps({"shape": list(data.images.shape), "classes": data.classes}).encode())
    h.update(data.images.detach().cpu().to(torch.float32).contiguous().numpy())
    h.update(data.targets.detach().cpu().to(torch.int64).contiguous().numpy())
    return h.hexdigest()[:16]


def stratified_subset(data: LabelledImages, n_per_class: int, seed: int = 0) -> LabelledImages:
    """Take exactly ``n_per_class`` images of every class, chosen by a seeded stratified draw."""
    n_per_class = check_int("n_per_class", n_per_class, minimum=1)
    counts = data.class_counts()
    if n_per_class > min(counts):
        worst = int(np.argmin(counts))
        fail("n_per_class", f"at most {min(counts)} (the smallest class, {data.classes[worst]!r}, "
             f"has {min(counts)} images)", n_per_class, "Lower n_per_class or use the full dataset.")
    return _draw_per_class(data, [n_per_class] * data.num_classes, seed)


def long_tail_counts(num_classes: int, ratio: float, n_max: int) -> list[int]:
    """Per-class counts of an exponential long tail: ``round(n_max * ratio ** (-c / (K - 1)))`` for class c.

    Class 0 gets ``n_max``, class K-1 gets ``n_max / ratio`` (rounded); ``ratio`` is the imbalance
    ratio, largest / smallest class (Cui et al., 2019, "Class-balanced loss"; the long-tailed CIFAR
    profile). Every class keeps at least one image, else a ValueError says how to fix it.
    """
    k = check_int("num_classes", num_classes, minimum=2, fix="A long tail needs at least 2 classes.")
    ratio = check_float("ratio", ratio, 1.0, fix="Pass the imbalance ratio largest / smallest class, >= 1 "
                        "(1 = balanced), e.g. ratio=10.")
    n_max = check_int("n_max", n_max, minimum=1)
    counts = [round(n_max * ratio ** (-c / (k - 1))) for c in range(k)]
    if counts[-1] < 1:
        fail("ratio", f"a ratio below {2 * n_max} with n_max={n_max}, so that the rarest class keeps an image",
             ratio, "Lower the ratio or raise n_max.")
    return counts


def long_tailed_subset(data: LabelledImages, ratio: float, n_max: int, seed: int = 0) -> LabelledImages:
    """A seeded long-tailed subset: class c gets ``long_tail_counts(K, ratio, n_max)[c]`` images.

    Class 0 is the largest (``n_max`` images), the last class the smallest (``n_max / ratio``); the
    images of each class are drawn without replacement by one RNG seeded with ``seed``.
    """
    counts = long_tail_counts(data.num_classes, ratio, n_max)
    available = data.class_counts()
    short = [c for c in range(data.num_classes) if counts[c] > available[c]]
    if short:
        c = short[0]
        fail("n_max", f"a long tail that fits the data (class {data.classes[c]!r} has only {available[c]} "
             f"images, the tail asks for {counts[c]})", n_max,
             "Lower n_max, or use a larger dataset.")
    return _draw_per_class(data, counts, seed)


def _draw_per_class(data: LabelledImages, counts: Sequence[int], seed: Any) -> LabelledImages:
    from sklearn.utils import check_random_state

    y = data.targets.numpy()
    # Class c contributes exactly counts[c], drawn without replacement by one seeded RNG, class by class.
    rng = check_random_state(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), counts[c], replace=False)
                          for c in range(data.num_classes)])
    return data.subset(np.sort(idx))


def train_val_split(data: LabelledImages, val_fraction: float = 0.2, seed: int = 0
                    ) -> tuple[LabelledImages, LabelledImages]:
    """Split into stratified (train, validation) parts; the same seed gives the same split."""
    val_fraction = check_float("val_fraction", val_fraction, 0.0, 1.0, low_open=True)
    if val_fraction >= 1.0:
        fail("val_fraction", "a fraction in (0, 1)", val_fraction, "Pass e.g. val_fraction=0.2.")
    n_val = int(round(val_fraction * len(data)))
    counts = data.class_counts()
    if n_val < data.num_classes or len(data) - n_val < data.num_classes or min(counts) < 2:
        fail("val_fraction", f"a split leaving every one of {data.num_classes} classes on both sides",
             f"{n_val} validation images from {len(data)} (smallest class has {min(counts)})",
             "Use a larger dataset or a different val_fraction.")
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(data))
    tr, va = train_test_split(idx, test_size=n_val, stratify=data.targets.numpy(), random_state=seed)
    return data.subset(np.sort(tr)), data.subset(np.sort(va))
