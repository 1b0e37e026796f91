"""An ordinary MNIST training script; adding GAN data to it is the three marked lines.

    ganaug train --dataset mnist --root data --max-minutes 10 --out runs/mnist_full
    python examples/drop_in_mnist.py --root data                                   # real only
    python examples/drop_in_mnist.py --root data --generator runs/mnist_full/generator.pt
"""
from __future__ import annotations

import argparse

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import transforms


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="data")
    p.add_argument("--generator", default=None, help="a ganaug generator.pt: mix its images in")
    p.add_argument("--train-images", type=int, default=1000, help="real training images used (first N)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--test-images", type=int, default=10000)
    args = p.parse_args(argv)
    torch.manual_seed(0)

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])  # [-1, 1]
    mnist = torchvision.datasets.MNIST(args.root, train=True, transform=tf)
    train_set = Subset(mnist, range(args.train_images))
    train_set.classes = mnist.classes  # Subset hides them; MixedDataset checks them against the generator
    test_set = Subset(torchvision.datasets.MNIST(args.root, train=False, transform=tf), range(args.test_images))

    if args.generator:
        # ---- the three lines that add GAN data ----
        from ganaug import MixedDataset, SyntheticDataset, load_generator
        synth = SyntheticDataset(load_generator(args.generator, device="cpu"), size=len(train_set), seed=0)
        train_set = MixedDataset(train_set, synth, synthetic_share=0.5)

    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    for epoch in range(args.epochs):
        model.train()
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in DataLoader(test_set, batch_size=500))
    accuracy = correct / len(test_set)
    print(f"training items per epoch: {len(train_set)}; test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
