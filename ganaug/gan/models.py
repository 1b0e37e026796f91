"""Class-conditional generator/discriminator pairs, sized from the image shape.

``mlp``: the classic dense GAN of Goodfellow et al. (dense layers, leaky ReLU, tanh output) with the
label embedded and concatenated to the noise in G and projected onto D's features (Miyato & Koyama,
2018). ``dcgan``: Radford et al.'s strided-convolution pair with the same conditioning.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from .._blocks import run_in_blocks
from .._checks import check_choice, check_float, check_int, fail
from .._files import save_weights

ARCHS = ("mlp", "dcgan")
GENERATOR_FORMAT = "ganaug.generator"  # the file of gen.save; gan/checkpoint.py reads it back


def check_truncation(truncation: object) -> float:
    """A truncation bound on |z|: a number > 0 (the one check of sample() and SyntheticDataset)."""
    return check_float("truncation", truncation, 0.0, low_open=True,
                       fix="Pass a bound > 0 on |z| (e.g. truncation=1.0), or None for the full Gaussian.")


def truncated_normal(u: torch.Tensor, bound: float) -> torch.Tensor:
    """N(0, 1) cut to [-bound, bound] by the inverse CDF of uniforms ``u`` in (0, 1) (float64); float32 out."""
    lo = torch.special.ndtr(torch.tensor(-float(bound), dtype=torch.float64))
    return torch.special.ndtri(lo + u * (1.0 - 2.0 * lo)).clamp(-bound, bound).float()


class ConditionalGenerator(nn.Module):
    """A trained (or trainable) class-conditional generator: ``G(z, y) -> images in [-1, 1]``.

    ``spec`` holds everything needed to rebuild the network (architecture, image shape, classes,
    noise size, width); it is saved as JSON next to the weights by :meth:`save`.
    """

    def __init__(self, spec: dict[str, Any]):
        super().__init__()
        self.spec = dict(spec)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.spec["image_shape"])  # type: ignore[return-value]

    @property
    def classes(self) -> list[str]:
        return list(self.spec["classes"])

    @property
    def num_classes(self) -> int:
        return len(self.spec["classes"])

    @property
    def z_dim(self) -> int:
        return int(self.spec["z_dim"])

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def sample(self, n: int, labels: Any = None, seed: int | None = None,
               truncation: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Generate ``n`` images; returns CPU tensors ``(images (n, C, H, W) in [-1, 1], labels (n,))``.

        ``labels``: ``None`` cycles through the classes (balanced), an int draws one class, a
        sequence/tensor of ``n`` class indices draws exactly those. The same ``seed`` gives the same
        images, bit for bit. ``truncation``: noise from a Gaussian truncated to ``|z| <= truncation``
        (the truncation trick: more typical images, less variety); ``None`` the full Gaussian.
        """
        n = check_int("n", n, minimum=1)
        y = self.expand_labels(n, labels)
        rng = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        if truncation is None:
            z = torch.randn(n, self.z_dim, generator=rng)  # (n, z_dim), drawn on CPU for determinism
        else:
            bound = check_truncation(truncation)
            z = truncated_normal(torch.rand(n, self.z_dim, generator=rng, dtype=torch.float64), bound)
        was_training = self.training
        self.eval()
        images = run_in_blocks(self, z, y, device=self.device)  # (n, C, H, W) float32 CPU
        self.train(was_training)
        return images, y

    def expand_labels(self, n: int, labels: Any) -> torch.Tensor:
        """Turn the ``labels`` argument of :meth:`sample` into an int64 tensor of shape (n,)."""
        k = self.num_classes
        if labels is None:
            return torch.arange(n) % k
        if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
            y = torch.full((n,), int(labels), dtype=torch.long)
        else:
            try:
                y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels))
            except (TypeError, ValueError):
                fail("labels", "None, an int or a sequence of ints", labels,
                     "Pass class indices, e.g. labels=3 or labels=[0, 1, 2].", TypeError)
            if y.dtype.is_floating_point or y.dtype == torch.bool or y.ndim != 1:
                fail("labels", "a 1-D sequence of integer class indices", labels,
                     "Pass class indices, e.g. labels=[0, 1, 2].", TypeError)
            if y.shape[0] != n:
                fail("labels", f"{n} labels (one per sample)", f"{y.shape[0]} labels",
                     "Pass one label per sample, or a single int for all of them.")
            y = y.to(torch.long)
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
            bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
            fail("labels", f"class indices in [0, {k - 1}] (this generator's classes: {self.classes})",
                 bad, "Pass labels this generator was trained on.")
        return y

    def save(self, path) -> None:
        """Write the generator (weights + JSON spec) atomically; reload with ``ganaug.load_generator``."""
        save_weights(path, GENERATOR_FORMAT, self.spec, self.state_dict(), "generator")

    def extra_repr(self) -> str:
        return f"arch={self.spec['arch']!r}, image_shape={self.image_shape}, classes={self.num_classes}"


class MLPGenerator(ConditionalGenerator):
    def __init__(self, spec):
        super().__init__(spec)
        c, h, w = self.image_shape
        width = spec["width"]
        self.embed = nn.Embedding(self.num_classes, spec["embed_dim"])
        dims = [self.z_dim + spec["embed_dim"], 8 * width, 16 * width, 32 * width]
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(dims[-1], c * h * w), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, y):  # z: (B, z_dim), y: (B,) -> (B, C, H, W)
        x = self.net(torch.cat([z, self.embed(y)], dim=1))
        return x.view(-1, *self.image_shape)


