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


def _one_over_f(freqs, exponent):
    """Amplitude spectrum of a 1/f^exponent power law, flat below 1 Hz and zero at DC.

    ``exponent`` may be an array of shape (n_windows,); the result then has
    shape (n_windows, 1, n_freqs).
    """
    exponent = np.asarray(exponent, dtype=float)
    shape = np.maximum(freqs, 1.0) ** (-exponent[..., None] / 2.0)
    shape[..., 0] = 0.0
    return shape if exponent.ndim == 0 else shape[:, None, :]


def _coloured_background(rng, shape, n_windows, n_channels, n_times):
    """Spatially correlated Gaussian noise with amplitude spectrum ``shape``.

    Each channel is Gaussian noise whose complex spectrum is a standard normal
    draw times ``shape`` (broadcast to (n_windows, n_channels, n_freqs)), then
    neighbouring channels are mixed as volume conduction does, with unit-norm
    mixing rows so that mixing keeps the variance of each channel
    (:func:`_expected_std` gives that variance's square root).
    """
    n_freqs = n_times // 2 + 1
    spectrum = (rng.standard_normal((n_windows, n_channels, n_freqs))
                + 1j * rng.standard_normal((n_windows, n_channels, n_freqs))) * shape
    background = np.fft.irfft(spectrum, n=n_times, axis=-1)
    position = np.arange(n_channels)
    mixing = np.exp(-np.abs(position[:, None] - position[None, :]) / 1.5)
    return np.einsum("ij,njt->nit", mixing / np.linalg.norm(mixing, axis=1, keepdims=True), background)


