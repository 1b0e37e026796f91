"""Differentiable augmentation (Zhao et al., 2020, "DiffAugment") for small-data GAN training.

The same random translation/cutout is applied to real and generated batches before D sees them, so
D cannot memorise the few real images, while gradients still flow to G through the augmentation.
All randomness comes from the caller's ``torch.Generator`` so that resumed training is bit-exact.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import fail

POLICIES = ("translation", "cutout")


def parse_policy(policy: str | None) -> tuple[str, ...]:
    if policy in (None, "", "none"):
        return ()
    parts = tuple(p.strip() for p in str(policy).split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        fail("augment", f"a comma-separated subset of {POLICIES}, 'none' or 'auto'", policy,
             "Pass e.g. augment='translation,cutout'.")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], rng: torch.Generator,
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5) -> torch.Tensor:
    """Augment a batch (B, C, H, W); differentiable with respect to ``x``."""
    for p in policy:
        x = _translation(x, rng, translation_ratio) if p == "translation" else _cutout(x, rng, cutout_ratio)
    return x


def _translation(x, rng, ratio):
    b, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sh, sh + 1, (b,), generator=rng).to(x.device)
    dx = torch.randint(-sw, sw + 1, (b,), generator=rng).to(x.device)
    # Shift each image by (dy, dx), filling with -1 (background): gather from a padded copy.
    padded = F.pad(x, (sw, sw, sh, sh), value=-1.0)  # (B, C, H+2sh, W+2sw)
    rows = (torch.arange(h, device=x.device)[None, :] + sh - dy[:, None])  # (B, H)
    cols = (torch.arange(w, device=x.device)[None, :] + sw - dx[:, None])  # (B, W)
    bi = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def _cutout(x, rng, ratio):
    b, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    cy = torch.randint(0, h + (1 - ch % 2), (b,), generator=rng).to(x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b,), generator=rng).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    inside_y = (ys >= (cy - ch // 2)[:, None]) & (ys < (cy - ch // 2 + ch)[:, None])  # (B, H)
    inside_x = (xs >= (cx - cw // 2)[:, None]) & (xs < (cx - cw // 2 + cw)[:, None])  # (B, W)
    mask = ~(inside_y[:, :, None] & inside_x[:, None, :])  # (B, H, W): False inside the hole
    # Cut to background (-1) rather than 0, which would be mid-grey in [-1, 1].
    return torch.where(mask[:, None], x, torch.full_like(x, -1.0))
