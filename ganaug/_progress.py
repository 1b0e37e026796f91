"""The tqdm bar of every long loop (GAN training, classifier training, benchmark grids)."""
from __future__ import annotations

import sys


def bar(total: int | None, **kwargs):
    from tqdm.auto import tqdm

    # In a log file (no terminal) redraw rarely, so CI logs get a line every 30 s, not every step.
    return tqdm(total=total, dynamic_ncols=True, mininterval=0.1 if sys.stderr.isatty() else 30.0, **kwargs)
