"""The six SeqCLR channel augmentations as pure, batched tensor functions (paper §2.2).

Every function takes a ``(batch, time)`` tensor of single channels and one
strength *per row* (a 1-D tensor of length ``batch``), so each channel of a
batch gets its own strength (§2.2 draws strengths per channel) in one
vectorised call on the data's device. No function loops over samples in
Python; randomness comes from a ``torch.Generator`` on the data's device.
:func:`crop` (not in the paper) cuts each view to ``crop_length`` samples
before it is augmented (see :class:`skseqclr.SeqCLRTransformer`).

Units: signals are expected in microvolts (the package converts MNE's volts
before augmenting, see :mod:`skseqclr.inputs`), which is what makes the
paper's DC-shift range, stated in µV, mean what the paper meant. The gain is
unitless, shifts and masks are in samples, the noise's sigma is relative to
each channel's standard deviation (:func:`gaussian_noise`) and band-stop
centres are in Hz.

Why not braindecode's transforms
--------------------------------
``braindecode.augmentation.functional`` has close relatives, reused here in
idea but not in code:

* ``amplitude_scale`` has the paper's semantics (one uniform gain per sample
  and channel) but draws the gains with a NumPy generator on the host and
  copies them to the device; :func:`amplitude_scale` here is the one-line
  multiply, with gains drawn on the device from a ``torch.Generator``.
* ``gaussian_noise`` adds noise of one fixed absolute ``std`` to the whole
  batch; the paper draws sigma per channel (here relative to the channel's
  standard deviation, see :func:`gaussian_noise`).
* ``smooth_time_mask`` applies a sigmoid-edged mask of one length, shared by
  all channels of a window; the paper zeroes a contiguous run of samples of a
  length drawn per channel (:func:`zero_mask`).
* ``bandstop_filter`` loops over the samples of the batch in Python and calls
  MNE's FIR notch filter on each, on the CPU, leaving the device; here the
  band-stop is a zero-phase frequency-domain filter applied to the whole batch
  with one FFT (:func:`bandstop_filter`).
* Time shift and DC shift have no braindecode equivalent with per-channel
  strengths.

So all six are written here, as small tensor functions.
"""

from __future__ import annotations

import torch

__all__ = [
    "amplitude_scale",
    "time_shift",
    "dc_shift",
    "zero_mask",
    "gaussian_noise",
    "bandstop_filter",
    "bandstop_response",
    "crop",
]