class DCGANGenerator(ConditionalGenerator):
    def __init__(self, spec):
        super().__init__(spec)
        c, h, w = self.image_shape
        width = spec["width"]
        # Two stride-2 upsamplings: start at ceil(size / 4) and crop the excess at the end.
        self.h0, self.w0 = math.ceil(h / 4), math.ceil(w / 4)
        self.embed = nn.Embedding(self.num_classes, spec["embed_dim"])
        self.fc = nn.Linear(self.z_dim + spec["embed_dim"], 4 * width * self.h0 * self.w0)
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, c, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z, y):  # z: (B, z_dim), y: (B,) -> (B, C, H, W)
        x = self.fc(torch.cat([z, self.embed(y)], dim=1))
        x = self.net(x.view(x.shape[0], -1, self.h0, self.w0))  # (B, C, 4*h0, 4*w0)
        _, h, w = self.image_shape
        return x[:, :, :h, :w]


class ConditionalDiscriminator(nn.Module):
    """``D(x, y) -> logit`` (B,): unconditional head plus label projection onto the features."""

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int, spectral: bool,
                 mbstd_group: int = 0, aux_classifier: bool = False, twin_classifier: bool = False):
        super().__init__()
        wrap = _sn if spectral else (lambda m: m)
        self.features = features
        self.mbstd_group = mbstd_group
        dim = feature_dim + (1 if mbstd_group else 0)
        self.head = wrap(nn.Linear(dim, 1))
        self.embed = wrap(nn.Embedding(num_classes, dim))
        # Auxiliary class head (Odena et al., 2017): class logits from the same features.
        self.classify = wrap(nn.Linear(dim, num_classes)) if aux_classifier else None
        # Twin class head (TAC-GAN, Gong et al., 2019), trained on generated images: G's loss subtracts
        # its cross-entropy, which cancels AC-GAN's pull towards easy-to-classify prototypes.
        self.twin = wrap(nn.Linear(dim, num_classes)) if aux_classifier and twin_classifier else None

    def forward(self, x, y, with_class: bool = False):
        # x: (B, C, H, W), y: (B,) -> logit (B,), or with_class (logit (B,), class logits (B, K)),
        # plus the twin head's class logits (B, K) when D has one
        h = self.features(x)  # (B, F)
        if self.mbstd_group:
            # Minibatch standard deviation (Karras et al., 2018): D sees how much a group of samples
            # varies, so a G that draws the same image again and again is easy to spot.
            # Groups are runs of g consecutive samples, so a batch of real images followed by one of
            # generated images (each a multiple of g) never mixes the two in a group.
            b, g = h.shape[0], self.mbstd_group
            if b % g:  # a partial group would silently mix samples of different batches (or real and fake)
                fail("x", f"a batch size divisible by the minibatch-stddev group size {g}", b,
                     "Pass batches of a multiple of minibatch_std images (training does).")
            std = h.view(b // g, g, -1).std(dim=1, unbiased=False).mean(dim=1)  # (B/g,)
            h = torch.cat([h, std.repeat_interleave(g)[:, None]], dim=1)  # (B, F + 1)
        logit = self.head(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
        if not with_class:
            return logit
        if self.classify is None:
            fail("with_class", "a discriminator built with aux_classifier=True", "no class head",
                 "Build it with build_discriminator(spec, aux_classifier=True).")
        if self.twin is None:
            return logit, self.classify(h)
        return logit, self.classify(h), self.twin(h)


def default_spec(arch: str, image_shape: Sequence[int], classes: Sequence[str], z_dim: int = 64,
                 width: int | None = None, embed_dim: int = 32) -> dict[str, Any]:
    """The JSON-serialisable description from which G and D are built."""
    check_choice("arch", arch, ARCHS)
    if len(image_shape) != 3 or image_shape[0] not in (1, 3):
        fail("image_shape", "(C, H, W) with C in {1, 3}", tuple(image_shape), "Pass the dataset's image_shape.")
    if len(classes) < 1:
        fail("classes", "at least one class name", list(classes), "Pass the dataset's classes.")
    z_dim = check_int("z_dim", z_dim, minimum=1)
    width = check_int("width", width if width is not None else 32, minimum=1)
    return {"arch": arch, "image_shape": [int(s) for s in image_shape], "classes": [str(c) for c in classes],
            "z_dim": z_dim, "width": width, "embed_dim": check_int("embed_dim", embed_dim, minimum=1)}


def build_generator(spec: dict[str, Any]) -> ConditionalGenerator:
    return {"mlp": MLPGenerator, "dcgan": DCGANGenerator}[check_choice("arch", spec["arch"], ARCHS)](spec)


def build_discriminator(spec: dict[str, Any], spectral_norm: bool = True, mbstd_group: int = 0,
                        aux_classifier: bool = False, twin_classifier: bool = False) -> ConditionalDiscriminator:
    c, h, w = spec["image_shape"]
    width = spec["width"]
    wrap = _sn if spectral_norm else (lambda m: m)
    if spec["arch"] == "mlp":
        feature_dim = 8 * width
        features = nn.Sequential(
            nn.Flatten(), wrap(nn.Linear(c * h * w, 16 * width)), nn.LeakyReLU(0.2),
            wrap(nn.Linear(16 * width, 8 * width)), nn.LeakyReLU(0.2))
    else:
        features = nn.Sequential(
            wrap(nn.Conv2d(c, width, 4, 2, 1)), nn.LeakyReLU(0.2),
            wrap(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.LeakyReLU(0.2),
            wrap(nn.Conv2d(2 * width, 4 * width, 3, 1, 1)), nn.LeakyReLU(0.2),
            nn.Flatten())
        with torch.no_grad():  # eval(): no power iteration, so the spectral-norm state is untouched
            feature_dim = features.eval()(torch.zeros(1, c, h, w)).shape[1]
        features.train()
    return ConditionalDiscriminator(features, feature_dim, len(spec["classes"]), spectral_norm, mbstd_group,
                                    aux_classifier, twin_classifier)
