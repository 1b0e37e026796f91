"""Run a network over fixed-size row blocks, so one sample's output never depends on its batch-mates.

CPU matrix kernels pick their code path (and hence their rounding) from the matrix shapes: one row
goes through a matrix-vector kernel, 7 rows through another tile than 128. Feeding every forward
pass exactly ``BLOCK`` rows (zero-padding the last block) keeps the shapes, and so the kernels,
identical: item i comes out bit-for-bit the same whether it is generated alone, inside a shuffled
batch, or as part of a cached block, in the main process or in a DataLoader worker.
"""
from __future__ import annotations

from typing import Callable

import torch

BLOCK = 128


def run_in_blocks(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, device=None,
                  block: int = BLOCK) -> torch.Tensor:
    # inputs: tensors sharing their first dimension n >= 1; returns fn's output (n, ...) as float32 CPU.
    n = inputs[0].shape[0]
    outs = []
    with torch.no_grad():
        for start in range(0, n, block):
            parts = [x[start:start + block] for x in inputs]
            m = parts[0].shape[0]
            if m < block:  # pad with zeros (valid noise, label 0, a black image) to the fixed shape
                parts = [torch.cat([p, p.new_zeros((block - m, *p.shape[1:]))]) for p in parts]
            out = fn(*(p.to(device) if device is not None else p for p in parts))
            outs.append(out[:m].float().cpu())
    return torch.cat(outs)
