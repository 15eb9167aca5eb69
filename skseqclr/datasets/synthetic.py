"""A synthetic generator of labelled EEG-like windows (:func:`make_synthetic_eeg`)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._validation import is_int_at_least


#: Dominant frequency of each class's rhythm, in Hz, in class order: alpha,
#: beta, theta, low beta, high beta, delta, low alpha, low gamma.
SYNTHETIC_CLASS_FREQUENCIES = (10.0, 20.0, 6.0, 15.0, 25.0, 3.0, 8.0, 35.0)
_BACKGROUND_UV = 20.0  # standard deviation of the 1/f background at noise=1, µV
_RHYTHM_UV = 10.0  # peak amplitude of a class rhythm on its strongest channel, µV
_FREQUENCY_JITTER_HZ = 1.0


def make_synthetic_eeg(n_windows=200, n_channels=8, n_times=512, sfreq=128.0, n_classes=2, noise=1.0,
                       random_state=None):
    """Generate labelled EEG-like windows: 1/f background plus class-specific rhythms.

    Each window is spatially correlated pink noise (power ∝ 1/f, mixed
    across neighbouring channels as volume conduction does) plus one bursting
    oscillation whose frequency identifies the class: 10 Hz (alpha) for class
    0, 20 Hz (beta) for class 1, then 6, 15, 25, 3, 8 and 35 Hz (see
    ``SYNTHETIC_CLASS_FREQUENCIES``). The rhythm's frequency is jittered by up
    to ±1 Hz per window, its amplitude waxes and wanes at 0.2-1 Hz, and its
    spatial pattern is a smooth bump over a class-specific group of channels.
    Every class has the same rhythm power, so per-channel power alone barely
    separates the classes: a feature must resolve frequency (or topography).
    A random gain per window (log-normal, σ = 0.2) adds the amplitude
    variability of real recordings.

    Parameters
    ----------
    n_windows : int, default=200
        Number of windows; classes are balanced (up to one window).
    n_channels : int, default=8
        Channels per window.
    n_times : int, default=512
        Samples per window.
    sfreq : float, default=128.0
        Sampling frequency in Hz; must exceed 2.5 times the highest class
        frequency used (e.g. 50 Hz for 2 classes).
    n_classes : int, default=2
        Number of classes, 2 to 8.
    noise : float, default=1.0
        Standard deviation of the background relative to its default of
        20 µV; 0 gives clean rhythms, larger values make the task harder.
    random_state : int, RandomState or None
        Seed of the generator.

    Returns
    -------
    X : np.ndarray of shape (n_windows, n_channels, n_times), float32
        Windows in µV.
    y : np.ndarray of shape (n_windows,), int64
        Class labels ``0 .. n_classes - 1``.

    Examples
    --------
    >>> X, y = make_synthetic_eeg(n_windows=10, n_channels=4, random_state=0)
    >>> X.shape, y.shape
    ((10, 4, 512), (10,))
    """
    for name, value, low in (("n_windows", n_windows, 1), ("n_channels", n_channels, 1),
                             ("n_times", n_times, 8), ("n_classes", n_classes, 2)):
        if not is_int_at_least(value, low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if n_classes > len(SYNTHETIC_CLASS_FREQUENCIES):
        raise ValueError(f"n_classes must be at most {len(SYNTHETIC_CLASS_FREQUENCIES)}, got {n_classes}.")
    if not isinstance(sfreq, numbers.Real) or not sfreq > 0:
        raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}.")
    if not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    class_freqs = np.asarray(SYNTHETIC_CLASS_FREQUENCIES[:n_classes])
    needed = 2.5 * (class_freqs.max() + _FREQUENCY_JITTER_HZ)
    if sfreq < needed:
        raise ValueError(
            f"sfreq={sfreq} Hz is too low for {n_classes} class rhythms (up to {class_freqs.max()} Hz); "
            f"use sfreq >= {needed:g} Hz or fewer classes."
        )
    rng = check_random_state(random_state)
    sfreq = float(sfreq)

    y = np.arange(n_windows) % n_classes
    rng.shuffle(y)

    # Pink background: unit-variance complex spectrum shaped by 1/sqrt(f),
    # flat below 1 Hz so that the DC-near bins do not dominate.
    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    shape = 1.0 / np.sqrt(np.maximum(freqs, 1.0))
    shape[0] = 0.0
    spectrum = (rng.standard_normal((n_windows, n_channels, freqs.size))
                + 1j * rng.standard_normal((n_windows, n_channels, freqs.size))) * shape
    background = np.fft.irfft(spectrum, n=n_times, axis=-1)
    position = np.arange(n_channels)
    mixing = np.exp(-np.abs(position[:, None] - position[None, :]) / 1.5)
    background = np.einsum("ij,njt->nit", mixing / np.linalg.norm(mixing, axis=1, keepdims=True), background)
    background *= noise * _BACKGROUND_UV / max(background.std(), np.finfo(float).tiny)

    # Class rhythms: a smooth spatial bump centred on a class-specific channel.
    centres = (np.arange(n_classes) + 0.5) * n_channels / n_classes
    width = max(n_channels / n_classes, 1.0)
    patterns = 0.3 + np.exp(-0.5 * ((position[None, :] - centres[:, None]) / width) ** 2)
    t = np.arange(n_times) / sfreq
    frequency = class_freqs[y] + rng.uniform(-_FREQUENCY_JITTER_HZ, _FREQUENCY_JITTER_HZ, n_windows)
    phase = rng.uniform(0, 2 * np.pi, n_windows)
    envelope_freq = rng.uniform(0.2, 1.0, n_windows)
    envelope_phase = rng.uniform(0, 2 * np.pi, n_windows)
    envelope = 1.0 + 0.6 * np.sin(2 * np.pi * envelope_freq[:, None] * t + envelope_phase[:, None])
    rhythm = envelope * np.sin(2 * np.pi * frequency[:, None] * t + phase[:, None])
    X = background + _RHYTHM_UV * patterns[y][:, :, None] * rhythm[:, None, :]
    X *= np.exp(rng.normal(0.0, 0.2, (n_windows, 1, 1)))
    return X.astype(np.float32), y.astype(np.int64)