def _expected_std(shape, n_times):
    """Expected standard deviation of a sample of :func:`_coloured_background` with ``shape``.

    The inverse real FFT counts each bin between DC and Nyquist twice (its real
    part has variance ``shape**2``) and ignores the imaginary parts of DC and
    Nyquist.
    """
    power = 4.0 * np.sum(shape[..., 1:(n_times + 1) // 2] ** 2, axis=-1)
    if n_times % 2 == 0:
        power = power + shape[..., n_times // 2] ** 2
    return np.sqrt(power) / n_times


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

    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    background = _coloured_background(rng, _one_over_f(freqs, 1.0), n_windows, n_channels, n_times)
    position = np.arange(n_channels)
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


#: Kinds of :func:`make_synthetic_task`, each a different property that separates the classes.
SYNTHETIC_TASK_KINDS = ("amplitude", "bandpower", "slow_potential")
_ALPHA_BAND_HZ = (8.0, 13.0)  # the band whose power separates the classes of "bandpower"
_ALPHA_PEAK_RANGE_HZ = (9.0, 11.0)  # each subject's alpha peak frequency is drawn from this range
_ALPHA_WIDTH_HZ = 1.0  # standard deviation of the Gaussian alpha peak in the spectrum, Hz
_ALPHA_PEAK = 2.0  # alpha peak height relative to the 1/f amplitude spectrum, every window
_ALPHA_PEAK_CLASS_1 = 3.0  # the same for class 1 of "bandpower"
_AMPLITUDE_RATIO = 1.25  # amplitude of class 1 relative to class 0 in "amplitude"
_SLOW_POTENTIAL_UV = 10.0  # peak of the slow negative deflection of "slow_potential", µV
_SLOW_POTENTIAL_LATENCY = 0.6  # its centre, as a fraction of the window's duration
_SLOW_POTENTIAL_WIDTH = 0.1  # its Gaussian standard deviation, as a fraction of the window's duration
_EXPONENT_RANGE = (0.7, 1.7)  # each subject's 1/f power exponent is drawn from this range
_SUBJECT_GAIN_SIGMA = 0.35  # log-normal σ of each subject's overall gain
_CHANNEL_GAIN_SIGMA = 0.25  # log-normal σ of each subject's per-channel gains
_WINDOW_GAIN_SIGMA = 0.1  # log-normal σ of the gain of each window
_SUBJECT_DC_UV = 20.0  # standard deviation of each subject's per-channel DC offsets, µV
_WINDOW_DC_UV = 5.0  # standard deviation of each window's extra per-channel DC offsets, µV


def make_synthetic_task(kind, *, n_subjects=12, windows_per_subject=40, n_channels=8, n_times=256, sfreq=128.0,
                        random_state=None):
    """Generate a two-class EEG-like task whose classes differ in one known property.

    A task with a known ground truth, for telling what a feature (or an
    augmentation) keeps or hides. Every window is spatially correlated 1/f
    background noise (drawn as :func:`make_synthetic_eeg` draws its
    background) with an alpha peak in its spectrum, 20 µV in standard
    deviation before the gains. Class 1 differs from class 0 in one property
    only, chosen by ``kind``:

    ``"amplitude"``
        Class 1 is the same signal 1.25 times larger (every frequency and
        channel alike; the DC offsets are not scaled). The oracle feature is
        the log standard deviation of the window.
    ``"bandpower"``
        Class 1 has a higher alpha peak (8-13 Hz) in its spectrum; the other
        frequencies are scaled down so that the expected broadband power is
        the same in both classes. The oracle feature is the log power of the
        alpha band relative to the broadband power.
    ``"slow_potential"``
        Class 1 carries an added slow negative deflection of 10 µV at its peak,
        time-locked like a contingent negative variation or an event-related
        potential: Gaussian in time, centred at 60 % of the window with a
        standard deviation of 10 % of the window's duration, over a smooth
        bump of central channels. Its power lies below about 2 Hz, so the
        power of the rhythms above that is unchanged. The oracle feature is
        the mean over the deflection (± one standard deviation around its
        centre) minus the mean over the rest of the window.

    Every subject has its own nuisance, the same in both classes: an overall
    gain (log-normal, σ = 0.35), per-channel gains (log-normal, σ = 0.25), a
    1/f exponent of the background power (uniform in 0.7-1.7), an alpha peak
    frequency (uniform in 9-11 Hz) and per-channel DC offsets (σ = 20 µV).
    Each window adds its own gain (log-normal, σ = 0.1) and DC offsets
    (σ = 5 µV). Features that are not standardised per subject, or that do
    not discount gain and offsets, therefore transfer poorly across subjects.

    Parameters
    ----------
    kind : {"amplitude", "bandpower", "slow_potential"}
        The property class 1 differs in (see above and
        ``SYNTHETIC_TASK_KINDS``).
    n_subjects : int, default=12
        Number of subjects, at least 1.
    windows_per_subject : int, default=40
        Windows of each subject, an even number at least 2; half of them
        are class 1.
    n_channels : int, default=8
        Channels per window.
    n_times : int, default=256
        Samples per window, at least 32.
    sfreq : float, default=128.0
        Sampling frequency in Hz, at least 32 Hz (2.5 times the top of the
        alpha band, 13 Hz). Windows must last at least 1 s
        (``n_times >= sfreq``) for the alpha peak and the slow deflection to
        be resolved.
    random_state : int, RandomState or None
        Seed of the generator.

    Returns
    -------
    X : np.ndarray of shape (n_subjects * windows_per_subject, n_channels, n_times), float32
        Windows in µV, subject after subject.
    y : np.ndarray of shape (n_subjects * windows_per_subject,), int64
        Class labels, 0 or 1, balanced within every subject.
    groups : np.ndarray of shape (n_subjects * windows_per_subject,), int64
        Subject of each window, ``0 .. n_subjects - 1``.

    See Also
    --------
    make_synthetic_eeg : Windows whose classes differ in the frequency of a rhythm.

    Examples
    --------
    >>> X, y, groups = make_synthetic_task("bandpower", n_subjects=2, windows_per_subject=4, random_state=0)
    >>> X.shape, y.tolist(), groups.tolist()
    ((8, 8, 256), [0, 1, 1, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1])
    """
    if not isinstance(kind, str) or kind not in SYNTHETIC_TASK_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, SYNTHETIC_TASK_KINDS))}, got {kind!r}.")
    for name, value, low in (("n_subjects", n_subjects, 1), ("n_channels", n_channels, 1),
                             ("n_times", n_times, 32)):
        if not is_int_at_least(value, low):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if not is_int_at_least(windows_per_subject, 2) or windows_per_subject % 2:
        raise ValueError(
            "windows_per_subject must be an even integer >= 2 (half of each subject's windows are class 1), "
            f"got {windows_per_subject!r}."
        )
    if isinstance(sfreq, bool) or not isinstance(sfreq, numbers.Real) or not np.isfinite(sfreq) or sfreq < 32:
        raise ValueError(f"sfreq must be a number of Hz >= 32 (the alpha band reaches 13 Hz), got {sfreq!r}.")
    sfreq = float(sfreq)
    if n_times < sfreq:
        raise ValueError(
            f"windows must last at least 1 s: n_times={n_times} samples at sfreq={sfreq:g} Hz is "
            f"{n_times / sfreq:.3g} s; use n_times >= {int(np.ceil(sfreq))}."
        )
    rng = check_random_state(random_state)
    n_windows = n_subjects * windows_per_subject

    groups = np.repeat(np.arange(n_subjects), windows_per_subject)
    y = np.tile(np.arange(windows_per_subject) % 2, n_subjects)
    for subject in range(n_subjects):  # shuffle the labels within each subject (n_subjects draws, not a hot path)
        block = slice(subject * windows_per_subject, (subject + 1) * windows_per_subject)
        y[block] = rng.permutation(y[block])

    # Per-subject nuisance, the same in both classes.
    exponent = rng.uniform(*_EXPONENT_RANGE, n_subjects)
    alpha_peak = rng.uniform(*_ALPHA_PEAK_RANGE_HZ, n_subjects)
    gain = np.exp(rng.normal(0.0, _SUBJECT_GAIN_SIGMA, n_subjects))
    channel_gain = np.exp(rng.normal(0.0, _CHANNEL_GAIN_SIGMA, (n_subjects, n_channels)))
    dc_offset = rng.normal(0.0, _SUBJECT_DC_UV, (n_subjects, n_channels))

    # Background: 1/f^exponent with an alpha peak, scaled to the same expected
    # standard deviation (_BACKGROUND_UV) in every subject and class.
    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    base = _one_over_f(freqs, exponent[groups])
    bump = np.exp(-0.5 * ((freqs - alpha_peak[groups][:, None, None]) / _ALPHA_WIDTH_HZ) ** 2)
    peak = np.full((n_windows, 1, 1), _ALPHA_PEAK)
    if kind == "bandpower":
        peak[y == 1] = _ALPHA_PEAK_CLASS_1
    shape = base * (1.0 + peak * bump)
    shape *= _BACKGROUND_UV / _expected_std(shape, n_times)[..., None]
    X = _coloured_background(rng, shape, n_windows, n_channels, n_times)

    if kind == "amplitude":
        X[y == 1] *= _AMPLITUDE_RATIO
    elif kind == "slow_potential":
        t = np.arange(n_times) / n_times
        wave = -np.exp(-0.5 * ((t - _SLOW_POTENTIAL_LATENCY) / _SLOW_POTENTIAL_WIDTH) ** 2)
        position = np.arange(n_channels)
        topography = np.exp(-0.5 * ((position - (n_channels - 1) / 2) / max(n_channels / 3, 1.0)) ** 2)
        X[y == 1] += _SLOW_POTENTIAL_UV * topography[:, None] * wave

    window_gain = np.exp(rng.normal(0.0, _WINDOW_GAIN_SIGMA, (n_windows, 1, 1)))
    X *= window_gain * gain[groups][:, None, None] * channel_gain[groups][:, :, None]
    X += (dc_offset[groups] + rng.normal(0.0, _WINDOW_DC_UV, (n_windows, n_channels)))[:, :, None]
    return X.astype(np.float32), y.astype(np.int64), groups.astype(np.int64)
