"""torch.distributed helpers: SeqCLR pretraining under ``torchrun``.

``torchrun --nproc-per-node N`` starts one process per GPU (or CPU worker) and
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``PORT``.
:func:`init_from_env` joins that process group (NCCL on CUDA, Gloo on CPU);
the training loop then wraps the network in ``DistributedDataParallel``, gives
each rank its shard of the windows, and NT-Xent gathers the projections of all
ranks (:mod:`skseqclr.losses`). Only rank 0 writes logs, progress and files.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["is_distributed", "rank", "world_size", "is_main_process", "init_from_env",
           "local_device", "barrier", "all_reduce_mean"]


def is_distributed() -> bool:
    """True when a process group with more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when torchrun (or SLURM through srun torchrun) set the rendezvous variables."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group described by torchrun's environment variables.

    Parameters
    ----------
    backend : str or None
        ``"nccl"`` or ``"gloo"``; by default NCCL when CUDA is available and
        Gloo otherwise.

    Returns
    -------
    bool
        True if a process group is (now) initialised.
    """
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    if not launched_by_torchrun():
        return False
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend=backend)
    return True


def local_device(requested: str | torch.device = "auto") -> torch.device:
    """The device this process should use: its own GPU under torchrun, else ``requested``."""
    if requested == "auto":
        if torch.cuda.is_available():
            if is_distributed():
                return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            return torch.device("cuda")
        return torch.device("cpu")
    return torch.device(requested)


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (identity without a process group)."""
    if not is_distributed():
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / dist.get_world_size()
