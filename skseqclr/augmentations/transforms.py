"""Thin classes over :mod:`skseqclr.augmentations.functional` (paper §2.2).

Each class holds one augmentation's range, draws one strength per channel
uniformly within it (§2.2: strengths are random per channel), and applies the
pure function. :class:`ChannelAugmenter` is the paper's channel augmenter
(§2.3): it turns a batch of ``N`` single channels into two views of
``N`` augmented channels each, each view getting its own randomly chosen
augmentation(s) and strengths, so the two views of a channel differ.

Ranges and units
----------------
The estimators' parameters carry these ranges under the same names, so that
``GridSearchCV`` can search them; ``None`` turns an augmentation off. The
paper's values (§2.2) are :data:`PAPER_RANGES`.

=================  ==================  ============================================
parameter          paper's range       unit, and what the package does about scale
=================  ==================  ============================================
amplitude_scale    0.5 to 2            unitless gain: the same on any scale
time_shift         -50 to 50           samples (±0.25 s at the paper's 200 Hz;
                                       a different duration at other rates);
                                       ``"auto"``: ±0.25 s at the data's rate,
                                       at most 1/8 of the views' length
dc_shift           -10 to 10           µV: data are converted to µV before
                                       augmenting (MNE's volts x 1e6, see
                                       :mod:`skseqclr.inputs`), so 10 means 10 µV
zero_mask          0 to 150            samples (0.75 s at 200 Hz); ``"auto"``:
                                       0 to 0.75 s at the data's rate, at most
                                       1/4 of the views' length
gaussian_noise     0 to 0.2            sigma as a fraction of the channel's own
                                       standard deviation: the paper's bare 0.2
                                       assumes standardised signals, and 0.2 µV of
                                       absolute noise on tens of µV of EEG would
                                       be invisible
bandstop           2.8 to 82.5         Hz, centre of a 5-Hz-wide stop band; the
                                       upper end is clipped to Nyquist - 2.5 Hz
                                       (61.5 Hz at 128 Hz), a range wholly above
                                       it is refused (:class:`BandStop`)
=================  ==================  ============================================

``"auto"`` (:func:`resolve_auto_range`) is what the estimators use by
default for the two ranges given in samples, so that the paper's durations
carry over to data at any rate and short windows are not refused.

Augmentations are applied to the µV channels *before* the encoder's scaling
(:mod:`skseqclr.scaling`), which is computed from the un-augmented channel, so
an amplitude scale or DC shift survives the scaling as the paper intends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np
import torch

from . import functional as AF

__all__ = [
    "resolve_auto_ranges",
    "PAPER_RANGES",
    "PAPER_SFREQ",
    "AUTO_FRACTIONS",
    "AUGMENTATION_NAMES",
    "ChannelAugmentation",
    "AmplitudeScale",
    "TimeShift",
    "DCShift",
    "ZeroMask",
    "GaussianNoise",
    "BandStop",
    "ChannelAugmenter",
    "make_augmentations",
    "resolve_auto_range",
]

#: The paper's ranges (Table 1 of Mohsenvand et al. 2020), keyed by the
#: estimators' parameter names.
PAPER_RANGES: dict[str, tuple[float, float]] = {
    "amplitude_scale": (0.5, 2.0),
    "time_shift": (-50, 50),
    "dc_shift": (-10.0, 10.0),
    "zero_mask": (0, 150),
    "gaussian_noise": (0.0, 0.2),
    "bandstop": (2.8, 82.5),
}

#: Parameter names of the six augmentations, in the order they are applied.
AUGMENTATION_NAMES: tuple[str, ...] = tuple(PAPER_RANGES)

#: Sampling rate (Hz) of the paper's data, at which :data:`PAPER_RANGES` gives
#: ``time_shift`` and ``zero_mask`` in samples (±0.25 s and 0 to 0.75 s).
PAPER_SFREQ = 200.0

#: Largest ``"auto"`` time shift and zero-mask, as fractions of the views' length
#: (:func:`resolve_auto_range`).
AUTO_FRACTIONS: dict[str, float] = {"time_shift": 1 / 8, "zero_mask": 1 / 4}


def resolve_auto_range(name: str, sfreq: float | None = None, n_times: int | None = None) -> tuple[int, int]:
    """The range in samples that ``"auto"`` stands for, for ``time_shift`` or ``zero_mask``.

    The paper's duration (±0.25 s of shift, a mask of 0 to 0.75 s: its
    ±50 and 0-150 samples at :data:`PAPER_SFREQ`) converted at ``sfreq`` and
    rounded to the nearest sample, then capped to a fraction of the views'
    length (:data:`AUTO_FRACTIONS`): a shift of at most 1/8 of the view, a
    mask of at most 1/4 of it. Without ``sfreq`` the paper's sample counts
    are used, capped alike.

    The caps keep both views of a channel mostly the same signal: a circular
    shift of at most 1/8 keeps 7/8 of the view in order (and two views differ
    by at most a quarter of it), a mask of at most 1/4 keeps three quarters
    of it, also when both augmentations are composed in one view. At 200 Hz
    they leave the paper's values unchanged for windows of 3 s or more.

    Parameters
    ----------
    name : {"time_shift", "zero_mask"}
    sfreq : float or None
        Sampling rate of the augmented views in Hz (after any resampling).
    n_times : int or None
        Length of the augmented views in samples (the windows, or the crops
        of ``crop_length``); ``None`` for no cap.

    Returns
    -------
    (int, int)
        ``(-s, s)`` for ``time_shift``, ``(0, m)`` for ``zero_mask``.

    Examples
    --------
    >>> resolve_auto_range("time_shift", sfreq=128.0, n_times=512)
    (-32, 32)
    >>> resolve_auto_range("zero_mask", sfreq=100.0, n_times=50)
    (0, 12)
    """
    if name not in AUTO_FRACTIONS:
        raise ValueError(f"'auto' is a range of {' and '.join(AUTO_FRACTIONS)} only, not of {name}.")
    low, high = PAPER_RANGES[name]
    largest = max(abs(low), abs(high))
    samples = int(largest) if sfreq is None else int(math.floor(largest * float(sfreq) / PAPER_SFREQ + 0.5))
    if n_times is not None:
        samples = min(samples, int(n_times * AUTO_FRACTIONS[name]))
    return (-samples, samples) if name == "time_shift" else (0, samples)


def resolve_auto_ranges(ranges: dict, sfreq: float | None = None, n_times: int | None = None) -> dict:
    """``ranges`` (augmentation name to range) with each ``"auto"`` resolved by :func:`resolve_auto_range`."""
    return {name: (resolve_auto_range(name, sfreq, n_times) if isinstance(value, str) and value == "auto"
                   else value) for name, value in ranges.items()}


def _uniform(n, low, high, generator, device, dtype=torch.float32):
    return low + (high - low) * torch.rand(n, generator=generator, device=device, dtype=dtype)


def _uniform_int(n, low, high, generator, device):
    """Integers drawn uniformly from ``low`` to ``high``, both included."""
    return torch.randint(int(low), int(high) + 1, (n,), generator=generator, device=device)


class ChannelAugmentation:
    """Base class: one augmentation with a ``(low, high)`` range of strengths.

    Subclasses define :meth:`sample` (draw one strength per channel) and
    :meth:`apply` (apply given strengths); calling the object does both.
    """

    name = ""
    unit = ""
    minimum: float | None = None

    def __init__(self, low: float, high: float):
        self.low, self.high = _check_range(self.name, (low, high), self.minimum)

    def __repr__(self):
        return f"{type(self).__name__}(low={self.low!r}, high={self.high!r})"

    def check_window(self, n_times: int, what: str = "windows") -> None:
        """Raise ``ValueError`` if ``what`` (windows, crops) of ``n_times`` samples are too short."""

    def sample(self, n, *, n_times, generator=None, device=None) -> dict:
        raise NotImplementedError

    def apply(self, x, params, generator=None):
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        params = self.sample(x.shape[0], n_times=x.shape[-1], generator=generator, device=x.device)
        return self.apply(x, params, generator)


class AmplitudeScale(ChannelAugmentation):
    """Scale each channel by a factor drawn from ``[low, high]`` (paper: 0.5 to 2)."""

    name, unit, minimum = "amplitude_scale", "unitless gain", 0.0

    def sample(self, n, *, n_times, generator=None, device=None):
        return {"factor": _uniform(n, self.low, self.high, generator, device)}

    def apply(self, x, params, generator=None):
        return AF.amplitude_scale(x, params["factor"])


class TimeShift(ChannelAugmentation):
    """Circularly shift each channel by whole samples drawn from ``[low, high]``.

    Paper: -50 to 50 samples (±0.25 s at the paper's 200 Hz). The range is in
    samples, so it means a different duration at other sampling rates.
    """

    name, unit = "time_shift", "samples"

    def check_window(self, n_times, what="windows"):
        largest = max(abs(self.low), abs(self.high))
        if largest >= n_times:
            raise ValueError(
                f"time_shift={(self.low, self.high)} shifts by up to {largest} samples, "
                f"but {what} have only {n_times} samples; shorten the range or lengthen {what}."
            )

    def sample(self, n, *, n_times, generator=None, device=None):
        return {"shift": _uniform_int(n, self.low, self.high, generator, device)}

    def apply(self, x, params, generator=None):
        return AF.time_shift(x, params["shift"])


class DCShift(ChannelAugmentation):
    """Add an offset in µV drawn from ``[low, high]`` (paper: -10 to 10 µV)."""

    name, unit = "dc_shift", "µV"

    def sample(self, n, *, n_times, generator=None, device=None):
        return {"offset": _uniform(n, self.low, self.high, generator, device)}

    def apply(self, x, params, generator=None):
        return AF.dc_shift(x, params["offset"])


class ZeroMask(ChannelAugmentation):
    """Zero a contiguous run whose length in samples is drawn from ``[low, high]``.

    Paper: 0 to 150 samples (0.75 s at 200 Hz). The run's start is uniform
    over the positions where it fits inside the window.
    """

    name, unit, minimum = "zero_mask", "samples", 0

    def check_window(self, n_times, what="windows"):
        if self.high >= n_times:
            raise ValueError(
                f"zero_mask={(self.low, self.high)} masks up to {self.high} samples, but "
                f"{what} have only {n_times} samples; shorten the range or lengthen {what}."
            )

    def sample(self, n, *, n_times, generator=None, device=None):
        length = _uniform_int(n, self.low, self.high, generator, device)
        start = torch.floor(
            torch.rand(n, generator=generator, device=device) * (n_times - length + 1)
        ).long()
        return {"start": start, "length": length}

    def apply(self, x, params, generator=None):
        return AF.zero_mask(x, params["start"], params["length"])


class GaussianNoise(ChannelAugmentation):
    """Add white noise with sigma drawn from ``[low, high]``, relative to the channel's std.

    Paper: sigma 0 to 0.2. See :func:`~skseqclr.augmentations.functional.gaussian_noise`
    for why sigma is relative.
    """

    name, unit, minimum = "gaussian_noise", "fraction of the channel's standard deviation", 0.0

    def sample(self, n, *, n_times, generator=None, device=None):
        return {"sigma": _uniform(n, self.low, self.high, generator, device)}

    def apply(self, x, params, generator=None):
        return AF.gaussian_noise(x, params["sigma"], generator)


class BandStop(ChannelAugmentation):
    """Remove a ``width``-Hz band centred at a frequency drawn from ``[low, high]``.

    Paper (§2.2): 5 Hz wide, centre 2.8 to 82.5 Hz (at 200 Hz). The rule at
    other rates: centres must stay at or below the Nyquist frequency minus
    half the width, so that the whole stop band is a real band of the
    signal; the upper end of the range is clipped to that limit (so the
    paper's range works on 128-Hz data, with centres up to 61.5 Hz), and a
    range whose lower end lies above it is refused with a ``ValueError``.

    Parameters
    ----------
    low, high : float
        Range of centres in Hz.
    sfreq : float or None
        Sampling frequency in Hz. Needed to apply the filter.
    width : float
        Stop-band width in Hz.
    """

    name, unit, minimum = "bandstop", "Hz", 0.0

    def __init__(self, low, high, sfreq=None, width=5.0):
        super().__init__(low, high)
        self.width = float(width)
        if not (math.isfinite(self.width) and self.width > 0):
            raise ValueError(f"The band-stop width must be a positive number of Hz, got {width!r}.")
        if sfreq is not None and not (isinstance(sfreq, Real) and math.isfinite(sfreq) and sfreq > 0):
            raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq!r}.")
        self.sfreq = None if sfreq is None else float(sfreq)
        if self.sfreq is not None:
            self.effective_range()

    def __repr__(self):
        return (
            f"BandStop(low={self.low!r}, high={self.high!r}, sfreq={self.sfreq!r}, "
            f"width={self.width!r})"
        )

    def check_window(self, n_times, what="windows"):
        """Raise ``ValueError`` if the sampling frequency is missing or the range lies above Nyquist."""
        self.effective_range()

    def effective_range(self) -> tuple[float, float]:
        """The range of centres actually drawn, after clipping at Nyquist."""
        if self.sfreq is None:
            raise ValueError(
                "The bandstop augmentation needs the sampling frequency: pass sfreq= to the "
                "estimator (numpy input), use MNE or braindecode data (which carry it), or "
                "turn the augmentation off with bandstop=None."
            )
        limit = self.sfreq / 2.0 - self.width / 2.0
        if self.low > limit:
            raise ValueError(
                f"bandstop={(self.low, self.high)} Hz: at sfreq={self.sfreq:g} Hz no centre "
                f"above {limit:g} Hz (Nyquist minus half the {self.width:g}-Hz width) is "
                "possible; lower the range or turn the augmentation off with bandstop=None."
            )
        return self.low, min(self.high, limit)

    def sample(self, n, *, n_times, generator=None, device=None):
        low, high = self.effective_range()
        return {"center": _uniform(n, low, high, generator, device)}

    def apply(self, x, params, generator=None):
        return AF.bandstop_filter(x, params["center"], self.sfreq, self.width)


_CLASSES = {
    "amplitude_scale": AmplitudeScale,
    "time_shift": TimeShift,
    "dc_shift": DCShift,
    "zero_mask": ZeroMask,
    "gaussian_noise": GaussianNoise,
    "bandstop": BandStop,
}


_WHOLE_SAMPLES = ("time_shift", "zero_mask")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_range(name, value, minimum=None):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(isinstance(v, Real) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{name} must be a (low, high) pair of numbers or None, got {value!r}.")
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name}=({value[0]!r}, {value[1]!r}): both ends must be finite numbers.")
    if max(abs(low), abs(high)) > _FLOAT32_MAX:
        raise ValueError(f"{name}=({value[0]!r}, {value[1]!r}): values beyond ±{_FLOAT32_MAX:.3g} are not "
                         "representable in float32, in which the augmentations are computed.")
    if not low <= high:
        raise ValueError(f"{name}=({value[0]!r}, {value[1]!r}): low must not exceed high.")
    if minimum is not None and low < minimum:
        raise ValueError(f"{name}=({value[0]!r}, {value[1]!r}): values below {minimum} are not allowed.")
    if name == "amplitude_scale" and low <= 0:
        raise ValueError(f"amplitude_scale=({value[0]!r}, {value[1]!r}): factors must be positive.")
    if name in _WHOLE_SAMPLES and not (low.is_integer() and high.is_integer()):
        raise ValueError(f"{name}=({value[0]!r}, {value[1]!r}) is in samples: use whole numbers.")
    return low, high


def make_augmentations(sfreq=None, n_times=None, **ranges) -> list[ChannelAugmentation]:
    """Build the enabled augmentations from the estimators' range parameters.

    Parameters
    ----------
    sfreq : float or None
        Sampling frequency in Hz (for the band-stop, and ``"auto"`` ranges).
    n_times : int or None
        Length of the augmented views in samples, which caps ``"auto"``
        ranges (:func:`resolve_auto_range`).
    **ranges
        Any of :data:`AUGMENTATION_NAMES`, each a ``(low, high)`` pair or
        ``None`` (off); ``time_shift`` and ``zero_mask`` may also be
        ``"auto"``.

    Returns
    -------
    list of ChannelAugmentation
        In the order of :data:`AUGMENTATION_NAMES`.
    """
    unknown = set(ranges) - set(AUGMENTATION_NAMES)
    if unknown:
        raise ValueError(f"Unknown augmentation(s) {sorted(unknown)}; known: {AUGMENTATION_NAMES}.")
    augmentations = []
    for name in AUGMENTATION_NAMES:
        value = ranges.get(name)
        if value is None:
            continue
        if isinstance(value, str) and value == "auto" and name in AUTO_FRACTIONS:
            value = resolve_auto_range(name, sfreq, n_times)
        low, high = _check_range(name, value, _CLASSES[name].minimum)
        if name == "bandstop":
            augmentations.append(BandStop(low, high, sfreq=sfreq))
        else:
            augmentations.append(_CLASSES[name](low, high))
    return augmentations


class ChannelAugmenter:
    """Make two differently augmented views of each single channel (paper §2.3).

    For each channel and each view, ``augmentations_per_view`` distinct
    augmentations are chosen uniformly at random among the enabled ones and
    composed (in the order of :data:`AUGMENTATION_NAMES`; the paper fixes no
    order), each with a strength
    drawn per channel. With one augmentation per view (this class's default),
    each channel receives two randomly chosen augmentations, one per view,
    which is how we read the paper's augmenter;
    :class:`~skseqclr.SeqCLRTransformer` composes two per view by default,
    (:ref:`benchmark-augmentations-per-view`).

    Every augmentation is computed for the whole batch and kept only where it
    was chosen (``torch.where``), so the augmenter runs without any
    host-device synchronisation and without per-channel Python loops.

    Parameters
    ----------
    augmentations : list of ChannelAugmentation
        The enabled augmentations; empty means both views equal the input
        (an ablation without augmentation).
    augmentations_per_view : int
        How many distinct augmentations each view composes; at most the
        number enabled.
    """

    def __init__(self, augmentations, augmentations_per_view: int = 1):
        self.augmentations = list(augmentations)
        if augmentations_per_view < 1:
            raise ValueError(f"augmentations_per_view must be at least 1, got {augmentations_per_view}.")
        if self.augmentations and augmentations_per_view > len(self.augmentations):
            raise ValueError(
                f"augmentations_per_view={augmentations_per_view} but only {len(self.augmentations)} "
                f"augmentation(s) are enabled ({', '.join(a.name for a in self.augmentations)}); "
                "lower it or enable more augmentations."
            )
        self.augmentations_per_view = augmentations_per_view

    def __repr__(self):
        return (
            f"ChannelAugmenter({self.augmentations!r}, "
            f"augmentations_per_view={self.augmentations_per_view})"
        )

    def check_window(self, n_times: int, what: str = "windows") -> None:
        """Raise ``ValueError`` if ``what`` (windows, crops) of ``n_times`` samples are too short."""
        for augmentation in self.augmentations:
            augmentation.check_window(n_times, what)

    def choose(self, n, generator=None, device=None) -> torch.Tensor:
        """Which augmentations each of ``n`` channels gets: a (n, n_augmentations) bool mask."""
        n_aug = len(self.augmentations)
        ranks = torch.rand(n, n_aug, generator=generator, device=device).argsort(dim=1).argsort(dim=1)
        return ranks < self.augmentations_per_view

    def augment(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """One augmented view of ``x`` (batch, time)."""
        if not self.augmentations:
            return x
        chosen = self.choose(x.shape[0], generator, x.device)
        out = x
        for column, augmentation in enumerate(self.augmentations):
            out = torch.where(chosen[:, column : column + 1], augmentation(out, generator), out)
        return out

    def __call__(self, x: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independently augmented views of a (batch, time) tensor."""
        return self.augment(x, generator), self.augment(x, generator)
