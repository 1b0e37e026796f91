"""How many intra-op threads a generator's forward pass uses, chosen by measuring, and set only around it.

torch's intra-op threads work in lock-step: each forward pass waits at every layer for its slowest
thread. On a busy machine one of them shares its core with another process, so a forward pass on
every core can be several times slower than the same pass on one thread (measured: 3x with one
other busy process on a 2-core machine). On an idle machine more threads are faster. So the count
is measured rather than guessed: :class:`ThreadChooser` times each forward pass, runs the fastest
count so far, and re-tries the others now and then to follow the machine's load. The images do not
depend on the count (CPU matrix kernels split work by output rows/columns, never the sums; the
tests check this bit for bit), so the choice changes speed only.
"""
from __future__ import annotations

import functools
import math
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import torch

# The other counts are re-tried every PROBE_EVERY passes or, when the slowest was far slower than the
# best, less often: at most about 1/PROBE_COST of the time goes to slower counts, and a count comes
# back within PROBE_MAX passes once the load that made it slow is gone.
PROBE_EVERY, PROBE_COST, PROBE_MAX = 16, 40, 400
SMOOTHING = 0.25  # weight of the newest timing in each count's running mean


@contextmanager
def intra_op_threads(k: int) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(k)``; restores the previous count, even on errors."""
    before = torch.get_num_threads()
    if k == before:
        yield
        return
    torch.set_num_threads(k)  # about a microsecond: sets the OpenMP/MKL thread counts, no pool rebuild
    try:
        yield
    finally:
        torch.set_num_threads(before)


def candidate_counts(most: int) -> list[int]:
    """1, 2, 4, ... up to ``most``, and ``most`` itself."""
    counts = [2**p for p in range(int(math.log2(most)) + 1)] if most >= 1 else [1]
    return sorted(set(counts) | {max(1, most)})


class ThreadChooser:
    """Runs ``fn(*args)`` under the thread count that has been fastest lately.

    ``fixed``: always that count instead. The counts tried are :func:`candidate_counts` of
    ``torch.get_num_threads()`` outside :meth:`scope` (1 in DataLoader workers, which torch sets to
    one thread each).
    """

    def __init__(self, fixed: int | None = None):
        self.fixed = fixed
        self.seconds: dict[int, float] = {}  # count -> running mean of seconds per call
        self.warm = False  # the first call pays one-off start-up costs (allocations, caches): not timed
        self.calls, self.next_probe, self.probe_turn = 0, PROBE_EVERY, 0
        self.most: int | None = None  # torch's thread count outside the current scope()

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Run the body (the work around the timed calls: copies, concatenations) under the chosen count.

        Small tensor copies are split between threads as well, and stall on a busy core just like
        the forward pass (measured: 3x slower batches with only the forward pass on one thread).
        """
        if self.most is not None:  # already inside a scope
            yield
            return
        self.most = torch.get_num_threads()
        try:
            with intra_op_threads(self.choice(self.most)):
                yield
        finally:
            self.most = None

    def choice(self, most: int | None = None) -> int:
        """The count the next call will use, for at most ``most`` threads (default: torch's count)."""
        if self.fixed is not None:
            return self.fixed
        counts = candidate_counts(torch.get_num_threads() if most is None else most)
        untimed = [k for k in counts if k not in self.seconds]
        if untimed:  # time every count once first
            return untimed[0]
        best = min(counts, key=self.seconds.__getitem__)
        others = [k for k in counts if k != best]
        if others and self.calls >= self.next_probe:
            return others[self.probe_turn % len(others)]
        return best

    def __call__(self, fn: Callable[..., torch.Tensor], *args: torch.Tensor) -> torch.Tensor:
        most = torch.get_num_threads() if self.most is None else self.most
        k = self.choice(most)
        with intra_op_threads(k):
            start = time.perf_counter()
            out = fn(*args)
            elapsed = time.perf_counter() - start
        if self.fixed is None and most > 1:
            self._record(k, elapsed, candidate_counts(most))
        return out

    def _record(self, k: int, elapsed: float, counts: list[int]) -> None:
        if not self.warm:
            self.warm = True
            return
        old = self.seconds.get(k)
        self.seconds[k] = elapsed if old is None else (1 - SMOOTHING) * old + SMOOTHING * elapsed
        probed = self.calls >= self.next_probe
        self.calls += 1
        if (probed or old is None) and all(c in self.seconds for c in counts):
            # a try, or the first round of timings, just ended: the next try comes later the costlier
            # the slowest count is, so that tries cost at most about 1/PROBE_COST of the time
            self.probe_turn += probed
            best = min(self.seconds[c] for c in counts)
            slowest = max(self.seconds[c] for c in counts) / best
            self.next_probe = self.calls + min(PROBE_MAX, max(PROBE_EVERY, math.ceil(PROBE_COST * slowest)))


def in_thread_scope(method: Callable) -> Callable:
    """Decorates a method of an object whose ``_threads`` is a :class:`ThreadChooser`: runs it in its scope."""
    @functools.wraps(method)
    def scoped(self, *args, **kwargs):
        with self._threads.scope():
            return method(self, *args, **kwargs)
    return scoped
