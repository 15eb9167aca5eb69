"""How single channels are scaled before they enter the encoder.

Augmentations work in microvolts (paper §2.2). The network, though, wants
inputs of order one. The scaling is an affine map ``(x - center) / scale``
whose statistics come from the **clean** channel, never from its augmented
views, so that amplitude scaling and DC shifts survive into the network's
input and remain something the encoder must become invariant to.

Modes
-----
``"global"``
    One constant for all channels and windows, learned in ``fit``: the median
    standard deviation of the training channels (µV). Keeps each channel's
    absolute amplitude, which on many EEG tasks carries much of the signal
    (:ref:`benchmark-scaling`).
``"window"``
    One constant per window, shared by all its channels (originals and
    recombined differences alike): the median standard deviation of the
    window's clean channels (µV). A subject's or amplifier's overall gain
    cancels; each channel's amplitude relative to the window's other channels
    (the topography) is kept. Not in the paper; for decoding across subjects
    without a batch of each new subject's windows.
``"channel"``
    Each channel of each window is z-scored (its own mean and standard
    deviation). Amplitude information is lost at the input.
``"none"``
    Microvolts as they are.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["SCALING_MODES", "channel_statistics", "estimate_input_scale", "scaling_statistics", "window_scale"]

SCALING_MODES = ("global", "window", "channel", "none")
_EPS = 1e-6


def window_scale(windows_uv: torch.Tensor) -> torch.Tensor:
    """The ``"window"`` mode's constant: median channel standard deviation of each window.

    Parameters
    ----------
    windows_uv : torch.Tensor of shape (n_windows, n_channels, n_times)
        Clean windows in µV.

    Returns
    -------
    torch.Tensor of shape (n_windows, 1), µV
        Never below 1e-6 (a flat window is left as it is rather than divided by zero).
    """
    std = windows_uv.float().std(dim=-1, unbiased=False)
    return std.median(dim=-1, keepdim=True).values.clamp_min(_EPS)


def scaling_statistics(channels: torch.Tensor, windows_uv: torch.Tensor, mode: str, input_scale: float = 1.0):
    """Centre and scale of each clean channel drawn from a batch of windows, in every mode.

    Parameters
    ----------
    channels : torch.Tensor of shape (n_windows, k, time)
        ``k`` clean single channels of each window in µV: its originals, or
        channels recombined from them (paper §2.1).
    windows_uv : torch.Tensor of shape (n_windows, n_channels, time)
        The windows they come from (``"window"`` mode's constant is theirs,
        so a recombined difference is divided by its window's constant like
        the originals).
    mode : {"global", "window", "channel", "none"}
    input_scale : float
        The constant of ``"global"`` mode, in µV.

    Returns
    -------
    center, scale : torch.Tensor of shape (n_windows * k, 1)
        For ``channels.flatten(0, 1)``.
    """
    flat = channels.flatten(0, 1)
    if mode != "window":
        return channel_statistics(flat, mode, input_scale)
    scale = window_scale(windows_uv).to(flat.dtype).repeat_interleave(channels.shape[1], dim=0)
    return flat.new_zeros(flat.shape[0], 1), scale


def channel_statistics(channels: torch.Tensor, mode: str, input_scale: float = 1.0):
    """Centre and scale of each clean channel, for the modes that need only the channel.

    Parameters
    ----------
    channels : torch.Tensor of shape (batch, time)
        Clean single channels in µV.
    mode : {"global", "channel", "none"}
        ``"window"`` needs each channel's window: :func:`scaling_statistics`.
    input_scale : float
        The constant of ``"global"`` mode, in µV.

    Returns
    -------
    center, scale : torch.Tensor of shape (batch, 1)
    """
    if mode == "channel":
        center = channels.mean(dim=-1, keepdim=True)
        scale = channels.std(dim=-1, keepdim=True, unbiased=False).clamp_min(_EPS)
        return center, scale
    zeros = channels.new_zeros(channels.shape[0], 1)
    if mode == "window":
        raise ValueError("scaling='window' needs each channel's window: use scaling_statistics.")
    if mode == "global":
        return zeros, zeros + float(input_scale)
    if mode == "none":
        return zeros, zeros + 1.0
    raise ValueError(f"scaling={mode!r} is not one of {SCALING_MODES}.")


def estimate_input_scale(windows_uv: np.ndarray) -> float:
    """Median channel standard deviation (µV) of a sample of windows.

    Parameters
    ----------
    windows_uv : np.ndarray of shape (n_windows, n_channels, n_times)
        In µV.
    """
    std = np.asarray(windows_uv, dtype=np.float64).std(axis=-1)
    scale = float(np.median(std))
    if not np.isfinite(scale) or scale <= 0:
        positive = std[std > 0]
        scale = float(np.median(positive)) if positive.size else 1.0
    return scale
