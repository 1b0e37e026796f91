"""The conditional GAN: networks, losses, augmentation, training and its checkpoint files."""
