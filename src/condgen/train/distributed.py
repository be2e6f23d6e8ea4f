"""Data-parallel training with PyTorch's own DDP, started by ``torchrun``.

``torchrun --nproc_per_node=N script.py`` sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and the
rendezvous address in each process's environment; :func:`setup` reads them. Without them the
engine runs in one process and every helper here is a no-op.

The process group lives until the process exits (destroyed by an ``atexit`` hook), not until the
end of one :func:`condgen.train.train` call: a script often trains twice (a backbone, then its
plugin), and re-creating a destroyed default group under ``torchrun`` reuses the rendezvous keys
of the old one in the launcher's store, which makes gloo hang at random.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from condgen.train.device import select_device


@dataclass
class DistributedContext:
    """Where this process stands: its rank among ``world_size`` and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes files, logs and the progress bar."""
        return self.rank == 0


def setup(device_name: str) -> DistributedContext:
    """Join the DDP group described by the environment (if ``WORLD_SIZE`` > 1) and pick the device.

    Under DDP on CUDA each process takes ``cuda:LOCAL_RANK`` and the NCCL backend; otherwise gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext(device=select_device(device_name))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():  # else: the caller's group, or ours from an earlier train() call
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        atexit.register(_destroy_process_group)
    return DistributedContext(dist.get_rank(), dist.get_world_size(), device)


def wrap(model: nn.Module, context: DistributedContext) -> nn.Module:
    """The module the engine calls for losses: ``model`` itself, or ``model`` inside DDP."""
    if not context.enabled:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    # Multi-group models (GANs) leave the other group's parameters unused in a loss.
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=True)


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def all_ranks_agree(flag: bool, context: DistributedContext) -> bool:
    """True only if ``flag`` is True on every rank (so all ranks stop together on a NaN)."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item() > 0.5)


def gather_tensor(tensor: torch.Tensor, context: DistributedContext) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped ``tensor`` (e.g. RNG states), indexed by rank, on the CPU."""
    if not context.enabled:
        return [tensor.cpu()]
    local = tensor.to(context.device)
    gathered = [torch.empty_like(local) for _ in range(context.world_size)]
    dist.all_gather(gathered, local)
    return [t.cpu() for t in gathered]


def _destroy_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
