import numpy as np
import torch
from PIL import Image

from ganaug.gan.viz import save_grid


def test_grid_layout_and_upscaling(tmp_path):
    x = torch.full((6, 1, 8, 8), -1.0)
    x[0] = 1.0
    path = save_grid(x, tmp_path / "sub" / "g.png", nrow=3)
    im = np.asarray(Image.open(path))
    # 8x8 images are enlarged 4x to 32x32; 3 columns and 2 rows with 2-pixel padding.
    assert im.shape == (2 + 2 * 34, 2 + 3 * 34)
    assert im[2:34, 2:34].min() == 255 and im[2:34, 36:68].max() == 0


def test_rgb_grid(tmp_path):
    im = np.asarray(Image.open(save_grid(torch.zeros(4, 3, 32, 32), tmp_path / "c.png", nrow=2)))
    assert im.shape == (2 + 2 * 34, 2 + 2 * 34, 3)
