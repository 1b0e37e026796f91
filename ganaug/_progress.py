"""The tqdm bars of every long loop (GAN training, classifier training, benchmark grids, metrics)."""
from __future__ import annotations

import sys


def bar(total: int | None, **kwargs):
    """A bar to ``update()`` by hand, ``total`` steps long."""
    return track(None, total=total, **kwargs)


def track(iterable, **kwargs):
    """``iterable`` with a bar (``kwargs`` go to tqdm: ``desc``, ``unit``, ``total``, ``leave``)."""
    from tqdm.auto import tqdm

    # In a log file (no terminal) redraw rarely, so CI logs get a line every 30 s, not every step.
    return tqdm(iterable, dynamic_ncols=True, mininterval=0.1 if sys.stderr.isatty() else 30.0, **kwargs)
