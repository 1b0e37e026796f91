"""Train a classifier on real + GAN-synthetic images, both augmented by albumentations, through one DataLoader.

    python examples/albumentations_synthetic.py             # digits, 20 real images per class (~1-2 min CPU)
    python examples/albumentations_synthetic.py --tiny      # a few seconds: smoke test
    python examples/albumentations_synthetic.py --dataset mnist --root data

Steps: hold out a validation set, keep a few real images per class (the small-data setting GAN
augmentation is for), train a conditional GAN on them, wrap the generator in a SyntheticDataset,
mix it with the real images (half of every epoch synthetic), apply one albumentations pipeline to
both sides, and train a small CNN on the mix. Prints validation accuracy with and without the
synthetic half.
"""
from __future__ import annotations

import argparse

import albumentations as A
import torch
from torch.utils.data import DataLoader

import ganaug
from ganaug import (AlbumentationsAdapter, LabelledImages, MixedDataset, SmallCNN, SyntheticDataset, stratified_subset,
                    train_val_split)
from ganaug.classify import accuracy


def train(loader: DataLoader, data_for_resample, image_shape, num_classes: int, epochs: int, width: int,
          seed: int) -> SmallCNN:
    torch.manual_seed(seed)
    model = SmallCNN(image_shape[0], num_classes, width=width)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for epoch in range(epochs):
        if data_for_resample is not None:
            data_for_resample.resample(epoch)  # fresh synthetic images every epoch
        for x, y in loader:  # x: (B, C, H, W) in [-1, 1] from both sides, y: (B,)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", help="digits (embedded) or mnist")
    p.add_argument("--root", default=None, help="folder holding MNIST/raw (for --dataset mnist)")
    p.add_argument("--n-per-class", type=int, default=20, help="real training images per class")
    p.add_argument("--gan-steps", type=int, default=1500, help="GAN generator updates")
    p.add_argument("--epochs", type=int, default=30, help="classifier epochs")
    p.add_argument("--share", type=float, default=0.5, help="synthetic share of each epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="a few seconds, for smoke tests")
    args = p.parse_args(argv)
    if args.tiny:
        args.n_per_class, args.gan_steps, args.epochs = 5, 5, 1

    full = ganaug.load_dataset(args.dataset, root=args.root)
    train_all, val = train_val_split(full, 0.2, seed=args.seed)
    real = stratified_subset(train_all, args.n_per_class, seed=args.seed)
    if args.tiny:
        val = stratified_subset(val, 5, seed=args.seed)
    width = 4 if args.tiny else 32
    gen, _ = ganaug.fit(real, ganaug.TrainConfig(arch="mlp", steps=args.gan_steps, width=width,
                                                 batch_size=min(64, len(real)), sample_every=0,
                                                 checkpoint_every=0, seed=args.seed, device="cpu"),
                        progress=False)

    # One albumentations pipeline for both sides. The adapter feeds it uint8 (H, W, C) whatever the
    # item's format and hands back ganaug's float tensor (C, H, W) in [-1, 1].
    small = min(real.image_shape[1:]) < 16
    aug = AlbumentationsAdapter(A.Compose([
        A.Affine(translate_percent=(-0.1, 0.1), rotate=(-10, 10), scale=(0.9, 1.1), p=0.8),
        A.RandomBrightnessContrast(0.2, 0.2, p=0.5),
        *([] if small else [A.CoarseDropout(num_holes_range=(1, 2), hole_height_range=(0.1, 0.2),
                                            hole_width_range=(0.1, 0.2), p=0.3)]),
    ]))
    real_aug = LabelledImages(real.images, real.targets, real.classes, transform=aug, name="real")
    # The synthetic side hands out uint8 HWC (albumentations' native format): no float round trip.
    synthetic = SyntheticDataset(gen, size=max(1000, len(real) * 10), seed=args.seed,
                                 output_format="numpy", transform=aug)
    mixed = MixedDataset(real_aug, synthetic, synthetic_share=args.share)
    loader = DataLoader(mixed, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(args.seed))
    batch_x, _ = next(iter(loader))
    print(f"{len(real)} real + {mixed.n_synthetic} synthetic per epoch; batch {tuple(batch_x.shape)}, "
          f"range [{batch_x.min():.2f}, {batch_x.max():.2f}]")

    model_mix = train(loader, mixed, real.image_shape, real.num_classes, args.epochs, width=16, seed=args.seed)
    real_loader = DataLoader(real_aug, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(args.seed))
    # Same number of gradient steps as the mixed run, so the comparison is about the data.
    steps_ratio = max(1, round(len(mixed) / len(real_aug)))
    model_real = train(real_loader, None, real.image_shape, real.num_classes, args.epochs * steps_ratio,
                       width=16, seed=args.seed)
    result = {"val_accuracy_real_plus_synthetic": accuracy(model_mix, val),
              "val_accuracy_real_only": accuracy(model_real, val),
              "n_real": len(real), "n_synthetic_per_epoch": mixed.n_synthetic, "n_val": len(val)}
    print(f"validation accuracy: real + synthetic + albumentations {result['val_accuracy_real_plus_synthetic']:.3f}, "
          f"real + albumentations only {result['val_accuracy_real_only']:.3f} ({len(val)} images)")
    return result


if __name__ == "__main__":
    main()
