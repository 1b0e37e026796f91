"""GAN objectives on discriminator logits (B,). D minimises ``d_loss``, G minimises ``g_loss``.

``minimax`` is the game of Goodfellow et al. (2014) exactly: with D(x) = sigmoid(logit),
D maximises E[log D(x)] + E[log(1 - D(G(z)))] and G minimises E[log(1 - D(G(z)))].
Using log(sigmoid(l)) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l) keeps it finite.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._checks import check_choice

LOSSES = ("minimax", "non-saturating", "hinge", "wgan-gp")


def d_loss(name: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss (to minimise) from logits on real (B,) and generated (B,) images."""
    check_choice("loss", name, LOSSES)
    if name in ("minimax", "non-saturating"):
        # -(E[log D(x)] + E[log(1 - D(G(z)))])
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if name == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return fake.mean() - real.mean()  # wgan-gp critic; the penalty is added by the trainer


def g_loss(name: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss (to minimise) from the discriminator's logits on generated images (B,)."""
    check_choice("loss", name, LOSSES)
    if name == "minimax":
        return -F.softplus(fake).mean()  # E[log(1 - D(G(z)))], saturates when D wins
    if name == "non-saturating":
        return F.softplus(-fake).mean()  # -E[log D(G(z))]
    return -fake.mean()  # hinge and wgan-gp


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """Gulrajani et al. (2017): E[(||grad_x D(x_hat, y)||_2 - 1)^2] on x_hat = eps*real + (1-eps)*fake.

    ``eps`` has shape (B, 1, 1, 1) and is drawn by the caller so training stays reproducible.
    """
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)  # (B, C, H, W)
    out = critic(x_hat, labels)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
