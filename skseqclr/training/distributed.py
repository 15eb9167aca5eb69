"""torch.distributed helpers: SeqCLR pretraining under ``torchrun``.

``torchrun --nproc-per-node N`` starts one process per GPU (or CPU worker) and
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``PORT``.
:func:`init_from_env` joins that process group (NCCL on CUDA, Gloo on CPU);
:meth:`SeqCLRTransformer.fit <skseqclr.SeqCLRTransformer.fit>` calls it, so a
script that fits a transformer runs unchanged under ``torchrun``. The training
loop then wraps the network in ``DistributedDataParallel``, gives each rank its
shard of the windows (:func:`skseqclr.training.loading.plan_epoch`), and NT-Xent
gathers the projections of all ranks (:mod:`skseqclr.nn.losses`), so negatives
come from the global batch as in SimCLR. Only rank 0 writes logs, progress and
files.

Batch normalisation: on CUDA the encoder's BatchNorm layers are synchronised
across ranks while training (:func:`synchronize_batchnorm`), so that N ranks
with local batch B compute exactly what one GPU computes on the batch N x B;
SimCLR (Chen et al. 2020, §2.2, "Global BN") found that per-device statistics
let the network cheat on the contrastive task. PyTorch's ``SyncBatchNorm``
runs on GPUs only: on CPU (Gloo) each rank normalises with its own batch's
statistics.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["is_distributed", "rank", "world_size", "is_main_process", "launched_by_torchrun", "init_from_env",
           "local_device", "barrier", "all_reduce_mean", "broadcast_object", "all_gather_object",
           "StopAgreement", "synchronize_batchnorm"]


def is_distributed() -> bool:
    """True when a process group with more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0, the process that logs and writes files."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when torchrun (or SLURM through srun torchrun) set the rendezvous variables."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group described by torchrun's environment variables.

    Does nothing when a process group already exists (for example one the
    calling script created) or when the process was not started by torchrun.
    A group created here is destroyed when the process exits.

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
    atexit.register(_destroy_process_group)
    return True


def _destroy_process_group():
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def local_device(requested: str | torch.device = "auto") -> torch.device:
    """The device this process should use: its own GPU under torchrun, else ``requested``.

    ``"auto"`` and ``"cuda"`` (without an index) both mean the GPU numbered
    ``LOCAL_RANK`` in a distributed run.
    """
    if requested == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        requested = "cuda"
    device = torch.device(requested)
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
    return device


def barrier() -> None:
    """Wait for all ranks (no-op without a process group)."""
    if is_distributed():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (identity without a process group)."""
    if not is_distributed():
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / dist.get_world_size()


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank (``obj`` itself without a process group).

    Used for values drawn from unseeded random states, such as the training
    seed of ``random_state=None``, that all ranks must share.
    """
    if not is_distributed():
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def all_gather_object(obj) -> list:
    """The ``obj`` of every rank, in rank order (``[obj]`` without a process group)."""
    if not is_distributed():
        return [obj]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


class StopAgreement:
    """Makes all ranks stop training after the same step when any of them is asked to.

    Ctrl-C reaches the ranks at different moments (torchrun forwards it to
    each worker); a rank that left the loop alone would leave the others
    waiting forever in DistributedDataParallel's gradient all-reduce. Call the
    object once per step on every rank with the local request; it returns the
    decision of all ranks (a MAX all-reduce of one integer).

    Parameters
    ----------
    device : torch.device
        The training device; the all-reduce runs on it, as the process
        group's backend requires.
    lagged : bool or None
        Return the decision of the previous call instead of this one, so that
        reading it does not wait for the GPU to finish the current step (the
        value is copied to pinned memory without blocking). The stop then
        comes one step later. By default lagged on CUDA only.
    """

    def __init__(self, device, lagged: bool | None = None):
        self.device = torch.device(device)
        self.lagged = self.device.type == "cuda" if lagged is None else bool(lagged)
        self._flag = torch.zeros(1, dtype=torch.int32, device=self.device)
        cuda = self.device.type == "cuda"
        self._host = torch.zeros(1, dtype=torch.int32, pin_memory=cuda)
        self._event = torch.cuda.Event() if cuda else None
        self._pending = False

    def __call__(self, requested: bool) -> bool:
        if not is_distributed():
            return bool(requested)
        decided = False
        if self.lagged and self._pending:
            if self._event is not None:
                self._event.synchronize()
            decided = bool(self._host.item())
        # fill_ and the copy are queued on the device: no host-device synchronisation
        self._flag.fill_(int(bool(requested)))
        dist.all_reduce(self._flag, op=dist.ReduceOp.MAX)
        if not self.lagged:
            return bool(self._flag.item())
        self._host.copy_(self._flag, non_blocking=True)
        if self._event is not None:
            self._event.record()
        self._pending = True
        return decided


def synchronize_batchnorm(module: nn.Module):
    """Swap ``module``'s BatchNorm layers for ``SyncBatchNorm`` ones; returns the undo function.

    The synchronised layers share the original layers' parameters and running
    statistics, so training updates both; calling the returned function puts
    the original (plain, picklable) layers back with the trained values.
    ``SyncBatchNorm`` trains on GPUs only (PyTorch's restriction).
    """
    replaced = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, nn.SyncBatchNorm):
                parent.add_module(name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
                replaced.append((parent, name, child))

    def undo():
        for parent, name, original in replaced:
            original.load_state_dict(getattr(parent, name).state_dict())
            original.train(getattr(parent, name).training)
            parent.add_module(name, original)
        replaced.clear()

    return undo
