"""Linear probes on frozen features: standardisation then L2 logistic regression, C chosen by grouped CV.

The measurement that tells whether self-supervised pretraining helps (paper
§3, "linear evaluation") trains a linear classifier on frozen features; this
module holds that classifier (:class:`LinearProbe`, :func:`make_linear_probe`),
its cross-validated score (:func:`probe_cv_score`) and the stratified label
subsets it is trained on (:func:`subsample_labels`). The protocol that runs
it over extractors, label fractions and seeds is in
:mod:`skseqclr.evaluation.protocol`.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .._validation import check_optional_groups, is_int_at_least

__all__ = ["subsample_labels", "LinearProbe", "DEFAULT_CS", "PROBE_SELECTIONS", "probe_cv_score", "make_linear_probe"]


def subsample_labels(y, fraction, random_state=None) -> np.ndarray:
    """Indices of a stratified, seeded subset of labelled windows.

    Each class keeps ``round(fraction * n_class)`` of its windows, and at
    least one, so the probe always sees every class.

    Parameters
    ----------
    y : array-like of shape (n_windows,)
        Labels of the training windows.
    fraction : float
        Fraction of windows to keep, in (0, 1].
    random_state : int, RandomState or None
        Seed of the draw.

    Returns
    -------
    np.ndarray of int64
        Sorted indices into ``y``.
    """
    y = np.asarray(y)
    if not isinstance(fraction, numbers.Real) or not 0 < fraction <= 1:
        raise ValueError(f"A label fraction must be in (0, 1], got {fraction!r}.")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}.")
    rng = check_random_state(random_state)
    chosen = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        k = min(len(members), max(1, int(round(fraction * len(members)))))
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


#: Regularisation strengths ``LinearProbe(C="auto")`` chooses from.
DEFAULT_CS = tuple(float(c) for c in np.logspace(-4, 2, 13))
#: How :class:`LinearProbe` picks C from its search: the best mean score, or the one-standard-error rule.
PROBE_SELECTIONS = ("best", "one_se")


class LinearProbe(ClassifierMixin, BaseEstimator):
    """The linear probe: standardisation then L2 logistic regression, C chosen by grouped CV.

    The paper's "linear evaluation" (§3) trains a linear classifier on frozen
    features. How strongly it is regularised decides much of the score when
    labelled windows are few and come from few subjects: a fixed, weakly
    regularised probe overfits the training subjects
    (:ref:`benchmark-probe`). ``C="auto"`` chooses C from ``Cs`` by
    cross-validated balanced accuracy on the *training* windows only, with
    folds that keep each subject (``groups``) on one side, the way the probe
    will be used on new subjects.

    Parameters
    ----------
    C : float or "auto", default="auto"
        Inverse L2 regularisation strength, or ``"auto"`` to choose it.
    Cs : sequence of float, default=DEFAULT_CS
        Candidates for ``C="auto"`` (1e-4 to 100, 13 log-spaced values).
    n_splits : int, default=5
        Folds of the search (fewer when the rarest class or the number of
        groups is smaller). Folds are stratified by class, and grouped when
        ``groups`` with at least two groups is passed to ``fit``
        (``StratifiedGroupKFold``).
    class_weight : dict, "balanced" or None, default="balanced"
        Balanced class weights by default, since the score is balanced
        accuracy and EEG tasks are often imbalanced (e.g. far more rest
        than task windows).
    max_iter : int, default=1000
        Iterations of the lbfgs solver.
    selection : {"best", "one_se"}, default="best"
        Which candidate ``C="auto"`` takes: ``"best"`` the best mean score
        (ties: the smallest C); ``"one_se"`` the smallest C whose mean score
        is within one standard error (over the folds) of the best, the
        one-standard-error rule (Hastie, Tibshirani & Friedman, *The Elements
        of Statistical Learning*, §7.10). With a few labels from a few
        subjects the folds' scores are noisy and the best mean often belongs
        to a weakly regularised C by chance; the rule prefers the simpler
        model that scores as well within that noise.

    Attributes
    ----------
    C_ : float
        The regularisation strength used by the final model.
    cv_scores_ : dict of float to float or None
        Mean balanced accuracy of each candidate in the search (None when
        ``C`` was given, or when too few labels of a class made folds
        impossible: then ``C_`` is 1.0).
    cv_standard_errors_ : dict of float to float or None
        Standard error of each candidate's mean (standard deviation over the
        folds divided by the square root of their number); None when
        ``cv_scores_`` is.
    scaler_ : sklearn.preprocessing.StandardScaler
    classifier_ : sklearn.linear_model.LogisticRegression
    classes_ : np.ndarray
    n_iter_ : np.ndarray
        Solver iterations of the final model.
    n_features_in_ : int

    Notes
    -----
    Without ``groups``, windows of one subject fall in both the training and
    the validation folds of the search, which favours weak regularisation;
    pass the subject of each window for cross-subject tasks.

    The search fits each fold's candidates from the smallest C to the
    largest, each from the previous one's solution (a warm start, as along a
    regularisation path): the L2-regularised loss has one minimum, which the
    solver reaches in fewer iterations.

    ``fit`` runs numpy/scipy's BLAS on one thread (``threadpoolctl``): the
    products of a probe are small, and BLAS threads spend more time
    synchronising than computing, many times more on a busy machine. To
    use several cores, fit several probes at once (e.g.
    :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency` with ``n_jobs``).
    """

    def __init__(self, C="auto", Cs=DEFAULT_CS, n_splits=5, class_weight="balanced", max_iter=1000,
                 selection="best"):
        self.C = C
        self.Cs = Cs
        self.n_splits = n_splits
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.selection = selection

    def _model(self, C):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight=self.class_weight,
                                                                  max_iter=self.max_iter))

    def _check_params(self):
        if isinstance(self.C, str):
            if self.C != "auto":
                raise ValueError(f"C must be a positive number or 'auto', got {self.C!r}.")
            Cs = np.asarray(self.Cs, dtype=float).ravel()
            if Cs.size == 0 or not np.all(np.isfinite(Cs) & (Cs > 0)):
                raise ValueError(f"Cs must be a non-empty sequence of positive numbers, got {self.Cs!r}.")
        elif isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(f"C must be a positive number or 'auto', got {self.C!r}.")
        if not is_int_at_least(self.n_splits, 2):
            raise ValueError(f"n_splits must be an integer >= 2, got {self.n_splits!r}.")
        if self.selection not in PROBE_SELECTIONS:
            raise ValueError(f"selection={self.selection!r} is not one of {PROBE_SELECTIONS}.")

    def _search(self, X, y, groups):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
        from sklearn.preprocessing import StandardScaler

        n_classes = len(self.classes_)
        n_splits = min(self.n_splits, int(np.bincount(np.unique(y, return_inverse=True)[1]).min()))
        n_groups = 0 if groups is None else len(np.unique(groups))
        if n_groups >= 2:
            n_splits = min(n_splits, n_groups)
        if n_splits < 2:
            return 1.0, None, None
        if n_groups < 2:  # no groups, or one that cannot be split: plain stratified folds
            splits = StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y)
        else:
            splits = StratifiedGroupKFold(n_splits, shuffle=True, random_state=0).split(X, y, groups)
        # balanced accuracy needs both classes in the validation fold, the model in the training fold
        splits = [(train, test) for train, test in splits
                  if len(np.unique(y[train])) == n_classes and len(np.unique(y[test])) > 1]
        if not splits:
            return 1.0, None, None
        # each fold is standardised once; its candidates are fitted from the strongest regularisation to the
        # weakest, each starting from the previous solution (a warm start, as along a regularisation path)
        Cs = [float(C) for C in np.asarray(self.Cs, dtype=float).ravel()]
        fold_scores = {C: [] for C in Cs}
        for train, test in splits:
            scaler = StandardScaler().fit(X[train])
            X_fit, X_val = scaler.transform(X[train]), scaler.transform(X[test])
            classifier = self._model(min(Cs))[-1].set_params(warm_start=True)
            for C in sorted(fold_scores):
                classifier.set_params(C=C).fit(X_fit, y[train])
                fold_scores[C].append(balanced_accuracy_score(y[test], classifier.predict(X_val)))
        scores = {C: float(np.mean(fold_scores[C])) for C in Cs}
        errors = {C: float(np.std(fold_scores[C]) / np.sqrt(len(fold_scores[C]))) for C in Cs}
        best_C = max(scores, key=lambda C: (scores[C], -C))
        # the strongest regularisation among the best (within one standard error for "one_se"):
        # ties favour the simpler model
        threshold = scores[best_C] - (errors[best_C] if self.selection == "one_se" else 1e-12)
        return min(C for C, score in scores.items() if score >= threshold), scores, errors

    def fit(self, X, y, groups=None):
        """Choose C (if ``C="auto"``), then fit the scaler and the logistic regression.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_features)
        y : array-like of shape (n_windows,)
        groups : array-like of shape (n_windows,) or None
            Subject (or recording) of each window, for grouped folds.

        Returns
        -------
        self
        """
        from sklearn.utils.multiclass import check_classification_targets

        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        groups = check_optional_groups(groups, len(y), "groups")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("y has 1 class; the probe needs at least two.")
        # one BLAS thread: a probe's products are small, and BLAS threads would spend more time
        # synchronising (or waiting for a busy core) than computing
        with threadpool_limits(limits=1, user_api="blas"):
            if self.C == "auto":
                self.C_, self.cv_scores_, self.cv_standard_errors_ = self._search(X, y, groups)
            else:
                self.C_, self.cv_scores_, self.cv_standard_errors_ = float(self.C), None, None
            model = self._model(self.C_).fit(X, y)
        self.scaler_, self.classifier_ = model[0], model[1]
        self.n_iter_ = self.classifier_.n_iter_
        return self

    def _scaled(self, X):
        check_is_fitted(self, "classifier_")
        return self.scaler_.transform(validate_data(self, X, dtype=np.float64, reset=False))

    def decision_function(self, X):
        """Signed distance to the hyperplane, shape (n_windows,) or (n_windows, n_classes)."""
        scaled = self._scaled(X)
        return self.classifier_.decision_function(scaled)

    def predict(self, X):
        """Predicted class of each window."""
        scaled = self._scaled(X)
        return self.classifier_.predict(scaled)

    def predict_proba(self, X):
        """Class probabilities, shape (n_windows, n_classes)."""
        scaled = self._scaled(X)
        return self.classifier_.predict_proba(scaled)


def probe_cv_score(probe) -> float | None:
    """The cross-validated balanced accuracy of a fitted probe's chosen C, from its training windows alone.

    The score of the best candidate in the (grouped) search of
    :class:`LinearProbe` with ``C="auto"``: an estimate, made without test
    windows, of how well these features separate the classes on subjects the
    probe has not seen. It ranks feature extractors (e.g. snapshots of one
    pretraining run, :func:`skseqclr.evaluation.model_selection.select_pretraining_length`)
    on labelled training windows; as the maximum over the candidates it is
    slightly optimistic, by the same kind of margin for every extractor.

    Parameters
    ----------
    probe : LinearProbe
        Fitted.

    Returns
    -------
    float or None
        None when the probe did not search (a fixed ``C``, or too few labels
        of a class for folds).
    """
    check_is_fitted(probe, "C_")
    scores = getattr(probe, "cv_scores_", None)
    return None if not scores else float(scores[probe.C_])


def make_linear_probe(C="auto", class_weight="balanced", max_iter=1000, **kwargs):
    """The benchmark's linear probe: a :class:`LinearProbe`.

    Parameters
    ----------
    C : float or "auto", default="auto"
        Inverse L2 regularisation strength, or ``"auto"``: chosen by
        (grouped, if ``fit`` gets ``groups``) cross-validation on the
        training windows.
    class_weight : dict, "balanced" or None, default="balanced"
        See :class:`LinearProbe`.
    max_iter : int, default=1000
        Iterations of the lbfgs solver.
    **kwargs
        Other :class:`LinearProbe` parameters (``Cs``, ``n_splits``,
        ``selection``).

    Returns
    -------
    LinearProbe
    """
    return LinearProbe(C=C, class_weight=class_weight, max_iter=max_iter, **kwargs)
