"""Pooling: from the encoder's length-``T`` output to a fixed-length feature vector.

The encoder keeps the input's length (paper §2.3), so windows of any length
give features of one size only after pooling over time. Each statistic below
turns the ``(..., 4, T)`` encoder output into ``(..., 4)``; several statistics
are concatenated.

Besides statistics over time, each output channel can be summarised by its
log power in a frequency band (:data:`POOLING_BANDS`; ``"bands"`` is all five):
the log of the mean periodogram ``|FFT(h - mean)|² / T`` over the band's
frequency bins. These need the sampling frequency (evidence:
:ref:`benchmark-band-pooling`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["POOLING_STATISTICS", "POOLING_BANDS", "pool", "check_pooling", "check_band_resolution"]


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


#: Frequency bands of the band statistics, Hz ``[low, high)``: delta to low gamma.
POOLING_BANDS = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}

#: Shorthand in ``pooling`` for the five bands of :data:`POOLING_BANDS`.
ALL_BANDS = "bands"


def check_pooling(pooling) -> tuple[str, ...]:
    """Validate ``pooling`` (a name or a sequence of names) and return it as a tuple.

    ``"bands"`` is expanded to the five band names of :data:`POOLING_BANDS`.
    """
    names = (pooling,) if isinstance(pooling, str) else tuple(pooling)
    if not names:
        raise ValueError("pooling needs at least one statistic.")
    expanded = []
    for name in names:
        expanded += list(POOLING_BANDS) if name == ALL_BANDS else [name]
    unknown = [n for n in expanded if n not in POOLING_STATISTICS and n not in POOLING_BANDS]
    if unknown:
        known = sorted(POOLING_STATISTICS) + list(POOLING_BANDS) + [ALL_BANDS]
        raise ValueError(f"Unknown pooling statistic(s) {unknown}; known: {known}.")
    duplicated = sorted({n for n in expanded if expanded.count(n) > 1})
    if duplicated:
        raise ValueError(f"pooling names {duplicated} more than once.")
    return tuple(expanded)


def check_band_resolution(statistics, n_times: int, sfreq) -> None:
    """Raise a ValueError if a band statistic cannot be computed for these windows."""
    bands = [name for name in statistics if name in POOLING_BANDS]
    if not bands:
        return
    if sfreq is None:
        raise ValueError(f"pooling statistic(s) {bands} are frequency bands and need the sampling "
                         "frequency: pass sfreq (numpy input), or MNE / braindecode input.")
    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    for name in bands:
        low, high = POOLING_BANDS[name]
        if not ((freqs >= low) & (freqs < high)).any():
            raise ValueError(
                f"pooling band {name!r} ({low:g}-{high:g} Hz) holds no frequency bin of windows of {n_times} "
                f"samples at {sfreq:g} Hz (bins every {sfreq / n_times:.3g} Hz up to {sfreq / 2:g} Hz); use "
                "longer windows or a higher sampling rate, or leave that band out of pooling."
            )


def _band_log_powers(h, names, sfreq):
    n_times = h.shape[-1]
    periodogram = torch.fft.rfft(h - h.mean(dim=-1, keepdim=True), dim=-1).abs().square() / n_times
    freqs = torch.fft.rfftfreq(n_times, d=1.0 / sfreq).to(h.device)
    columns = {}
    for name in names:
        low, high = POOLING_BANDS[name]
        in_band = (freqs >= low) & (freqs < high)
        columns[name] = torch.log(periodogram[..., in_band].mean(dim=-1) + 1e-6)
    return columns


def pool(h: torch.Tensor, statistics: tuple[str, ...], sfreq: float | None = None) -> torch.Tensor:
    """Pool ``(..., n_features, time)`` over time.

    Parameters
    ----------
    h : torch.Tensor of shape (..., n_features, time)
    statistics : tuple of str
        From :func:`check_pooling`.
    sfreq : float or None
        Sampling frequency of ``h`` in Hz; needed by band statistics.

    Returns
    -------
    torch.Tensor of shape (..., n_features * len(statistics))
        Ordered feature-major: for each feature channel, its statistics in the
        given order.
    """
    h = h.float()
    bands = [name for name in statistics if name in POOLING_BANDS]
    if bands:
        check_band_resolution(bands, h.shape[-1], sfreq)
        band_columns = _band_log_powers(h, bands, sfreq)
    pooled = torch.stack([band_columns[name] if name in POOLING_BANDS else POOLING_STATISTICS[name](h)
                          for name in statistics], dim=-1)
    return pooled.flatten(start_dim=-2)
