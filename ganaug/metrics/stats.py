"""Statistics for benchmark results over seeds: mean, std, t-based 95% confidence intervals, paired tests.

Scores are accumulated in float64. With the handful of seeds a benchmark can afford, intervals use
Student's t (not the normal approximation), and method comparisons are paired by seed: the same
seed gives both methods the same labelled subset, so the per-seed difference removes the subset's
luck from the comparison.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._checks import check_float, fail


def _values(name: str, values: Sequence[float], minimum: int = 1) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        fail(name, "a sequence of numbers", type(values).__name__, "Pass one score per seed.", TypeError)
    if arr.size < minimum:
        fail(name, f"at least {minimum} value(s)", arr.size, "Run more seeds.")
    if not np.isfinite(arr).all():
        fail(name, "finite numbers", arr.tolist(), "Drop failed runs (NaN/inf) before summarising.")
    return arr


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the Student-t confidence interval; half-width is nan for one value."""
    from scipy import stats

    arr = _values("values", values)
    confidence = check_float("confidence", confidence, 0.0, 1.0, low_open=True)
    if confidence == 1.0:
        fail("confidence", "a level in (0, 1)", confidence, "Pass e.g. 0.95.")
    if arr.size < 2:
        return float(arr.mean()), math.nan
    sem = arr.std(ddof=1) / math.sqrt(arr.size)
    return float(arr.mean()), float(stats.t.ppf(0.5 + confidence / 2, arr.size - 1) * sem)


def summarize(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """``{"n", "mean", "std", "ci_low", "ci_high", "ci_half"}`` of per-seed scores (std with ddof=1)."""
    arr = _values("values", values)
    mean, half = t_interval(arr, confidence)
    std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return {"n": int(arr.size), "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half,
            "ci_half": half}


def paired_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """Compare ``a`` with ``b`` seed by seed (``a[i]`` and ``b[i]`` share seed i).

    Returns ``{"n", "mean_diff", "ci_low", "ci_high", "t_p", "wilcoxon_p", "wins", "losses"}``: the
    mean of ``a - b`` with its t interval, the two-sided paired t-test p-value, the two-sided
    Wilcoxon signed-rank p-value (exact for small n; nan when every difference is 0) and how many
    seeds ``a`` beat / lost to ``b``. p-values are nan with fewer than 2 pairs.
    """
    from scipy import stats

    x, y = _values("a", a), _values("b", b)
    if x.size != y.size:
        fail("b", f"{x.size} values, one per seed of a", y.size, "Pair the runs by seed (same seeds for both).")
    diff = x - y
    mean, half = t_interval(diff, confidence)
    t_p = w_p = math.nan
    if diff.size >= 2:
        if np.all(diff == diff[0]):  # zero variance: the t statistic is undefined
            t_p = 1.0 if diff[0] == 0 else 0.0
        else:
            t_p = float(stats.ttest_rel(x, y).pvalue)
        if np.any(diff != 0):
            w_p = float(stats.wilcoxon(x, y).pvalue)
    return {"n": int(diff.size), "mean_diff": mean, "ci_low": mean - half, "ci_high": mean + half,
            "t_p": t_p, "wilcoxon_p": w_p, "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum())}
