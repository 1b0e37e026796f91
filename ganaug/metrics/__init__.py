"""Sample-quality and usefulness metrics of a generator."""
