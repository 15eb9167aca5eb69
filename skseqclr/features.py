"""From windows to encoder outputs and feature vectors, in batches on the device.

Shared by :class:`~skseqclr.SeqCLRTransformer` (pooled features) and
:class:`~skseqclr.SeqCLRClassifier` (the full-length encoder output that the
classifier head reads). Every channel of a window is encoded separately by the
channel-wise encoder (paper §2.3), in one batched forward pass per batch of
windows.

Outputs are never non-finite silently: :func:`check_finite_outputs` refuses
NaN or inf values with a ``ValueError`` naming the windows and the likely
cause (weights that are not finite, or windows whose amplitude overflows
float32 in the encoder; NaN and inf in the input windows are refused when they
are read, :mod:`skseqclr.inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .training.loading import consecutive_batches, iterate_batches, to_device_microvolts
from ._sources import describe_windows
from .pooling import pool
from .recombination import recombine
from .scaling import scaling_statistics
from .training.divergence import describe_names, nonfinite_tensors
from .training.pretrainer import autocast

__all__ = ["EncodingSettings", "encode_windows", "iterate_encoded", "pooled_features", "check_finite_outputs"]


@dataclass
class EncodingSettings:
    """How windows are turned into encoder input (fixed at fit time)."""

    scaling: str
    input_scale: float
    precision: str = "fp32"


def scaled_channels(windows_uv: torch.Tensor, settings: EncodingSettings,
                    channels: torch.Tensor | None = None) -> torch.Tensor:
    """The channels of a batch of windows as scaled single channels ``(w * C, T)``.

    ``channels`` (``(w, C, T)`` in µV, e.g. recombined differences) defaults to
    the windows' own; either way the ``"window"`` scaling constant is the
    window's, as in pretraining.
    """
    channels = windows_uv if channels is None else channels
    center, scale = scaling_statistics(channels, windows_uv, settings.scaling, settings.input_scale)
    return (channels.flatten(0, 1) - center) / scale


def encode_windows(encoder, windows_uv: torch.Tensor, settings: EncodingSettings,
                   channels: torch.Tensor | None = None) -> torch.Tensor:
    """Encode every channel of a batch of windows (or the channels recombined from them).

    Parameters
    ----------
    encoder : torch.nn.Module
        A channel encoder (one channel in, 4 channels of the same length out).
    windows_uv : torch.Tensor of shape (n_windows, n_channels, n_times)
        In µV, on the encoder's device.
    settings : EncodingSettings
    channels : torch.Tensor of shape (n_windows, k, n_times) or None
        Single channels made from these windows (:func:`skseqclr.recombination.recombine`)
        to encode instead of the windows' own.

    Returns
    -------
    torch.Tensor of shape (n_windows, n_channels or k, 4, n_times)
    """
    channels = windows_uv if channels is None else channels
    return _encode_scaled(encoder, scaled_channels(windows_uv, settings, channels), channels.shape[:2], settings)


def _encode_scaled(encoder, scaled: torch.Tensor, window_shape, settings: EncodingSettings) -> torch.Tensor:
    """Encoder output ``(*window_shape, 4, T)`` of single channels already scaled (``(w * C, T)``)."""
    with autocast(scaled.device, settings.precision):
        h = encoder(scaled)
    return h.float().reshape(*window_shape, h.shape[-2], h.shape[-1])


def pooled_features(h: torch.Tensor, scaled: torch.Tensor | None, statistics, log_power: bool,
                    sfreq: float | None = None) -> torch.Tensor:
    """Per-channel features ``(n_windows, n_channels, n_features_per_channel)``.

    ``h`` is the encoder output ``(w, C, 4, T)`` at ``sfreq`` Hz (needed by
    band statistics); with ``log_power`` the log mean square of each scaled
    input channel (``scaled``, ``(w * C, T)``) is appended as one more feature
    per channel.
    """
    features = pool(h, statistics, sfreq)
    if log_power:
        power = torch.log(scaled.float().square().mean(dim=-1) + 1e-6).reshape(h.shape[0], h.shape[1], 1)
        features = torch.cat([features, power], dim=-1)
    return features


def iterate_encoded(encoder, source, *, to_microvolts, resample, settings, device, windows_per_batch,
                    num_workers=0):
    """Yield ``(window_indices, windows_uv)`` batches of a source on ``device``, in order."""
    batches = consecutive_batches(source.n_windows, windows_per_batch)
    pin = device.type == "cuda"
    for (_, indices), (_, windows) in zip(batches, iterate_batches([source], batches, num_workers=num_workers,
                                                                   pin_memory=pin)):
        yield indices, to_device_microvolts(windows, device, to_microvolts, resample)


def compute_features(encoder, source, *, to_microvolts, resample, settings, device, windows_per_batch,
                     statistics, log_power, num_workers=0, sfreq=None, pairs=None) -> np.ndarray:
    """Pooled per-channel features of every window of ``source``: ``(n, C, F)`` float32.

    With ``pairs`` (``(first, second)`` channel indices,
    :func:`skseqclr.recombination.feature_channel_pairs`) the features are read
    on those recombined channels, ``(n, len(first), F)``, made batch by batch.
    """
    if pairs is not None:
        first, second = (torch.as_tensor(indices, dtype=torch.long, device=device) for indices in pairs)
    out = None
    encoder.eval()
    with torch.no_grad():
        for indices, windows_uv in iterate_encoded(encoder, source, to_microvolts=to_microvolts,
                                                   resample=resample, settings=settings, device=device,
                                                   windows_per_batch=windows_per_batch,
                                                   num_workers=num_workers):
            channels = windows_uv if pairs is None else recombine(windows_uv, first, second)
            scaled = scaled_channels(windows_uv, settings, channels)  # once: the encoder's input and the log power's
            h = _encode_scaled(encoder, scaled, channels.shape[:2], settings)
            features = pooled_features(h, scaled, statistics, log_power, sfreq).cpu().numpy()
            check_finite_outputs(features, indices, modules={"encoder": encoder}, windows_uv=windows_uv)
            if out is None:
                out = np.empty((source.n_windows, *features.shape[1:]), dtype=np.float32)
            out[indices] = features
    return out


def check_finite_outputs(values, indices, *, modules, windows_uv=None, what="features"):
    """Raise a ``ValueError`` naming the windows whose outputs are not finite (NaN or inf).

    Parameters
    ----------
    values : np.ndarray of shape (n_windows, ...)
        One row of outputs per window.
    indices : array-like of int
        The windows' indices in the caller's input, in the order of ``values``.
    modules : dict of str to torch.nn.Module
        The networks that computed ``values``; the weights of those that are
        not finite are named, as the likely cause.
    windows_uv : torch.Tensor of shape (n_windows, n_channels, n_times) or None
        The input windows in µV, to report their amplitude otherwise.
    what : str
        What ``values`` are, for the message.

    Raises
    ------
    ValueError
        If any value is not finite. Costs one pass over ``values`` otherwise.
    """
    values = np.asarray(values)
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if finite.all():
        return
    bad = np.asarray(indices)[~finite]
    where = f"The {what} of {describe_windows(bad)} ({len(bad)} of {len(values)} in this batch) are not finite (NaN or inf)"
    corrupted = [f"{name}.{tensor}" for name, module in modules.items()
                 for tensor in nonfinite_tensors(module.state_dict().items())]
    if corrupted:
        raise ValueError(
            f"{where}: the weights are not finite ({describe_names(corrupted)}), because training diverged or they were altered "
            "since. Fit again (pretraining stops with an error if it diverges), or use weights saved "
            "before."
        )
    amplitude = ""
    if windows_uv is not None:
        peak = float(windows_uv[torch.as_tensor(~finite, device=windows_uv.device)].abs().max())
        amplitude = f" (largest |value| {peak:.3g} µV)"
    raise ValueError(
        f"{where}, with finite weights: these windows{amplitude} overflow float32 on their way through the "
        "encoder. Check their amplitude and units (the units parameter: e.g. data in µV declared as volts); NaN "
        "and inf in the input windows themselves are refused when they are read."
    )