def amplitude_scale(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Multiply each channel by its own factor.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
        Single channels.
    factor : torch.Tensor of shape (batch,)
        Unitless gains (the paper draws them from 0.5 to 2).
    """
    return x * factor.to(x.dtype).unsqueeze(-1)


def time_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Shift each channel in time by its own whole number of samples.

    The shift is circular: ``out[t] = x[(t - shift) mod T]``, so a positive shift
    delays the signal and the samples pushed past one end re-enter at the
    other. A circular shift keeps the channel's length and power spectrum and
    adds no flat run that the zero-mask augmentation could be confused with.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
    shift : torch.Tensor of shape (batch,), integer
        Shift in samples (the paper: -50 to 50).
    """
    n_times = x.shape[-1]
    time = torch.arange(n_times, device=x.device)
    source = (time.unsqueeze(0) - shift.to(x.device).long().unsqueeze(-1)) % n_times
    return x.gather(-1, source)


def dc_shift(x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Add a constant offset to each channel.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
        Single channels in µV.
    offset : torch.Tensor of shape (batch,)
        Offsets in µV (the paper: -10 to 10 µV).
    """
    return x + offset.to(x.dtype).unsqueeze(-1)


def zero_mask(x: torch.Tensor, start: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Set a contiguous run of samples of each channel to zero.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
    start : torch.Tensor of shape (batch,), integer
        First masked sample of each channel.
    length : torch.Tensor of shape (batch,), integer
        Masked samples per channel (the paper: 0 to 150); the run is cut at
        the end of the window.
    """
    time = torch.arange(x.shape[-1], device=x.device).unsqueeze(0)
    start = start.to(x.device).long().unsqueeze(-1)
    stop = start + length.to(x.device).long().unsqueeze(-1)
    masked = (time >= start) & (time < stop)
    return x.masked_fill(masked, 0.0)


def gaussian_noise(
    x: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Add white Gaussian noise whose standard deviation is relative to the channel's.

    The paper gives sigma as a bare number from 0 to 0.2. On EEG in µV (tens of
    µV) an absolute sigma of 0.2 µV would be invisible, so sigma is read as a
    fraction of each channel's own standard deviation: sigma = 0.2 adds noise
    at 20% of the channel's RMS (a signal-to-noise ratio of 14 dB). This keeps
    the augmentation's strength the same whatever the recording's units.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
    sigma : torch.Tensor of shape (batch,)
        Noise standard deviation as a fraction of the channel's.
    generator : torch.Generator or None
        Source of the noise; on ``x``'s device.
    """
    scale = sigma.to(x.dtype).unsqueeze(-1) * x.std(dim=-1, keepdim=True, unbiased=False)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + scale * noise


def bandstop_response(
    frequencies: torch.Tensor, center: torch.Tensor, width: float, order: int = 4
) -> torch.Tensor:
    """Magnitude response of the band-stop used by :func:`bandstop_filter`.

    A Butterworth-shaped notch in linear frequency:
    ``|H(f)| = 1 / sqrt(1 + ((width / 2) / (f - center)) ** (2 * order))``. It
    is 0 at the centre, -3 dB at ``center ± width / 2`` and flat (within
    0.01 dB) beyond 1.8 widths from the centre for the default order 4.

    Parameters
    ----------
    frequencies : torch.Tensor of shape (n_freqs,)
        Frequencies in Hz.
    center : torch.Tensor of shape (batch,)
        Centre frequency of each row's notch, in Hz.
    width : float
        -3 dB width in Hz (the paper: 5 Hz).
    order : int
        Steepness of the edges.

    Returns
    -------
    torch.Tensor of shape (batch, n_freqs)
    """
    distance = frequencies.unsqueeze(0) - center.unsqueeze(-1)
    # ((width / 2) / |d|) ** (2 * order) computed as ((width / 2) ** 2 / d ** 2) ** order,
    # in place and with multiplications rather than pow(), which is ~30x slower on CPUs
    # (benchmarks/speed/augment.py); the values are the same up to rounding.
    ratio = distance.mul_(distance).clamp_min_(torch.finfo(distance.dtype).tiny).reciprocal_()
    ratio.mul_((width / 2.0) ** 2)
    if isinstance(order, int) and order >= 1:
        power = ratio.clone()
        for _ in range(order - 1):
            power.mul_(ratio)
    else:
        power = ratio.pow_(order)
    return power.add_(1.0).rsqrt_()


def bandstop_filter(
    x: torch.Tensor,
    center: torch.Tensor,
    sfreq: float,
    width: float = 5.0,
    order: int = 4,
) -> torch.Tensor:
    """Remove a band of frequencies around a per-channel centre.

    Zero-phase filtering in the frequency domain, for the whole batch at once:
    each channel is reflect-padded (by up to one second) to soften the edges,
    transformed with one real FFT, multiplied by the magnitude response of
    :func:`bandstop_response` for its own centre, and transformed back.

    Like any filter applied to a finite window, it has edge transients: a
    sinusoid at the centre is removed by more than 30 dB away from the edges,
    but the filter needs about half a second (the settling time of a 5-Hz
    stop band) from each end of the window to get there, so over a whole 4-s
    window the sinusoid's power drops by at least about 16 dB, depending on
    its phase at the edges (as with SciPy's ``sosfiltfilt`` of a Butterworth
    band-stop). Frequencies 15 Hz or more from the centre pass within 0.1 dB.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
    center : torch.Tensor of shape (batch,)
        Centre of the stop band of each channel, in Hz (the paper: 2.8 to
        82.5 Hz).
    sfreq : float
        Sampling frequency in Hz.
    width : float
        Width of the stop band in Hz between its -3 dB edges (the paper: 5 Hz).
    order : int
        Steepness of the band edges.
    """
    n_times = x.shape[-1]
    pad = min(n_times - 1, int(round(sfreq)))
    compute_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    padded = _reflect_pad(x.to(compute_dtype), pad)
    n_padded = padded.shape[-1]
    spectrum = torch.fft.rfft(padded, dim=-1)
    frequencies = torch.fft.rfftfreq(n_padded, d=1.0 / sfreq, device=x.device, dtype=compute_dtype)
    response = bandstop_response(frequencies, center.to(x.device, compute_dtype), width, order)
    # A real response scales real and imaginary parts alike: multiply them as reals, in
    # place (3x faster than promoting the response to complex).
    torch.view_as_real(spectrum).mul_(response.unsqueeze(-1))
    filtered = torch.fft.irfft(spectrum, n=n_padded, dim=-1)
    return filtered[..., pad : pad + n_times].to(x.dtype)


def _reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """``F.pad(x, (pad, pad), mode="reflect")`` along the last axis, for ``pad < x.shape[-1]``.

    Built from two flipped slices: the same values, several times faster than
    ``reflection_pad1d`` on CPUs (benchmarks/speed/augment.py).
    """
    if pad == 0:
        return x
    before = x[..., 1 : pad + 1].flip(-1)
    after = x[..., -pad - 1 : -1].flip(-1)
    return torch.cat([before, x, after], dim=-1)


def crop(x: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """Cut ``length`` consecutive samples out of each channel, from its own start.

    Not one of the paper's six augmentations: it makes the two views of a
    channel two different stretches of it (see ``crop_length`` of
    :class:`skseqclr.SeqCLRTransformer`).

    Parameters
    ----------
    x : torch.Tensor of shape (batch, time)
    start : torch.Tensor of shape (batch,), integer
        First sample of each channel's crop, from 0 to ``time - length``.
    length : int
        Samples per crop.

    Returns
    -------
    torch.Tensor of shape (batch, length)
    """
    offsets = torch.arange(int(length), device=x.device).unsqueeze(0)
    return x.gather(-1, start.to(x.device).long().unsqueeze(-1) + offsets)
