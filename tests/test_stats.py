import math

import numpy as np
import pytest
from scipy import stats as sps

from ganaug.metrics.stats import paired_test, summarize, t_interval


def test_summarize_matches_scipy():
    x = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert s["n"] == 5 and s["mean"] == pytest.approx(np.mean(x))
    assert s["std"] == pytest.approx(np.std(x, ddof=1))
    assert (s["ci_low"], s["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert s["ci_half"] == pytest.approx((hi - lo) / 2)


def test_one_value_has_no_interval():
    s = summarize([0.5])
    assert s["mean"] == 0.5 and math.isnan(s["std"]) and math.isnan(s["ci_half"])


def test_wider_confidence_is_wider():
    x = [1.0, 2.0, 4.0]
    assert t_interval(x, 0.99)[1] > t_interval(x, 0.95)[1] > t_interval(x, 0.5)[1]


def test_paired_test_matches_scipy():
    a = [0.80, 0.85, 0.83, 0.90, 0.78]
    b = [0.75, 0.84, 0.80, 0.86, 0.79]
    r = paired_test(a, b)
    assert r["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert r["t_p"] == pytest.approx(sps.ttest_rel(a, b).pvalue)
    assert r["wilcoxon_p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)
    assert (r["wins"], r["losses"], r["n"]) == (4, 1, 5)
    assert r["ci_low"] < r["mean_diff"] < r["ci_high"]


def test_paired_test_constant_difference():
    r = paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert r["mean_diff"] == 0 and r["t_p"] == 1.0 and math.isnan(r["wilcoxon_p"])
    assert paired_test([2.0, 3.0], [1.0, 2.0])["t_p"] == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="b: expected 3 values, one per seed"):
        paired_test([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="values: expected finite numbers"):
        summarize([0.5, float("nan")])
    with pytest.raises(ValueError, match="values: expected at least 1 value"):
        summarize([])
    with pytest.raises(TypeError, match="values: expected a sequence of numbers"):
        summarize(["a", "b"])
    with pytest.raises(ValueError, match="confidence"):
        t_interval([1.0, 2.0], 1.0)
