"""Classic EEG features a researcher would use instead of SeqCLR.

Every comparison of SeqCLR features should sit next to these, on the same
split and with the same linear probe (:mod:`skseqclr.evaluation.probe`):

- :class:`LogPower`: each channel's log variance (broadband power).
- :class:`LogVarianceBandPower`: each channel's log variance after band-pass
  filtering in the theta (4-8 Hz), alpha (8-13 Hz) and beta (13-30 Hz) bands,
  the standard band-power features of BCI and cognitive-state EEG.
- :func:`make_tangent_space` / :func:`make_riemannian_pipeline`: shrunk
  spatial covariance matrices projected to the Riemannian tangent space
  (Barachant et al. 2013), the strongest classic baseline for many BCI tasks;
  needs pyriemann (``pip install "skseqclr[riemann]"``).

They accept the same inputs as the SeqCLR estimators (numpy arrays,
braindecode datasets, ``mne.Epochs``, skorch ``SliceDataset``; see
:mod:`skseqclr.inputs`) and work in µV whatever the input's units.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_flag, check_positive_int
from ..inputs import as_window_source, fit_units, resolve_units, transform_units
from ..pooling import POOLING_BANDS
from ..referencing import reference_to_channel_mean

__all__ = ["LogPower", "LogVarianceBandPower", "WindowsToArray", "reference_to_channel_mean", "make_tangent_space",
           "make_riemannian_pipeline", "pyriemann_available", "DEFAULT_BANDS", "FIVE_BANDS"]

#: Theta, alpha and beta bands in Hz.
DEFAULT_BANDS = ((4.0, 8.0), (8.0, 13.0), (13.0, 30.0))
#: Delta to low gamma in Hz: the three classic bands plus 1-4 and 30-45 Hz (the bands of
#: ``Readout(pooling="bands")``); see :doc:`/results` for how it compares.
FIVE_BANDS = tuple(POOLING_BANDS.values())
_EPS_UV2 = 1e-12  # µV², keeps log finite on flat channels


def _to_microvolts(estimator, source):
    """The factor to µV decided at fit (the same for every window of a call)."""
    fitted = getattr(estimator, "to_microvolts_", None)  # fitted before it was kept: the input's own
    return resolve_units(estimator.units, source) if fitted is None else transform_units(estimator.units, source,
                                                                                         fitted)


def _check_batch_size(batch_size):
    check_positive_int("batch_size", batch_size)


class _WindowFeatures(TransformerMixin, BaseEstimator):
    """Per-window features computed batch by batch from any window source."""

    def _fit_source(self, X):
        _check_batch_size(self.batch_size)
        source = as_window_source(X, sfreq=self.sfreq)
        _, self.to_microvolts_ = fit_units(self.units, [source])  # "auto" decided here, once
        self.n_channels_ = source.n_channels
        self.n_features_in_ = source.n_channels
        self.ch_names_ = list(source.ch_names)
        self.sfreq_ = source.sfreq
        return source

    def _transform_source(self, X):
        check_is_fitted(self, "n_channels_")
        source = as_window_source(X, sfreq=self.sfreq)
        if source.n_channels != self.n_channels_:
            raise ValueError(f"X has {source.n_channels} channels, but {type(self).__name__} was fitted "
                             f"on {self.n_channels_}.")
        return source

    def _batches(self, source):
        """Windows in µV, float64, ``batch_size`` at a time: ``(start, stop, data)``."""
        factor = _to_microvolts(self, source)
        for start in range(0, source.n_windows, self.batch_size):
            stop = min(start + self.batch_size, source.n_windows)
            yield start, stop, source.read(np.arange(start, stop)).astype(np.float64) * factor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class LogPower(_WindowFeatures):
    """Log variance of each channel of each window (broadband log power).

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input (see :mod:`skseqclr.inputs`); features are
        ``log(variance in µV²)``.
    sfreq : float or None
        Sampling frequency of numpy input in Hz (unused by the feature; kept
        for a uniform interface).
    batch_size : int, default=256
        Windows read at once (bounds memory on lazy datasets).
    reference : bool, default=False
        Subtract from each channel's log power its mean over the window's
        channels: each channel's power relative to the window's geometric mean
        power. A subject's or amplifier's overall gain cancels, the
        topography stays, and only the window itself is used
        (:ref:`benchmark-feature-reference`).

    Attributes
    ----------
    n_channels_ : int
        Channels of the training windows.
    ch_names_ : list of str
        Their names.
    n_features_in_ : int
        Same as ``n_channels_``.

    Examples
    --------
    >>> from skseqclr.datasets import make_synthetic_eeg
    >>> X, y = make_synthetic_eeg(n_windows=4, n_channels=3, random_state=0)
    >>> LogPower().fit_transform(X).shape
    (4, 3)
    >>> bool(abs(LogPower(reference=True).fit_transform(X).sum(axis=1)).max() < 1e-9)
    True
    """

    def __init__(self, units="auto", sfreq=None, batch_size=256, reference=False):
        self.units = units
        self.sfreq = sfreq
        self.batch_size = batch_size
        self.reference = reference

    def fit(self, X, y=None):
        """Record the input's channels.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times), braindecode dataset, mne.Epochs or SliceDataset
        y : ignored

        Returns
        -------
        self
        """
        check_flag("reference", self.reference)
        self._fit_source(X)
        return self

    def transform(self, X):
        """Log variance per channel.

        Returns
        -------
        np.ndarray of shape (n_windows, n_channels), float64
            ``log`` of the variance over time in µV² (minus its mean over
            the channels with ``reference=True``).
        """
        source = self._transform_source(X)
        out = np.empty((source.n_windows, source.n_channels))
        for start, stop, data in self._batches(source):
            out[start:stop] = np.log(data.var(axis=-1) + _EPS_UV2)
        return reference_to_channel_mean(out, source.n_channels) if self.reference else out

    def get_feature_names_out(self, input_features=None):
        """Feature names ``<channel>_logvar`` (``<channel>_logvar_ref`` with ``reference=True``)."""
        check_is_fitted(self, "n_channels_")
        suffix = "_logvar_ref" if self.reference else "_logvar"
        return np.asarray([f"{ch}{suffix}" for ch in self.ch_names_], dtype=object)


class LogVarianceBandPower(_WindowFeatures):
    """Log variance of each channel band-passed in each frequency band.

    Each window is filtered forward and backward (zero phase) with a
    Butterworth band-pass per band (``scipy.signal.sosfiltfilt``, all windows
    and channels of a batch at once), then the log of the variance over time
    is taken: log band power.

    Parameters
    ----------
    bands : sequence of (float, float), default=((4, 8), (8, 13), (13, 30))
        Band edges in Hz (theta, alpha, beta); each upper edge must be below
        the Nyquist frequency.
    filter_order : int, default=4
        Order of each Butterworth band-pass (applied twice by the
        forward-backward filter).
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input; features are ``log(variance in µV²)``.
    sfreq : float or None
        Sampling frequency in Hz of numpy input (MNE and braindecode input
        carry it).
    batch_size : int, default=256
        Windows filtered at once.
    reference : bool, default=False
        In each band, subtract from each channel's log band power its mean
        over the window's channels (as :class:`LogPower`'s ``reference``): the
        window's overall gain cancels, the topography of each band stays.

    Attributes
    ----------
    sos_ : np.ndarray of shape (n_bands, n_sections, 6)
        Second-order sections of each band's filter.
    sfreq_ : float
        Sampling frequency the filters were designed for, Hz.
    n_channels_, n_features_in_ : int
        Channels of the training windows.
    ch_names_ : list of str

    Examples
    --------
    >>> from skseqclr.datasets import make_synthetic_eeg
    >>> X, y = make_synthetic_eeg(n_windows=4, n_channels=3, random_state=0)
    >>> LogVarianceBandPower(sfreq=128).fit_transform(X).shape
    (4, 9)
    """

    def __init__(self, bands=DEFAULT_BANDS, filter_order=4, units="auto", sfreq=None, batch_size=256,
                 reference=False):
        self.bands = bands
        self.filter_order = filter_order
        self.units = units
        self.sfreq = sfreq
        self.batch_size = batch_size
        self.reference = reference

    def _check_bands(self, sfreq):
        try:
            bands = np.asarray(self.bands, dtype=float)
        except (TypeError, ValueError):
            bands = None
        if bands is None or bands.ndim != 2 or bands.shape[1] != 2 or len(bands) == 0:
            raise ValueError(f"bands must be a sequence of (low, high) pairs in Hz, got {self.bands!r}.")
        nyquist = sfreq / 2
        for low, high in bands:
            if not 0 < low < high < nyquist:
                raise ValueError(f"Band ({low:g}, {high:g}) Hz must satisfy 0 < low < high < Nyquist "
                                 f"({nyquist:g} Hz at sfreq={sfreq:g} Hz).")
        return bands

    def fit(self, X, y=None):
        """Design the band-pass filters for the input's sampling frequency.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times), braindecode dataset, mne.Epochs or SliceDataset
        y : ignored

        Returns
        -------
        self
        """
        from scipy.signal import butter

        check_flag("reference", self.reference)
        source = self._fit_source(X)
        if source.sfreq is None:
            raise ValueError("LogVarianceBandPower needs the sampling frequency: pass sfreq=<Hz> for numpy input.")
        check_positive_int("filter_order", self.filter_order)
        bands = self._check_bands(source.sfreq)
        self.sos_ = np.stack([butter(self.filter_order, band, btype="bandpass", fs=source.sfreq, output="sos")
                              for band in bands])
        self._check_length(source.n_times)
        return self

    def _check_length(self, n_times):
        # sosfiltfilt pads each end by this many samples and needs more than that.
        padlen = 3 * (2 * self.sos_.shape[1] + 1 - min((self.sos_[0][:, 2] == 0).sum(),
                                                        (self.sos_[0][:, 5] == 0).sum()))
        if n_times <= padlen:
            raise ValueError(f"Windows of {n_times} samples are too short for the order-{self.filter_order} "
                             f"band-pass filters (need more than {padlen}); use longer windows or a lower "
                             "filter_order.")

    def transform(self, X):
        """Log band power of each channel in each band.

        Returns
        -------
        np.ndarray of shape (n_windows, n_channels * n_bands), float64
            ``log`` of the band-passed variance in µV², bands varying fastest
            within each channel.
        """
        from scipy.signal import sosfiltfilt

        source = self._transform_source(X)
        if source.sfreq is not None and not np.isclose(source.sfreq, self.sfreq_):
            raise ValueError(f"X is sampled at {source.sfreq} Hz but the filters were designed for "
                             f"{self.sfreq_} Hz; refit or resample X.")
        self._check_length(source.n_times)
        n_bands = len(self.sos_)
        out = np.empty((source.n_windows, source.n_channels, n_bands))
        for start, stop, data in self._batches(source):
            for b, sos in enumerate(self.sos_):
                out[start:stop, :, b] = np.log(sosfiltfilt(sos, data, axis=-1).var(axis=-1) + _EPS_UV2)
        out = out.reshape(source.n_windows, -1)
        return reference_to_channel_mean(out, source.n_channels) if self.reference else out

    def get_feature_names_out(self, input_features=None):
        """Feature names ``<channel>_<low>-<high>Hz``."""
        check_is_fitted(self, "sos_")
        bands = np.asarray(self.bands, dtype=float)
        return np.asarray([f"{ch}_{low:g}-{high:g}Hz" for ch in self.ch_names_ for low, high in bands],
                          dtype=object)


class WindowsToArray(TransformerMixin, BaseEstimator):
    """Read any window input into one float64 array in µV (for pyriemann and other numpy estimators).

    Parameters
    ----------
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input.

    Attributes
    ----------
    n_features_in_ : int
        Channels of the training windows.
    """

    def __init__(self, units="auto"):
        self.units = units

    def fit(self, X, y=None):
        source = as_window_source(X)
        _, self.to_microvolts_ = fit_units(self.units, [source])  # "auto" decided here, once
        self.n_features_in_ = source.n_channels
        return self

    def transform(self, X):
        """Windows as ``(n_windows, n_channels, n_times)`` float64 in µV."""
        check_is_fitted(self, "n_features_in_")
        source = as_window_source(X)
        return source.read(np.arange(source.n_windows)).astype(np.float64) * _to_microvolts(self, source)


def pyriemann_available() -> bool:
    """True if pyriemann can be imported."""
    try:
        import pyriemann  # noqa: F401
    except ImportError:
        return False
    return True


def _require_pyriemann(what):
    if not pyriemann_available():
        raise ImportError(f"{what} needs pyriemann, which is not installed: "
                          "pip install \"skseqclr[riemann]\" (or pip install pyriemann).")


def make_tangent_space(estimator="oas", metric="riemann", units="auto"):
    """Riemannian tangent-space features: covariance matrices mapped to a vector space.

    Parameters
    ----------
    estimator : str, default="oas"
        Covariance estimator of ``pyriemann.estimation.Covariances``;
        Oracle Approximating Shrinkage keeps short windows' covariances well
        conditioned.
    metric : str, default="riemann"
        Metric of ``pyriemann.tangentspace.TangentSpace`` (its reference
        point is the mean covariance of the training windows).
    units : {"auto", "V", "mV", "uV"} or float, default="auto"
        Units of the input; covariances are computed in µV².

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``WindowsToArray -> Covariances -> TangentSpace``; ``transform`` gives
        ``n_channels * (n_channels + 1) / 2`` features per window.

    Raises
    ------
    ImportError
        If pyriemann is not installed.
    """
    _require_pyriemann("make_tangent_space")
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.pipeline import make_pipeline

    return make_pipeline(WindowsToArray(units=units), Covariances(estimator=estimator), TangentSpace(metric=metric))


def make_riemannian_pipeline(estimator="oas", metric="riemann", C=1.0, class_weight=None, units="auto"):
    """Covariances + tangent space + logistic regression, the classic Riemannian BCI classifier.

    Parameters
    ----------
    estimator, metric, units
        See :func:`make_tangent_space`.
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression.
    class_weight : dict, "balanced" or None
        Class weights of the logistic regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
        A classifier accepting the same inputs as the SeqCLR estimators.

    Raises
    ------
    ImportError
        If pyriemann is not installed.

    Examples
    --------
    >>> from skseqclr.datasets import make_synthetic_eeg
    >>> X, y = make_synthetic_eeg(n_windows=40, n_channels=4, random_state=0)
    >>> make_riemannian_pipeline().fit(X, y).predict(X[:2]).shape  # doctest: +SKIP
    (2,)
    """
    _require_pyriemann("make_riemannian_pipeline")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    features = make_tangent_space(estimator=estimator, metric=metric, units=units)
    return Pipeline([*features.steps, ("logisticregression",
                                       LogisticRegression(C=C, class_weight=class_weight, max_iter=1000))])
