"""Benchmarks: methods compared on downstream accuracy, results store and reports."""
