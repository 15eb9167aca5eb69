"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (paper §2.3).

For a batch of ``N`` channels and their ``2N`` augmented views, each view's
positive is the other view of the same channel and the other ``2N - 2`` views
are its negatives. Under ``torch.distributed`` the projections of every rank
are gathered (with gradients) so that negatives come from the global batch,
as in SimCLR.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NTXentLoss", "nt_xent"]


def _gather_with_grad(z: torch.Tensor) -> tuple[torch.Tensor, int]:
    import torch.distributed as dist
    import torch.distributed.nn.functional as dist_fn

    gathered = dist_fn.all_gather(z)
    return torch.cat(gathered, dim=0), dist.get_rank() * z.shape[0]


def _check_temperature(temperature) -> float:
    """``temperature`` as a float, or a ValueError (TypeError) if it is not a positive finite number.

    A check of a Python number: it never reads a tensor, so it costs no device synchronisation.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive finite number (a Python or NumPy number, not a tensor), got "
                        f"{temperature!r} of type {type(temperature).__name__}.")
    value = float(temperature)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}: a temperature of "
                         "0 divides the similarities by zero (NaN loss) and a negative one rewards negatives.")
    return value


def nt_xent(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float = 0.05,
            gather_distributed: bool = False) -> torch.Tensor:
    """NT-Xent loss of two views.

    Parameters
    ----------
    z_a, z_b : torch.Tensor of shape (N, dim)
        Projections of the first and second view; row ``i`` of both comes from
        the same channel.
    temperature : float
        Softmax temperature applied to cosine similarities; a positive, finite
        number (a Python or NumPy scalar, not a tensor).
    gather_distributed : bool
        If True and ``torch.distributed`` is initialised, negatives come from
        the views of all ranks. Each rank returns the mean loss of its own
        views; with DistributedDataParallel's gradient averaging this gives
        exactly the gradient of one process on the global batch.

    Returns
    -------
    torch.Tensor
        Scalar mean loss over the ``2N`` local views.

    Raises
    ------
    ValueError
        If the views' shapes differ or are not 2-D, or ``temperature`` is not
        positive and finite.
    TypeError
        If ``temperature`` is not a real number.
    """
    temperature = _check_temperature(temperature)
    if z_a.shape != z_b.shape or z_a.ndim != 2:
        raise ValueError(f"Views must be two (N, dim) tensors of one shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}.")
    n = z_a.shape[0]
    local = F.normalize(torch.cat([z_a, z_b], dim=0).float(), dim=1)
    everything, offset = local, 0
    if gather_distributed:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            everything, offset = _gather_with_grad(local)
    logits = local @ everything.T / temperature
    rows = torch.arange(2 * n, device=local.device)
    columns = torch.arange(everything.shape[0], device=local.device)
    # A mask and masked_fill, not logits[rows, rows + offset] = -inf: on CUDA that indexed assignment copies
    # its CPU scalar to the device and waits for it, in the forward and again in the backward (two host-device
    # synchronisations per training step, found by benchmarks/speed/check_sync.py --where on an H200).
    logits = logits.masked_fill(columns.unsqueeze(0) == (rows + offset).unsqueeze(1), float("-inf"))
    positives = (rows + n) % (2 * n) + offset
    return F.cross_entropy(logits, positives)


class NTXentLoss(nn.Module):
    """Module form of :func:`nt_xent`.

    Parameters
    ----------
    temperature : float
        Softmax temperature.
    gather_distributed : bool
        Gather negatives across ``torch.distributed`` ranks.
    """

    def __init__(self, temperature: float = 0.05, gather_distributed: bool = False):
        super().__init__()
        self.temperature = _check_temperature(temperature)
        self.gather_distributed = gather_distributed

    def forward(self, z_a, z_b):
        return nt_xent(z_a, z_b, self.temperature, self.gather_distributed)
