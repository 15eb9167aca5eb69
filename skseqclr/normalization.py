"""Per-group (per-subject) standardisation of features.

EEG features shift from one person to the next (skull, electrode impedance,
amplifier gain, resting rhythm); across subjects that shift is often larger
than the effect a classifier looks for. Standardising each subject's features
with that subject's own mean and standard deviation removes it: the classic
"subject-wise normalisation" of cross-subject EEG decoding, the feature-space
cousin of Riemannian re-centring and Euclidean alignment.

It is **transductive for new subjects**: a test subject's statistics come from
that subject's own (unlabelled) windows, so ``transform`` needs several windows
of each subject at once, and what they contain matters: on EEGMAT (rest and
arithmetic recordings of every subject) each subject's mean lies between its
two conditions. Report results with and without it (the benchmark does, see
the docs' Benchmark page).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

__all__ = ["GroupStandardScaler", "standardize_per_group"]

_GROUPS_HELP = ("In a Pipeline, enable metadata routing and request it: "
                "sklearn.set_config(enable_metadata_routing=True); "
                "GroupStandardScaler().set_fit_request(groups=True).set_transform_request(groups=True); "
                "then pipe.fit(X, y, groups=groups) and pipe.predict(X_new, groups=new_groups).")


def _check_groups(groups, n_rows, min_group_size):
    if groups is None:
        raise ValueError("GroupStandardScaler needs groups (e.g. the subject of each window). " + _GROUPS_HELP)
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_rows:
        raise ValueError(f"groups must be 1-D with one entry per row of X ({n_rows}), got shape {groups.shape}.")
    names, counts = np.unique(groups, return_counts=True)
    small = names[counts < min_group_size]
    if len(small):
        raise ValueError(f"Group(s) {small.tolist()[:10]} have fewer than min_group_size={min_group_size} rows: "
                         "their mean and standard deviation cannot be estimated. Pass more windows per group "
                         "(all of a subject's windows at once), or lower min_group_size.")
    return groups


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
    groups to ``transform``; :func:`skseqclr.evaluation.evaluate_label_efficiency`
    (``groups_train``, ``groups_test``) or an explicit loop can.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.pipeline import make_pipeline
    >>> from skseqclr.evaluation import LinearProbe
    >>> from skseqclr.normalization import GroupStandardScaler
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
        if not isinstance(self.with_std, (bool, np.bool_)):
            raise ValueError(f"with_std must be a bool, got {self.with_std!r}.")
        if isinstance(self.min_group_size, bool) or not isinstance(self.min_group_size, (int, np.integer)) \
                or self.min_group_size < 1:
            raise ValueError(f"min_group_size must be a positive integer, got {self.min_group_size!r}.")

    def get_feature_names_out(self, input_features=None):
        """Feature names: the input's (``x0``, ``x1``, ... when it had none)."""
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)
