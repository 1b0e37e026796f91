"""The small classifier (downstream model, filter, feature net) and pseudo-labelling with it."""
