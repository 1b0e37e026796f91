"""Datasets, transforms and splits: the labelled images everything else starts from."""
