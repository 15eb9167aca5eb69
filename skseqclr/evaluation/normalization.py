"""Per-group (per-subject) normalisation of EEG windows and of features.

EEG features shift from one person to the next (skull, electrode impedance,
amplifier gain, resting rhythm); across subjects that shift is often larger
than the effect a classifier looks for. Standardising each subject's features
with that subject's own mean and standard deviation removes it: the classic
"subject-wise normalisation" of cross-subject EEG decoding, the feature-space
cousin of Riemannian re-centring and Euclidean alignment.

Two places to do it:

* :class:`GroupChannelScaler` acts on the **windows**, before any feature
  extractor: each subject's channels are centred and rescaled to a common
  amplitude (each channel divided by that subject's typical standard deviation
  of it). An encoder pretrained on such windows never has to spend capacity on
  who was recorded, and every feature computed from them (SeqCLR's, log-power,
  band power) starts from comparable amplitudes.
* :class:`GroupStandardScaler` acts on the **features**, after the extractor:
  each subject's features are z-scored.

It is **transductive for new subjects**: a test subject's statistics come from
that subject's own (unlabelled) windows, so ``transform`` needs several windows
of each subject at once, and what they contain matters: when every subject
was recorded in every condition, each subject's mean lies between its
conditions. Report results with and without it, as ``skseqclr benchmark``
does (:doc:`/results`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._validation import check_groups_shape, check_positive_int
from ..scaling import estimate_input_scale

__all__ = ["GroupChannelScaler", "GroupStandardScaler", "scale_channels_per_group", "standardize_per_group"]

_GROUPS_HELP = ("In a Pipeline, enable metadata routing and request it: "
                "sklearn.set_config(enable_metadata_routing=True); "
                "GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True); "
                "then pipe.fit(X, y, groups=groups) and pipe.predict(X_new, groups=new_groups).")


def _check_groups(groups, n_rows, min_group_size, owner="GroupStandardScaler", routing_help=True):
    if groups is None:
        help_text = _GROUPS_HELP.replace("GroupStandardScaler", owner) if routing_help else ""
        raise ValueError(f"{owner} needs groups (e.g. the subject of each window). " + help_text)
    groups = check_groups_shape(groups, n_rows, row="row of X")
    names, counts = np.unique(groups, return_counts=True)
    small = names[counts < min_group_size]
    if len(small):
        raise ValueError(f"Group(s) {small.tolist()[:10]} have fewer than min_group_size={min_group_size} rows: "
                         "their mean and standard deviation cannot be estimated. Pass more windows per group "
                         "(all of a subject's windows at once), or lower min_group_size.")
    return groups


def _check_scaler_params(flag_name, flag, min_group_size):
    if not isinstance(flag, (bool, np.bool_)):
        raise ValueError(f"{flag_name} must be a bool, got {flag!r}.")
    check_positive_int("min_group_size", min_group_size)


def standardize_per_group(X, groups, *, with_std=True, min_group_size=2) -> np.ndarray:
    """Standardise the rows of each group with that group's own mean and standard deviation.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Features, e.g. :meth:`skseqclr.SeqCLRTransformer.transform` output.
    groups : array-like of shape (n_rows,)
        Group of each row (e.g. subject or recording).
    with_std : bool, default=True
        Divide by each group's standard deviation (features constant within a
        group are only centred). With False, only centre.
    min_group_size : int, default=2
        Fewer rows than this in a group raises a ValueError.

    Returns
    -------
    np.ndarray of shape (n_rows, n_features), float64
    """
    X = check_array(X, dtype=np.float64)
    groups = _check_groups(groups, len(X), min_group_size)
    _, inverse = np.unique(groups, return_inverse=True)
    n_groups = inverse.max() + 1
    counts = np.bincount(inverse, minlength=n_groups)[:, None]
    mean = np.zeros((n_groups, X.shape[1]))
    np.add.at(mean, inverse, X)
    mean /= counts
    out = X - mean[inverse]
    if with_std:
        var = np.zeros_like(mean)
        np.add.at(var, inverse, out ** 2)
        std = np.sqrt(var / counts)
        std[std < 1e-12] = 1.0
        out /= std[inverse]
    return out


class GroupStandardScaler(TransformerMixin, BaseEstimator):
    """Standardise features per group (subject), with each group's own statistics.

    ``fit`` only checks the input; ``transform`` standardises the rows of each
    group of the call with the mean and standard deviation of *those rows*:
    training subjects with their training windows, a new subject with its new
    windows. Put it after :class:`~skseqclr.SeqCLRTransformer` (or any feature
    extractor) and before the classifier.

    Parameters
    ----------
    with_std : bool, default=True
        Also divide by each group's standard deviation; with False, only
        centre each group.
    min_group_size : int, default=2
        A group with fewer rows raises a ValueError in ``transform``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.

    Notes
    -----
    ``groups`` must reach ``fit`` and ``transform``. Called directly, pass it;
    in a :class:`~sklearn.pipeline.Pipeline`, use scikit-learn's metadata
    routing (see the example). Scikit-learn's scorers call ``predict``
    without metadata, so ``cross_val_score`` cannot pass the test fold's
    groups to ``transform``; :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency`
    (``groups_train``, ``groups_test``) or an explicit loop can.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.pipeline import make_pipeline
    >>> from skseqclr.evaluation.probe import LinearProbe
    >>> from skseqclr.evaluation.normalization import GroupStandardScaler
    >>> rng = np.random.default_rng(0)
    >>> groups = np.repeat(np.arange(6), 20)
    >>> y = np.tile([0, 1], 60)
    >>> X = rng.normal(size=(120, 3)) + 5 * groups[:, None] + y[:, None]
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe = make_pipeline(
    ...         GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True),
    ...         LinearProbe(C=1.0).set_fit_request(groups=False))
    ...     _ = pipe.fit(X[:80], y[:80], groups=groups[:80])
    ...     accuracy = (pipe.predict(X[80:], groups=groups[80:]) == y[80:]).mean()
    >>> bool(accuracy > 0.6)
    True
    """

    def __init__(self, with_std=True, min_group_size=2):
        self.with_std = with_std
        self.min_group_size = min_group_size

    def fit(self, X, y=None, groups=None):
        """Check ``X`` and ``groups``; nothing is learned from them.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        y : ignored
        groups : array-like of shape (n_rows,)
            Group of each row.

        Returns
        -------
        self
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        _check_groups(groups, len(X), self.min_group_size)
        return self

    def transform(self, X, groups=None):
        """Standardise each group's rows with their own mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
        groups : array-like of shape (n_rows,)
            Group of each row; every group needs ``min_group_size`` rows.

        Returns
        -------
        np.ndarray of shape (n_rows, n_features)
        """
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return standardize_per_group(X, groups, with_std=self.with_std, min_group_size=self.min_group_size)

    def fit_transform(self, X, y=None, groups=None):
        """``fit`` then ``transform`` on the same rows and groups."""
        return self.fit(X, y, groups=groups).transform(X, groups=groups)

    def _check_params(self):
        _check_scaler_params("with_std", self.with_std, self.min_group_size)

    def get_feature_names_out(self, input_features=None):
        """Feature names: the input's (``x0``, ``x1``, ... when it had none)."""
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)


def _group_channel_statistics(windows, inverse, n_groups):
    """Mean and median window standard deviation of every channel of every group.

    The median over windows (rather than the pooled standard deviation) keeps
    a few artefact windows from setting a subject's scale.
    """
    window_std = windows.std(axis=-1, dtype=np.float64)
    window_mean = windows.mean(axis=-1, dtype=np.float64)
    n_channels = windows.shape[1]
    center = np.empty((n_groups, n_channels))
    scale = np.empty((n_groups, n_channels))
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(n_groups + 1))
    for group in range(n_groups):
        rows = order[bounds[group]:bounds[group + 1]]
        center[group] = window_mean[rows].mean(axis=0)
        scale[group] = np.median(window_std[rows], axis=0)
    return center, scale


def _as_windows(X):
    """Any window set skseqclr accepts, read into one float32 array (its own units)."""
    from skseqclr.inputs import as_window_source

    source = as_window_source(X)
    return source.read(np.arange(source.n_windows))


def scale_channels_per_group(X, groups, *, reference_scale=None, with_mean=True, min_group_size=2):
    """Centre and rescale each group's channels to a common amplitude.

    For every group (subject) and channel, the windows of that group are
    centred by the channel's mean and multiplied by
    ``reference_scale / s``, where ``s`` is the median over the group's windows
    of the channel's standard deviation. Afterwards every channel of every
    subject has a typical standard deviation of ``reference_scale``, in the
    input's units, while differences *within* a subject (rest against task,
    one window's artefact) are kept.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        EEG windows, in any unit (the output keeps it). Also an MNE Epochs or
        braindecode windows dataset, read as a whole.
    groups : array-like of shape (n_windows,)
        Group of each window, e.g. its subject. Not its recording when the
        classes were recorded separately (one file per condition): per-recording statistics would remove the difference
        between the classes.
    reference_scale : float or None, default=None
        Target standard deviation (the input's units). None: the median
        standard deviation of the channels of the windows of ``X``
        (:func:`skseqclr.scaling.estimate_input_scale`).
    with_mean : bool, default=True
        Subtract each group's channel means.
    min_group_size : int, default=2
        Fewer windows than this in a group raises a ValueError.

    Returns
    -------
    np.ndarray of shape (n_windows, n_channels, n_times), float32
    """
    return _scale_windows(_as_windows(X), groups, reference_scale, with_mean, min_group_size,
                          owner="scale_channels_per_group", routing_help=False)


def _scale_windows(windows, groups, reference_scale, with_mean, min_group_size, owner, routing_help=True):
    """:func:`scale_channels_per_group` on windows already read into an array."""
    groups = _check_groups(groups, len(windows), min_group_size, owner=owner, routing_help=routing_help)
    _, inverse = np.unique(groups, return_inverse=True)
    n_groups = inverse.max() + 1
    center, scale = _group_channel_statistics(windows, inverse, n_groups)
    if reference_scale is None:
        reference_scale = estimate_input_scale(windows)
    flat = scale <= 1e-12 * max(reference_scale, 1e-30)
    factor = np.where(flat, 1.0, reference_scale / np.where(flat, 1.0, scale))
    if not with_mean:
        center = np.zeros_like(center)
    out = windows - center[inverse][:, :, None].astype(np.float32)
    out *= factor[inverse][:, :, None].astype(np.float32)
    return out


class GroupChannelScaler(TransformerMixin, BaseEstimator):
    """Rescale each subject's EEG channels to a common amplitude, before feature extraction.

    ``fit`` learns one number, ``reference_scale_``: the median standard
    deviation of the training windows' channels (the constant of
    :class:`~skseqclr.SeqCLRTransformer`'s global scaling).
    ``transform`` centres every channel of every group *of the call* with that
    group's own channel means and scales it so that its median window standard
    deviation becomes ``reference_scale_`` (:func:`scale_channels_per_group`).
    The output stays in the input's units and amplitudes, so the paper's
    augmentation ranges (in µV) keep their meaning for a
    :class:`~skseqclr.SeqCLRTransformer` fitted after it.

    Like :class:`GroupStandardScaler` this is **transductive for new
    subjects**: a new subject's statistics come from its own (unlabelled)
    windows, so ``transform`` needs several windows of each subject at once.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each group's channel means.
    min_group_size : int, default=2
        A group with fewer windows raises a ValueError.

    Attributes
    ----------
    reference_scale_ : float
        Common standard deviation of the output channels, in the input's units.
    n_channels_in_ : int
        Number of channels seen in ``fit``.

    See Also
    --------
    GroupStandardScaler : the same idea on features instead of windows.

    Notes
    -----
    ``groups`` must reach ``fit`` and ``transform``: pass it when calling them
    directly; in a :class:`~sklearn.pipeline.Pipeline` use scikit-learn's
    metadata routing (``set_fit_request(groups=True)``,
    ``set_transform_request(groups=True)``; see :doc:`/user_guide/cross_subject`).

    Examples
    --------
    >>> import numpy as np
    >>> from skseqclr.evaluation.normalization import GroupChannelScaler
    >>> rng = np.random.default_rng(0)
    >>> groups = np.repeat([0, 1], 10)
    >>> gain = np.where(groups == 0, 1.0, 5.0)[:, None, None]   # a second amplifier, 5x the gain
    >>> X = gain * rng.normal(size=(20, 3, 256))
    >>> Z = GroupChannelScaler().fit_transform(X, groups=groups)
    >>> ratio = Z[groups == 1].std() / Z[groups == 0].std()
    >>> bool(0.9 < ratio < 1.1)
    True
    """

    def __init__(self, with_mean=True, min_group_size=2):
        self.with_mean = with_mean
        self.min_group_size = min_group_size

    def fit(self, X, y=None, groups=None):
        """Learn the common amplitude from the training subjects.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Training windows (or an MNE Epochs / braindecode windows dataset).
        y : ignored
        groups : array-like of shape (n_windows,)
            Subject (group) of each window.

        Returns
        -------
        self
        """
        return self._fit_windows(_as_windows(X), groups)

    def _fit_windows(self, windows, groups):
        self._check_params()
        _check_groups(groups, len(windows), self.min_group_size, owner=type(self).__name__)
        self.reference_scale_ = estimate_input_scale(windows)
        self.n_channels_in_ = windows.shape[1]
        return self

    def transform(self, X, groups=None):
        """Centre and rescale each group's channels with that group's own statistics.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        groups : array-like of shape (n_windows,)
            Subject (group) of each window; every group needs
            ``min_group_size`` windows.

        Returns
        -------
        np.ndarray of shape (n_windows, n_channels, n_times), float32
        """
        check_is_fitted(self, "reference_scale_")
        return self._transform_windows(_as_windows(X), groups)

    def _transform_windows(self, windows, groups):
        if windows.shape[1] != self.n_channels_in_:
            raise ValueError(f"X has {windows.shape[1]} channels, but GroupChannelScaler was fitted on "
                             f"{self.n_channels_in_}.")
        return _scale_windows(windows, groups, self.reference_scale_, self.with_mean, self.min_group_size,
                              owner=type(self).__name__)

    def fit_transform(self, X, y=None, groups=None):
        """``fit`` then ``transform`` on the same windows and groups (read once)."""
        windows = _as_windows(X)
        return self._fit_windows(windows, groups)._transform_windows(windows, groups)

    def _check_params(self):
        _check_scaler_params("with_mean", self.with_mean, self.min_group_size)
