"""torchrun support for ``fit``: process-group setup, DDP wrapping and the few collectives training needs.

Outside torchrun (or with ``WORLD_SIZE=1``) ``setup`` returns a ``Dist`` for rank 0 of a world of 1
whose methods do nothing, so single-process training runs exactly the code it always ran.
"""
from __future__ import annotations

import itertools
import os

import numpy as np
import torch
import torch.distributed as dist

from .._checks import fail
from .._device import default_device

_GROUPS = itertools.count()  # process groups created by fit in this process


class Dist:
    """This process's place in a (possibly one-process) training job."""

    def __init__(self, device: torch.device, rank: int = 0, world: int = 1, created: bool = False):
        self.device, self.rank, self.world, self.created = device, rank, world, created

    @property
    def main(self) -> bool:  # rank 0 writes files and shows the progress bar
        return self.rank == 0

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.world == 1:
            return module
        # DDP's default buffer broadcast copies rank 0's spectral-norm vectors (D) and BatchNorm
        # statistics (G) to every rank before each forward. That is safe with D's two forwards before
        # one backward: spectral norm normalises with clones of its vectors, not the buffers.
        ids = [self.device.index] if self.device.type == "cuda" else None
        ddp = torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)
        ddp.register_comm_hook(self.world, _ordered_mean)
        return ddp

    def any(self, flag: bool) -> bool:
        """``flag`` OR-ed over all ranks, so that every rank takes the same branch (stop, raise)."""
        if self.world == 1:
            return bool(flag)
        t = torch.tensor([int(bool(flag))], device=self.device)  # (1,)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def gather(self, state: torch.Tensor) -> list[torch.Tensor]:
        # state: (S,) uint8 RNG state, same S on every rank -> one (S,) CPU tensor per rank, in rank order.
        if self.world == 1:
            return [state]
        local = state.to(self.device)
        parts = [torch.empty_like(local) for _ in range(self.world)]
        dist.all_gather(parts, local)
        return [p.cpu() for p in parts]

    def barrier(self) -> None:
        if self.world == 1:
            return
        if self.device.type == "cuda":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def close(self) -> None:
        if self.created:
            dist.destroy_process_group()


def _ordered_mean(world: int, bucket):  # -> Future[Tensor]; DDP rejects a string annotation
    # DDP hands over a bucket of flattened gradients (P,); return their mean over ranks. An all_reduce
    # adds the ranks' values in an order that depends on DDP's bucket layout, which DDP rebuilds after
    # the first step, so from 3 processes on a resumed run would round differently from the
    # uninterrupted one. Gathering all copies and adding them in rank order rounds the same way always.
    flat = bucket.buffer()
    parts = [torch.empty_like(flat) for _ in range(world)]

    def mean(_):
        total = parts[0].clone()
        for part in parts[1:]:
            total += part
        return total.div_(world)

    return dist.all_gather(parts, flat, async_op=True).get_future().then(mean)


def setup(requested: str | None) -> Dist:
    """Join the torchrun job described by the environment (RANK, WORLD_SIZE, LOCAL_RANK), if any.

    An existing process group is used as is; otherwise one is created (nccl on cuda, gloo on cpu)
    and ``Dist.close`` destroys it again.
    """
    if dist.is_available() and dist.is_initialized():
        rank, world, create = dist.get_rank(), dist.get_world_size(), False
    else:
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
        create = world > 1
    if world == 1:
        return Dist(torch.device(requested) if requested else default_device())
    device = _rank_device(requested, int(os.environ.get("LOCAL_RANK", rank)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if create:
        _init_group("nccl" if device.type == "cuda" else "gloo", rank, world)
    elif device.type != "cuda" and dist.get_backend() == "nccl":
        fail("device", "a cuda device (the process group uses nccl)", str(device),
             "Pass device='cuda' (or None), or create the process group with backend='gloo'.")
    return Dist(device, rank, world, create)


def _init_group(backend: str, rank: int, world: int) -> None:
    # A plain env:// init after destroy_process_group hangs under torchrun: the agent's store still
    # holds the first group's keys (pytorch/pytorch#114585). A fresh key prefix for every group that
    # fit creates lets a script call fit any number of times (every rank calls it equally often).
    store, _, _ = next(dist.rendezvous("env://", rank, world))
    prefix = f"ganaug.fit/{next(_GROUPS)}"
    dist.init_process_group(backend, store=dist.PrefixStore(prefix, store), rank=rank, world_size=world)


def _rank_device(requested: str | None, local_rank: int) -> torch.device:
    # One GPU per process on a node: a bare "cuda" (or the default) means cuda:LOCAL_RANK.
    device = torch.device(requested) if requested else default_device()
    if device.type != "cuda" or device.index is not None:
        return device
    count = torch.cuda.device_count()
    if local_rank >= count:
        fail("device", f"one GPU per process ({count} visible on this node)", f"LOCAL_RANK {local_rank}",
             f"Start at most {count} processes per node (torchrun --nproc_per_node {count}), "
             "or pass device='cpu'.")
    return torch.device("cuda", local_rank)


def rank_seed(seed: int, rank: int) -> int:
    """Seed of rank ``rank``'s training RNG: ``seed`` itself on rank 0 (as a single process)."""
    if rank == 0:
        return seed
    # Not seed + rank: that would collide with other seeded streams (e.g. BatchNorm calibration's).
    return int(np.random.SeedSequence([seed % 2**64, rank]).generate_state(1, np.uint64)[0])
