"""The conditional GAN: networks, losses, augmentation, training and its checkpoint files."""
from .checkpoint import (MAX_PARAMS, SPEC_LIMITS, CheckpointError, DiskFullError, discriminator_for, load_discriminator,
                         load_generator)
from .models import (ARCHS, ConditionalDiscriminator, ConditionalGenerator, build_discriminator, build_generator,
                     default_spec)
from .training import TrainConfig, TrainingDivergedError, fit
from .viz import save_grid

__all__ = [
    "ARCHS", "MAX_PARAMS", "SPEC_LIMITS", "CheckpointError", "ConditionalDiscriminator", "ConditionalGenerator",
    "DiskFullError", "TrainConfig", "TrainingDivergedError", "build_discriminator", "build_generator", "default_spec",
    "discriminator_for", "fit", "load_discriminator", "load_generator", "save_grid",
]
