"""ganaug._threads: the thread-count context manager and the measuring chooser, on a fake clock."""
import pytest
import torch

from ganaug import _threads
from ganaug._threads import PROBE_COST, PROBE_MAX, ThreadChooser, candidate_counts, intra_op_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


class FakeWork:
    """A 'forward pass' whose duration on a fake clock depends on the thread count it runs under."""

    def __init__(self, monkeypatch, cost):
        self.now, self.cost, self.used = 0.0, dict(cost), []
        monkeypatch.setattr(_threads.time, "perf_counter", lambda: self.now)

    def __call__(self, x):
        k = torch.get_num_threads()
        self.used.append(k)
        self.now += self.cost[k]
        return x + 1


def test_intra_op_threads_sets_and_restores(two_threads):
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="boom"):
        with intra_op_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_candidate_counts():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [1, 2]
    assert candidate_counts(6) == [1, 2, 4, 6]
    assert candidate_counts(16) == [1, 2, 4, 8, 16]


def test_chooser_keeps_the_fastest_count_and_follows_the_load(two_threads, monkeypatch):
    work = FakeWork(monkeypatch, {1: 1.0, 2: 0.5})  # idle: two threads twice as fast
    chooser = ThreadChooser()
    x = torch.zeros(3)
    for _ in range(200):
        assert torch.equal(chooser(work, x), x + 1)
    assert torch.get_num_threads() == 2  # restored after every call
    assert work.used[:3] == [1, 1, 2]  # a first untimed call, then each count timed
    late = work.used[20:]
    assert late.count(2) > 0.9 * len(late) and 1 in late  # mostly the fast count, still re-tried
    work.cost = {1: 1.0, 2: 3.0}  # a busy core: two threads now 3x slower than one
    work.used.clear()
    for _ in range(400):
        chooser(work, x)
    assert work.used[-300:].count(1) > 0.95 * 300
    tries = work.used[-300:].count(2)
    assert 1 <= tries <= 300 / PROBE_COST * 3 + 1  # the slow count is still re-tried, rarely
    assert chooser.choice() == 1


def test_chooser_retries_a_count_at_most_every_probe_max_calls(two_threads, monkeypatch):
    work = FakeWork(monkeypatch, {1: 1.0, 2: 1000.0})
    chooser = ThreadChooser()
    for _ in range(3 * PROBE_MAX + 10):
        chooser(work, torch.zeros(1))
    assert work.used[3:].count(2) == 3  # after calls 2 + PROBE_MAX, 2 + 2 * PROBE_MAX, 2 + 3 * PROBE_MAX


def test_fixed_count_and_one_thread_are_not_timed(two_threads, monkeypatch):
    work = FakeWork(monkeypatch, {1: 1.0, 2: 0.5})
    fixed = ThreadChooser(fixed=1)
    for _ in range(50):
        fixed(work, torch.zeros(1))
    assert set(work.used) == {1} and fixed.seconds == {}
    torch.set_num_threads(1)  # as in a DataLoader worker: nothing to choose
    auto = ThreadChooser()
    for _ in range(50):
        auto(work, torch.zeros(1))
    assert set(work.used) == {1} and auto.seconds == {}


def test_scope_runs_the_surrounding_work_under_the_chosen_count(two_threads, monkeypatch):
    work = FakeWork(monkeypatch, {1: 0.5, 2: 1.0})  # one thread is faster here
    chooser = ThreadChooser()
    inside = []
    for _ in range(150):  # the slower count is re-tried after 2 + PROBE_COST * 2 calls
        with chooser.scope():
            inside.append(torch.get_num_threads())
            with chooser.scope():  # nested: no change
                chooser(work, torch.zeros(1))
        assert torch.get_num_threads() == 2 and chooser.most is None
    assert 2 in work.used[:5] and 2 in work.used[20:]  # the scope's count does not hide the others
    assert inside[:3] == [1, 1, 2] and inside[-10:] == [1] * 10
    with pytest.raises(ValueError, match="inside"):
        with chooser.scope():
            raise ValueError("inside")
    assert torch.get_num_threads() == 2 and chooser.most is None
