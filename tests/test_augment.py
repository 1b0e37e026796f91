import pytest
import torch

from ganaug.gan.augment import diff_augment, parse_policy


def test_translation_moves_pixels_and_is_differentiable():
    x = torch.full((16, 1, 8, 8), -1.0)
    x[:, :, 3:5, 3:5] = 1.0
    x.requires_grad_(True)
    out = diff_augment(x, ("translation",), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert not torch.equal(out.detach(), x.detach())  # some images moved
    assert torch.equal((out.detach() == 1.0).sum((1, 2, 3)), torch.full((16,), 4))  # shifts stay inside
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_cutout_blanks_to_background_and_is_seeded():
    x = torch.ones(8, 1, 8, 8)
    a = diff_augment(x, ("cutout",), torch.Generator().manual_seed(1))
    b = diff_augment(x, ("cutout",), torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert ((a == -1.0).flatten(1).sum(1) > 0).all()  # every image lost a patch


def test_policy_parsing():
    assert parse_policy("auto".replace("auto", "translation, cutout")) == ("translation", "cutout")
    assert parse_policy("none") == () and parse_policy(None) == ()
    with pytest.raises(ValueError, match=r"augment: expected a comma-separated subset"):
        parse_policy("color")
