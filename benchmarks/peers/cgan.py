"""The conditional GAN of PyTorch-GAN's ``implementations/cgan/cgan.py``, rewritten from its description.

What it is (Mirza & Osindero's conditional GAN as that repository trains it on MNIST, 28x28):

- G: a 10-dimensional label embedding concatenated to 100-d N(0, 1) noise, then Linear blocks
  128-256-512-1024 with LeakyReLU(0.2) (BatchNorm1d with eps 0.8 on every block but the first),
  Linear to 784 pixels and Tanh.
- D: the flattened image concatenated to a 10-d label embedding, Linear 512-512-512 with
  LeakyReLU(0.2) and Dropout(0.4) on the last two, then Linear to one output.
- LSGAN objective (mean squared error against 1 for real, 0 for generated), Adam lr 2e-4,
  betas (0.5, 0.999), batch 64. Per batch: a G step on freshly generated images of random labels,
  then a D step on the real batch and those same generated images (detached), each D term halved.
- Data: torchvision MNIST, Resize(28), ToTensor, Normalize([0.5], [0.5]), DataLoader(shuffle=True).

Not the repository's code: written here from that description, for benchmarks/train_speed.py.
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

LATENT, CLASSES = 100, 10


class Generator(nn.Module):
    def __init__(self, image_shape=(1, 28, 28), classes: int = CLASSES, latent: int = LATENT):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.label_emb = nn.Embedding(classes, classes)
        layers, width = [], latent + classes
        for i, out in enumerate((128, 256, 512, 1024)):
            layers.append(nn.Linear(width, out))
            if i:  # no normalisation on the first block
                layers.append(nn.BatchNorm1d(out, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = out
        pixels = 1
        for s in self.image_shape:
            pixels *= s
        self.model = nn.Sequential(*layers, nn.Linear(width, pixels), nn.Tanh())

    def forward(self, z, labels):  # z: (B, latent), labels: (B,) -> (B, C, H, W)
        x = self.model(torch.cat([self.label_emb(labels), z], dim=1))
        return x.view(x.shape[0], *self.image_shape)


class Discriminator(nn.Module):
    def __init__(self, image_shape=(1, 28, 28), classes: int = CLASSES):
        super().__init__()
        pixels = 1
        for s in image_shape:
            pixels *= s
        self.label_emb = nn.Embedding(classes, classes)
        self.model = nn.Sequential(
            nn.Linear(pixels + classes, 512), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 1))

    def forward(self, images, labels):  # images: (B, C, H, W), labels: (B,) -> (B, 1)
        return self.model(torch.cat([images.flatten(1), self.label_emb(labels)], dim=1))


class CGAN:
    """The peer's networks, optimisers and loop; :meth:`train` runs generator steps (one per batch)."""

    def __init__(self, loader, image_shape=(1, 28, 28), classes: int = CLASSES, device="cpu", seed: int = 0):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.classes = classes
        self.G = Generator(image_shape, classes).to(self.device)
        self.D = Discriminator(image_shape, classes).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.mse = nn.MSELoss()
        self.loader = loader
        self.batches = self._forever()
        self.steps = 0

    def _forever(self) -> Iterator:
        while True:  # epoch after epoch, each a fresh shuffled pass
            yield from self.loader

    def train(self, steps: int) -> None:
        for _ in range(steps):
            images, labels = next(self.batches)
            real, labels = images.to(self.device), labels.to(self.device)
            b = real.shape[0]
            valid = torch.ones(b, 1, device=self.device)
            fake = torch.zeros(b, 1, device=self.device)
            # G step: generated images of random labels should look real to D.
            z = torch.randn(b, LATENT, device=self.device)
            gen_labels = torch.randint(0, self.classes, (b,), device=self.device)
            self.opt_g.zero_grad()
            gen_images = self.G(z, gen_labels)
            g_loss = self.mse(self.D(gen_images, gen_labels), valid)
            g_loss.backward()
            self.opt_g.step()
            # D step: real images towards 1, the same generated images towards 0.
            self.opt_d.zero_grad()
            d_real = self.mse(self.D(real, labels), valid)
            d_fake = self.mse(self.D(gen_images.detach(), gen_labels), fake)
            d_loss = (d_real + d_fake) / 2
            d_loss.backward()
            self.opt_d.step()
            self.last = (d_loss.item(), g_loss.item())  # the script prints both losses every batch
            self.steps += 1
