"""Training loops of other projects, rewritten from their public descriptions, for side-by-side benchmarks."""
