"""Pooling: from the encoder's length-``T`` output to a fixed-length feature vector.

The encoder keeps the input's length (paper §2.3), so windows of any length
give features of one size only after pooling over time. Each statistic below
turns the ``(..., 4, T)`` encoder output into ``(..., 4)``; several statistics
are concatenated.
"""

from __future__ import annotations

import torch

__all__ = ["POOLING_STATISTICS", "pool", "check_pooling"]


def _log_mean_square(h):
    return torch.log(h.square().mean(dim=-1) + 1e-6)


#: Statistics over time, by name.
POOLING_STATISTICS = {
    "mean": lambda h: h.mean(dim=-1),
    "std": lambda h: h.std(dim=-1, unbiased=False),
    "logms": _log_mean_square,
    "max": lambda h: h.amax(dim=-1),
    "absmean": lambda h: h.abs().mean(dim=-1),
}


def check_pooling(pooling) -> tuple[str, ...]:
    """Validate ``pooling`` (a name or a sequence of names) and return it as a tuple."""
    names = (pooling,) if isinstance(pooling, str) else tuple(pooling)
    if not names:
        raise ValueError("pooling needs at least one statistic.")
    unknown = [n for n in names if n not in POOLING_STATISTICS]
    if unknown:
        raise ValueError(f"Unknown pooling statistic(s) {unknown}; known: {sorted(POOLING_STATISTICS)}.")
    return names


def pool(h: torch.Tensor, statistics: tuple[str, ...]) -> torch.Tensor:
    """Pool ``(..., n_features, time)`` over time.

    Returns
    -------
    torch.Tensor of shape (..., n_features * len(statistics))
        Ordered feature-major: for each feature channel, its statistics in the
        given order.
    """
    h = h.float()
    pooled = torch.stack([POOLING_STATISTICS[name](h) for name in statistics], dim=-1)
    return pooled.flatten(start_dim=-2)
