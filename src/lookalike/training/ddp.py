"""DistributedDataParallel through `torchrun`: the same command on one process or many.

`torchrun --nproc_per_node=2 -m lookalike train RUN ...` sets RANK/WORLD_SIZE; we
join the process group (gloo on CPU, nccl on CUDA), every rank draws the same
global batch from the epoch's generator and keeps its own slice, gradients are
averaged by DDP, and only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> Dist:
    """Join the process group when launched by torchrun; a no-op for a plain single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return Dist(rank=rank, world=world, local_rank=local)


def device_for(d: Dist, device: str) -> str:
    """One GPU per local rank under torchrun."""
    return f"cuda:{d.local_rank}" if device == "cuda" and d.enabled else device


def all_sum(d: Dist, values: list[float], device: str) -> list[float]:
    """Sum a few numbers over ranks (loss and counts for the epoch's metrics)."""
    if not d.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def teardown(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()
