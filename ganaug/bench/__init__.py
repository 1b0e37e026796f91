"""Benchmarks: methods compared on downstream accuracy, the results store, reports."""
from .._device import default_device
from .benchmark import compare_methods, device_name, load_benchmark_data, progress_bar, run_benchmark
from .config import DEFAULT_METHODS, METHODS, BenchmarkConfig, quick_config
from .report import format_p, write_report
from .store import ResultStore, select_rows

__all__ = ["DEFAULT_METHODS", "METHODS", "BenchmarkConfig", "ResultStore", "compare_methods", "default_device",
           "device_name", "format_p", "load_benchmark_data", "progress_bar", "quick_config", "run_benchmark",
           "select_rows", "write_report"]
