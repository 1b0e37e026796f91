import math

import pytest
import torch

from ganaug.gan.losses import d_loss, g_loss, gradient_penalty

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def test_minimax_is_the_original_game():
    # D maximises E[log D(x)] + E[log(1 - D(G(z)))]; we minimise its negative.
    value = (math.log(sig(2.0)) + math.log(sig(-1.0))) / 2 + (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    assert d_loss("minimax", REAL, FAKE).item() == pytest.approx(-value, rel=1e-6)
    # G minimises E[log(1 - D(G(z)))].
    g = (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    assert g_loss("minimax", FAKE).item() == pytest.approx(g, rel=1e-6)


def test_non_saturating():
    assert d_loss("non-saturating", REAL, FAKE) == d_loss("minimax", REAL, FAKE)
    g = -(math.log(sig(0.5)) + math.log(sig(-3.0))) / 2
    assert g_loss("non-saturating", FAKE).item() == pytest.approx(g, rel=1e-6)


def test_hinge():
    # relu(1 - real): [0, 2] -> 1 ; relu(1 + fake): [1.5, 0] -> 0.75
    assert d_loss("hinge", REAL, FAKE).item() == pytest.approx(1.75)
    assert g_loss("hinge", FAKE).item() == pytest.approx(1.25)


def test_wgan():
    assert d_loss("wgan-gp", REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert g_loss("wgan-gp", FAKE).item() == pytest.approx(1.25)


def test_gradient_penalty_by_hand():
    # Critic D(x, y) = sum(w * x): gradient is w everywhere, so the penalty is (||w|| - 1)^2.
    w = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)

    def critic(x, y):
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 2, 1, 1), torch.randn(5, 2, 1, 1)
    gp = gradient_penalty(critic, real, fake, torch.zeros(5, dtype=torch.long), torch.rand(5, 1, 1, 1))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_unknown_loss():
    with pytest.raises(ValueError, match=r"loss: expected one of 'minimax'.*got 'lsgan'"):
        d_loss("lsgan", REAL, FAKE)
