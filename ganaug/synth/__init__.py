"""Synthetic data from a trained generator: datasets, mixing with real data, filtering, oversampling."""
