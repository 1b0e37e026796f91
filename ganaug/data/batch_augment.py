"""The digit augmentation on whole batches in torch: the same distortions as ``digit_augmentation``,
at a fraction of the cost, on the CPU or the GPU.

Albumentations transforms one uint8 image at a time on the CPU. Here one ``grid_sample`` warps the
whole batch, and the elastic fields are blurred by two small matrix products, so the batch stays on
the GPU when it is there.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._checks import check_float, check_int, fail


def _blur_matrix(n: int, sigma: float) -> torch.Tensor:
    """(n, n) Gaussian blur with a replicated border (as ``cv2.BORDER_REPLICATE``): blurred = M @ v."""
    r = math.ceil(4 * sigma)  # cv2's automatic kernel size for float images
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    m = torch.zeros(n, n, dtype=torch.float64)
    rows = torch.arange(n)
    for off, w in zip(range(-r, r + 1), k):
        m[rows, (rows + off).clamp(0, n - 1)] += w  # taps past the border fall on the edge pixel
    return m.float()


class DigitAugment:
    """:func:`digit_augmentation`'s distortions applied to a whole batch at once, in torch.

    Per image, with probability ``p_affine``: rotation +-``rotate`` deg, shear +-``shear`` deg on each
    axis, scale ``scale`` on each axis, translation +-``translate`` of the size; then with probability
    ``p_elastic`` an elastic distortion (Simard et al. 2003: Gaussian noise scaled to [-1, 1], blurred
    with ``sigma`` px, times ``alpha`` px; both scaled by ``image_size / 28``). Both warps are composed
    into one bilinear resampling; the border is filled with ``fill`` (ganaug's black, -1).

    Call it on a batch (B, C, H, W) or one image (C, H, W) of floats in [-1, 1], on any device; the
    random draws come from its own generator seeded by ``seed`` (on the CPU), so a sequence of calls is
    reproducible and the global RNG is left alone. Pass it as ``train_classifier(..., augment=...)``.
    """

    def __init__(self, image_size: int = 28, seed: int = 0, rotate: float = 12.0, shear: float = 8.0,
                 scale: tuple[float, float] = (0.9, 1.1), translate: float = 0.08, p_affine: float = 0.9,
                 alpha: float = 34.0, sigma: float = 4.0, p_elastic: float = 0.5, fill: float = -1.0):
        self.image_size = check_int("image_size", image_size, minimum=1)
        self.seed = check_int("seed", seed)
        self.rotate = check_float("rotate", rotate, 0.0, 180.0)
        self.shear = check_float("shear", shear, 0.0, 60.0)
        if (not isinstance(scale, (tuple, list)) or len(scale) != 2
                or not 0 < float(scale[0]) <= float(scale[1])):
            fail("scale", "a (low, high) pair with 0 < low <= high", scale, "Pass e.g. scale=(0.9, 1.1).")
        self.scale = (float(scale[0]), float(scale[1]))
        self.translate = check_float("translate", translate, 0.0, 1.0)
        self.p_affine = check_float("p_affine", p_affine, 0.0, 1.0)
        self.p_elastic = check_float("p_elastic", p_elastic, 0.0, 1.0)
        k = image_size / 28.0
        self.alpha = check_float("alpha", alpha, 0.0) * k
        self.sigma = check_float("sigma", sigma, 0.0, low_open=True) * k
        self.fill = check_float("fill", fill)
        self.generator = torch.Generator().manual_seed(self.seed)
        self._blur: dict[int, torch.Tensor] = {}

    def __repr__(self) -> str:
        return (f"DigitAugment(image_size={self.image_size}, seed={self.seed}, rotate={self.rotate}, "
                f"shear={self.shear}, scale={self.scale}, translate={self.translate}, p_affine={self.p_affine}, "
                f"alpha={self.alpha:g}, sigma={self.sigma:g}, p_elastic={self.p_elastic})")

    def _blur_for(self, n: int) -> torch.Tensor:
        if n not in self._blur:
            self._blur[n] = _blur_matrix(n, self.sigma)
        return self._blur[n]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4) or not x.is_floating_point():
            fail("x", "a float tensor (B, C, H, W) or (C, H, W) in [-1, 1]",
                 f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__,
                 "Convert the images with ganaug.to_ganaug_tensor first.", TypeError)
        if x.ndim == 3:
            return self(x[None])[0]
        b, _, h, w = x.shape
        g = self.generator

        def uniform(lo: float, hi: float) -> torch.Tensor:  # (B,)
            return lo + (hi - lo) * torch.rand(b, generator=g)

        # Affine, as albumentations composes it about the centre: translate @ shear @ rotate @ scale.
        rot = torch.deg2rad(uniform(-self.rotate, self.rotate))
        shear_x = torch.tan(torch.deg2rad(uniform(-self.shear, self.shear)))
        shear_y = torch.tan(torch.deg2rad(uniform(-self.shear, self.shear)))
        scale_x, scale_y = uniform(*self.scale), uniform(*self.scale)
        shift = torch.stack([uniform(-self.translate, self.translate) * w,
                             uniform(-self.translate, self.translate) * h], -1)  # (B, 2) px
        affine_on = torch.rand(b, generator=g) < self.p_affine  # (B,)
        cos, sin = torch.cos(rot), torch.sin(rot)
        ones, zeros = torch.ones(b), torch.zeros(b)
        rs = torch.stack([torch.stack([cos * scale_x, sin * scale_y], -1),
                          torch.stack([-sin * scale_x, cos * scale_y], -1)], 1)  # rotate @ scale, (B, 2, 2)
        sh = torch.stack([torch.stack([ones, shear_x], -1), torch.stack([shear_y, ones], -1)], 1)  # (B, 2, 2)
        a = torch.where(affine_on[:, None, None], sh @ rs, torch.eye(2).expand(b, 2, 2))
        shift = shift * affine_on[:, None]
        a_inv = torch.linalg.inv(a)  # output -> input coordinates, (B, 2, 2)

        # Elastic field (B, 2, H, W) in px: noise scaled to [-1, 1] per image, blurred, times alpha.
        noise = torch.randn(b, 2, h, w, generator=g)
        noise = noise / noise.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
        elastic_on = torch.rand(b, generator=g) < self.p_elastic  # (B,)
        field = self._blur_for(h) @ noise @ self._blur_for(w).T * (self.alpha * elastic_on)[:, None, None, None]

        # Output pixel -> displaced by the elastic field -> back through the affine map -> input pixel.
        cy, cx = (h - 1) / 2, (w - 1) / 2
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")  # (H, W)
        qx = xs + field[:, 0] - cx - shift[:, 0, None, None]  # (B, H, W), centred
        qy = ys + field[:, 1] - cy - shift[:, 1, None, None]
        ix = a_inv[:, 0, 0, None, None] * qx + a_inv[:, 0, 1, None, None] * qy
        iy = a_inv[:, 1, 0, None, None] * qx + a_inv[:, 1, 1, None, None] * qy
        grid = torch.stack([ix / max(cx, 0.5), iy / max(cy, 0.5)], -1)  # (B, H, W, 2), align_corners=True
        # Sampling x - fill with zero padding fills the border with `fill`.
        out = F.grid_sample(x - self.fill, grid.to(x.device, x.dtype), mode="bilinear", padding_mode="zeros",
                            align_corners=True)
        return out + self.fill
