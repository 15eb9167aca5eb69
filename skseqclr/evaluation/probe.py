"""Label-efficiency evaluation: linear probes on frozen features at several label fractions.

The measurement that tells whether self-supervised pretraining helps (paper
§3, "linear evaluation"): fit each feature extractor on the *unlabelled*
training windows, keep it frozen, then train the same linear probe
(standardisation + logistic regression) on features of a stratified fraction
of the labelled training windows, and score balanced accuracy on a held-out
test set (split by subject). Shared by ``skseqclr benchmark`` and the scripts
in ``benchmarks/``.

Protocol
--------
- For each seed and each fraction, one labelled subset is drawn
  (:func:`subsample_labels`) and used by **every** method, so rows with the
  same ``(fraction, seed)`` differ only by their features.
- An extractor that is already fitted is used as it is. An unfitted one is
  fitted on all training windows without labels: once per seed, with
  ``random_state=seed``, if it has a ``random_state`` parameter (e.g.
  :class:`~skseqclr.SeqCLRTransformer`, so that seeds measure the spread of
  pretraining), otherwise once for all seeds (deterministic baselines).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import queue
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .._validation import check_groups_shape, check_positive_int, is_int_at_least, is_non_negative_int
from .normalization import standardize_per_group

__all__ = ["subsample_labels", "LinearProbe", "DEFAULT_CS", "PROBE_SELECTIONS", "probe_cv_score", "make_linear_probe",
           "split_by_group", "evaluate_label_efficiency", "summarize", "format_table", "DEFAULT_FRACTIONS",
           "mean_probe_cv_score", "strongest_by_probe_cv", "plot_label_efficiency"]

#: Label fractions of the paper-style label-efficiency table.
DEFAULT_FRACTIONS = (1.0, 0.1, 0.01)


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
    labelled windows are few and come from few subjects: on EEGMAT, C=1 on
    228 SeqCLR features overfits the training subjects (issue #8's
    measurements, docs' Benchmark page). ``C="auto"`` chooses C from ``Cs`` by
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
        accuracy and EEG tasks are often imbalanced (EEGMAT: rest is three
        times longer than arithmetic).
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
    :func:`evaluate_label_efficiency` with ``n_jobs``).
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
        groups = _check_groups(groups, len(y), "groups")
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


def split_by_group(groups, test_groups=None, test_size=1 / 3):
    """Boolean train/test masks that keep each group (subject) on one side.

    Parameters
    ----------
    groups : array-like of shape (n_windows,)
        Group (e.g. subject) of each window.
    test_groups : sequence or None
        Groups that form the test set. If None, the last
        ``ceil(test_size * n_groups)`` groups in sorted order do (at least
        one, and at least one group is left for training).
    test_size : float, default=1/3
        Fraction of groups held out when ``test_groups`` is None.

    Returns
    -------
    train, test : np.ndarray of bool
    """
    groups = np.asarray(groups)
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ValueError(f"Need at least 2 groups (subjects) to split by group, got {len(unique)}.")
    if test_groups is None:
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {test_size!r}.")
        n_test = min(len(unique) - 1, max(1, math.ceil(test_size * len(unique))))
        test_groups = unique[len(unique) - n_test:]
    test = np.isin(groups, np.asarray(test_groups))
    if test.all() or not test.any():
        raise ValueError(f"test_groups={list(test_groups)} leaves an empty train or test set.")
    return ~test, test


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator sklearn can inspect
        return False
    return True


def _takes_random_state(estimator) -> bool:
    return "random_state" in estimator.get_params(deep=False)


def _as_list(value) -> list:
    """A sequence as a list, anything else (one number, None, a string) as a list of itself, checked by the caller."""
    return list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]


def _check_fractions(fractions):
    fractions = _as_list(fractions)
    if not fractions:
        raise ValueError("fractions is empty.")
    for f in fractions:
        if not isinstance(f, numbers.Real) or isinstance(f, bool) or not 0 < f <= 1:
            raise ValueError(f"A label fraction must be in (0, 1], got {f!r}.")
    return [float(f) for f in fractions]


def _check_seeds(seeds):
    seeds = _as_list(seeds)
    if not seeds or not all(is_non_negative_int(s) for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}.")
    return [int(s) for s in seeds]


def _features(extractor, X, name):
    features = np.asarray(extractor.transform(X))
    features = features.reshape(features.shape[0], -1)
    if not np.isfinite(features).all():
        raise ValueError(f"The features of {name!r} contain NaN or infinite values.")
    return features


def _groups_for(estimator, groups):
    """``{"groups": groups}`` if ``estimator.fit`` takes groups and there are some, else ``{}``."""
    if groups is None or "groups" not in inspect.signature(estimator.fit).parameters:
        return {}
    return {"groups": groups}


def evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, *, fractions=DEFAULT_FRACTIONS,
                              seeds=(0,), probe=None, groups_train=None, groups_test=None,
                              normalizations=("none",), label_draws=1, snapshots=False,
                              verbose=False, n_jobs=1) -> list[dict]:
    """Score frozen features with a linear probe trained on fractions of the labels.

    Parameters
    ----------
    extractors : mapping of str to transformer
        Named feature extractors (e.g. ``{"SeqCLR": SeqCLRTransformer(...),
        "log-variance bands": LogVarianceBandPower()}``). See the module's
        Protocol section for how each is fitted.
    X_train, X_test : windows
        Any input the extractors accept (arrays, braindecode datasets, ...).
    y_train, y_test : array-like of shape (n_windows,)
        Labels.
    fractions : float or sequence of float, default=(1.0, 0.1, 0.01)
        Fractions of the training labels the probe sees.
    seeds : int or sequence of int, default=(0,)
        Seeds of the label subsets and of extractors with a ``random_state``.
    probe : classifier or None
        Cloned for every row; default :func:`make_linear_probe` (a
        :class:`LinearProbe` choosing C by cross-validation on the labelled
        training windows). A probe whose ``fit`` takes ``groups`` gets the
        labelled windows' ``groups_train`` (grouped folds).
    groups_train, groups_test : array-like of shape (n_windows,) or None
        Group (subject) of each window. Needed by ``normalizations="group"``;
        ``groups_train`` also makes the probe's search of C grouped, and is
        passed to the ``fit`` of extractors that take ``groups`` (e.g.
        ``SeqCLRTransformer(group_batches=True)``; without labels).
    normalizations : sequence of {"none", "group"}, default=("none",)
        Feature normalisations to score, each on the same features:
        ``"none"`` as ``transform`` gives them, ``"group"`` standardised per
        group (:func:`skseqclr.evaluation.normalization.standardize_per_group`: each
        training subject with all its training windows, each test subject with
        all its test windows, labels unused).
    label_draws : int, default=1
        Labelled subsets drawn per seed for each fraction below 1; the row's
        ``balanced_accuracy`` is their mean. With few labels the subset
        decides much of the score (on EEGMAT, 144 labels: ±0.03-0.04 between
        subsets of the same features), so several draws per seed make the
        mean over seeds measure the features rather than the subsets. The
        first draw of a seed is the single draw's subset, so results with
        ``label_draws=1`` are unchanged.
    snapshots : bool, default=False
        Also score the snapshots of extractors fitted with ``snapshot_steps``
        (:meth:`skseqclr.SeqCLRTransformer.at_step`): rows named
        ``"{name} @{step}"``, on the same labelled subsets, so one pretraining
        run measures several lengths. :func:`skseqclr.evaluation.model_selection.length_by_cv_rows`
        turns them into the rows of a length chosen without the test windows.
    verbose : bool, default=False
        Show a progress bar over extractors and seeds.
    n_jobs : int, default=1
        Threads that compute features and fit probes. Extractors are always
        fitted one after another, in the order of ``extractors`` (so seeded
        fits stay reproducible); with ``n_jobs > 1`` the features of the
        training and of the test windows are computed in parallel tasks as
        soon as an extractor is fitted, while the next one fits, and
        numpy/scipy's BLAS is limited to one thread meanwhile. Put
        extractors that fit quickly first, so that their features are
        computed while slower ones train. Extractors must allow concurrent
        calls to ``transform`` (skseqclr's do on the CPU; a
        :class:`~skseqclr.SeqCLRTransformer` on a GPU does not: use 1).
        Results do not depend on ``n_jobs``; the rows' times are each task's
        wall time, longer when tasks share the CPU.

    Returns
    -------
    list of dict
        One row per method, normalisation, seed and fraction: ``method``,
        ``normalization``, ``fraction``, ``seed``, ``n_labels`` (labelled windows used), ``balanced_accuracy``,
        ``fit_time_s`` (fitting the extractor, e.g. pretraining; 0 when it
        came fitted, and the same shared fit for every seed of a
        deterministic extractor), ``transform_time_s`` (features of train and
        test windows), ``probe_time_s`` (fitting and applying the probe),
        ``n_features``, ``n_label_draws``, ``balanced_accuracy_draws`` (one
        score per draw), and ``n_steps`` for extractors that report
        optimisation steps, ``probe_C`` (of the first draw) and
        ``probe_cv_score_draws`` (each draw's :func:`probe_cv_score`: what the
        labelled training windows alone say of the features) for probes that
        choose their C.
    """
    if not isinstance(extractors, Mapping) or not extractors:
        raise ValueError("extractors must be a non-empty mapping of names to transformers.")
    fractions, seeds = _check_fractions(fractions), _check_seeds(seeds)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train has a single class; the probe needs at least two.")
    probe = make_linear_probe() if probe is None else probe
    normalizations = _check_normalizations(normalizations, groups_train, groups_test)
    groups_train = _check_groups(groups_train, len(y_train), "groups_train")
    groups_test = _check_groups(groups_test, len(y_test), "groups_test")
    probe_takes_groups = bool(_groups_for(probe, groups_train))
    label_draws = check_positive_int("label_draws", label_draws)
    n_jobs = check_positive_int("n_jobs", n_jobs)
    subsets = {(f, s): _label_subsets(y_train, f, s, label_draws) for s in seeds for f in fractions}

    def probe_rows(extractor, name, seed, fit_time, train_features, test_features, transform_time):
        """One fitted extractor's rows: its features probed at every normalisation, fraction and labelled subset."""
        rows = []
        for normalization in normalizations:
            if normalization == "group":
                F_train = standardize_per_group(train_features, groups_train)
                F_test = standardize_per_group(test_features, groups_test)
            else:
                F_train, F_test = train_features, test_features
            for fraction in fractions:
                draws = subsets[(fraction, seed)]
                start = time.perf_counter()
                scores, models = [], []
                for subset in draws:
                    fit_params = {"groups": groups_train[subset]} if probe_takes_groups else {}
                    models.append(clone(probe).fit(F_train[subset], y_train[subset], **fit_params))
                    scores.append(float(balanced_accuracy_score(y_test, models[-1].predict(F_test))))
                row = {
                    "method": name, "normalization": normalization, "fraction": fraction, "seed": seed,
                    "n_labels": int(len(draws[0])), "balanced_accuracy": float(np.mean(scores)),
                    "fit_time_s": float(fit_time), "transform_time_s": float(transform_time),
                    "probe_time_s": time.perf_counter() - start, "n_features": int(train_features.shape[1]),
                    "n_label_draws": len(scores), "balanced_accuracy_draws": scores,
                }
                if hasattr(models[0], "C_"):
                    row["probe_C"] = float(models[0].C_)
                    row["probe_cv_score_draws"] = [probe_cv_score(model) for model in models]
                if hasattr(extractor, "n_steps_"):
                    row["n_steps"] = int(extractor.n_steps_)
                rows.append(row)
        return rows

    def features_then_probes(extractor, name, seed, fit_time):
        """Tasks for the training and the test windows' features; the one that finishes last runs the probes."""
        lock, done = threading.Lock(), {}

        def part(which, X):
            start = time.perf_counter()
            features = _features(extractor, X, name)
            with lock:
                done[which] = (features, time.perf_counter() - start)
                if len(done) < 2:
                    return None
            rows = probe_rows(extractor, name, seed, fit_time, done["train"][0], done["test"][0],
                              done["train"][1] + done["test"][1])
            bar.update(1)
            return rows

        return [tasks.submit(part, "train", X_train), tasks.submit(part, "test", X_test)]

    from tqdm.auto import tqdm

    jobs = [(name, seed) for name in extractors for seed in seeds]
    shared, pending = {}, []
    bar = tqdm(total=len(jobs), disable=not verbose, desc="Evaluating", unit="fit")
    tasks = _Tasks(n_jobs - 1)
    # one BLAS thread per probe: parallel jobs, not threads within a small logistic regression
    limit = threadpool_limits(limits=1, user_api="blas") if n_jobs > 1 else contextlib.nullcontext()
    try:
        with limit:
            for name, seed in jobs:  # fits one after another, in this thread (seeded, reproducible)
                template = extractors[name]
                if _is_fitted(template):
                    extractor, fit_time = template, 0.0
                elif _takes_random_state(template):
                    extractor = clone(template).set_params(random_state=seed)
                    start = time.perf_counter()
                    extractor.fit(X_train, **_groups_for(extractor, groups_train))
                    fit_time = time.perf_counter() - start
                else:
                    if name not in shared:
                        extractor = clone(template)
                        start = time.perf_counter()
                        extractor.fit(X_train, **_groups_for(extractor, groups_train))
                        shared[name] = (extractor, time.perf_counter() - start)
                    extractor, fit_time = shared[name]
                versions = {name: extractor, **(snapshot_versions(name, extractor) if snapshots else {})}
                for version_name, version in versions.items():
                    pending.append(features_then_probes(version, version_name, seed, fit_time))
                if n_jobs == 1:
                    tasks.run_pending()
            tasks.run_pending()  # this thread helps the workers once every extractor is fitted
            rows = []
            for futures in pending:
                rows += next(part_rows for part_rows in (f.result() for f in futures) if part_rows is not None)
    finally:
        tasks.close()
        bar.close()
    return rows


class _Tasks:
    """Functions run in submission order by ``n_workers`` threads, and by the caller in :meth:`run_pending`.

    First in, first out: a task that starts after another has seen it start.
    Worker threads are daemons, so an interrupted caller does not wait for
    them at exit.
    """

    def __init__(self, n_workers):
        self._queue = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(n_workers)]
        for worker in self._workers:
            worker.start()

    def submit(self, function, *args) -> Future:
        future = Future()
        self._queue.put((future, function, args))
        return future

    @staticmethod
    def _run(task):
        future, function, args = task
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise  # Ctrl-C in the caller's thread stops the evaluation

    def _work(self):
        while (task := self._queue.get()) is not None:
            self._run(task)

    def run_pending(self):
        """Run queued tasks in the calling thread until the queue is empty."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            self._run(task)

    def close(self):
        """Cancel the tasks not started and let the workers end."""
        while True:
            try:
                self._queue.get_nowait()[0].cancel()
            except queue.Empty:
                break
        for _ in self._workers:
            self._queue.put(None)


def snapshot_versions(name, extractor) -> dict:
    """``{"{name} @{step}": extractor as it was after step steps}`` for each snapshot but the final one (none if it
    keeps no snapshots: :meth:`skseqclr.SeqCLRTransformer.at_step`)."""
    final_step = getattr(extractor, "n_steps_", None)
    return {f"{name} @{step}": extractor.at_step(step)
            for step in sorted(getattr(extractor, "snapshots_", {})) if step != final_step}


NORMALIZATIONS = ("none", "group")


def _label_subsets(y, fraction, seed, label_draws):
    """The labelled subsets of one seed: draw 0 seeded with ``seed`` itself, the others with (seed, draw)."""
    if fraction == 1.0:  # every draw would be all the labels
        return [subsample_labels(y, fraction, random_state=seed)]
    states = [seed] + [int(np.random.SeedSequence([seed, draw]).generate_state(1)[0])
                       for draw in range(1, label_draws)]
    return [subsample_labels(y, fraction, random_state=state) for state in states]


def _check_normalizations(normalizations, groups_train, groups_test):
    normalizations = (normalizations,) if isinstance(normalizations, str) else tuple(normalizations)
    if not normalizations or any(n not in NORMALIZATIONS for n in normalizations):
        raise ValueError(f"normalizations must be a non-empty sequence of {NORMALIZATIONS}, got {normalizations!r}.")
    if "group" in normalizations and (groups_train is None or groups_test is None):
        raise ValueError('normalizations="group" needs groups_train and groups_test (e.g. the subject of each window).')
    return normalizations


def _check_groups(groups, n_windows, name):
    return None if groups is None else check_groups_shape(groups, n_windows, name)


def _method_label(row: Mapping) -> str:
    """The method's name in tables: with `` (per-group z-score)`` for group-normalised rows."""
    if row.get("normalization", "none") == "group":
        return f"{row['method']} (per-group z-score)"
    return row["method"]


def summarize(rows: Sequence[Mapping]) -> list[dict]:
    """Mean and standard deviation over seeds of each method and fraction.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`evaluate_label_efficiency`.

    Returns
    -------
    list of dict
        Per method (and normalisation) and fraction, in first-seen order:
        ``method`` (suffixed `` (per-group z-score)`` for rows normalised per
        group), ``fraction``, ``n_seeds``, ``n_labels`` (mean), ``mean``, ``std``
        (population standard deviation of balanced accuracy over seeds, 0 for
        one seed; of each seed's mean over label draws), ``time_s``: the
        method's mean wall time per seed (extractor fit + transform + all its
        probes), and ``n_label_draws`` (labelled subsets per seed).
    """
    if not rows:
        raise ValueError("No rows to summarize.")
    per_seed_time = {}
    for row in rows:
        key = (_method_label(row), row["seed"])
        if key not in per_seed_time:
            per_seed_time[key] = row["fit_time_s"] + row["transform_time_s"]
        per_seed_time[key] += row["probe_time_s"]
    groups: dict = {}
    for row in rows:
        groups.setdefault((_method_label(row), row["fraction"]), []).append(row)
    summary = []
    for (method, fraction), members in groups.items():
        scores = np.array([r["balanced_accuracy"] for r in members])
        times = [t for (m, _), t in per_seed_time.items() if m == method]
        summary.append({
            "method": method, "fraction": fraction, "n_seeds": len(members),
            "n_labels": float(np.mean([r["n_labels"] for r in members])),
            "mean": float(scores.mean()), "std": float(scores.std()), "time_s": float(np.mean(times)),
            "n_label_draws": int(max(r.get("n_label_draws", 1) for r in members)),
        })
    return summary


def _fraction_label(fraction):
    percent = 100 * fraction
    return f"{percent:g}%" if percent >= 1 else f"{percent:.2g}%"


def format_table(rows: Sequence[Mapping]) -> str:
    """A compact text table: one line per method, balanced accuracy per label fraction.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`evaluate_label_efficiency` (or the output of
        :func:`summarize`).

    Returns
    -------
    str
        Cells read ``mean ± std`` over seeds (``mean`` alone for one seed);
        column headers give the fraction, the number of labelled windows and,
        if more than one, the labelled subsets drawn per seed; the last column
        is the method's wall time per seed in seconds.
    """
    summary = summarize(rows) if rows and "balanced_accuracy" in rows[0] else list(rows)
    methods = list(dict.fromkeys(s["method"] for s in summary))
    fractions = list(dict.fromkeys(s["fraction"] for s in summary))
    cell = {(s["method"], s["fraction"]): s for s in summary}
    n_labels = {f: next(s["n_labels"] for s in summary if s["fraction"] == f) for f in fractions}
    draws = {f: max(s.get("n_label_draws", 1) for s in summary if s["fraction"] == f) for f in fractions}
    header = ["method"] + [f"{_fraction_label(f)} (n={n_labels[f]:.0f}{f', {draws[f]} draws' if draws[f] > 1 else ''})"
                           for f in fractions] + ["time (s)"]
    lines = []
    for method in methods:
        cells = [method]
        for f in fractions:
            s = cell.get((method, f))
            if s is None:
                cells.append("-")
            elif s["n_seeds"] > 1:
                cells.append(f"{s['mean']:.3f} ± {s['std']:.3f}")
            else:
                cells.append(f"{s['mean']:.3f}")
        time_s = next(s["time_s"] for s in summary if s["method"] == method)
        cells.append(f"{time_s:.1f}")
        lines.append(cells)
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def render(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(header), rule, *map(render, lines)])


def mean_probe_cv_score(rows: Sequence[Mapping], method: str) -> float | None:
    """A method's mean cross-validated probe score, from the labelled training windows alone.

    The mean of :func:`probe_cv_score` over every probe fitted on the
    method's features (each normalisation, fraction, seed and labelled
    subset of :func:`evaluate_label_efficiency`'s rows): how well the
    training subjects alone say its features separate the classes, with no
    test window involved.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`evaluate_label_efficiency`.
    method : str
        The ``method`` of the rows to average.

    Returns
    -------
    float or None
        None when none of its probes searched C (a fixed ``C``, or too few
        labels for folds).
    """
    scores = [score for row in rows if row["method"] == method
              for score in row.get("probe_cv_score_draws", ()) if score is not None]
    return float(np.mean(scores)) if scores else None


def strongest_by_probe_cv(rows: Sequence[Mapping], methods: Sequence[str]) -> str | None:
    """Of ``methods``, the one whose probes cross-validate best on the training windows.

    Ranks feature extractors without looking at the test split, by
    :func:`mean_probe_cv_score`. Every method's probes see the same labelled
    subsets and the same grouped folds, so their scores are comparable; ties
    go to the method listed first.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`evaluate_label_efficiency`.
    methods : sequence of str
        Candidate ``method`` names, in order of preference for ties.

    Returns
    -------
    str or None
        None when no candidate has a cross-validated score.
    """
    scored = [(score, -i, method) for i, method in enumerate(methods)
              if (score := mean_probe_cv_score(rows, method)) is not None]
    return max(scored)[2] if scored else None


#: Panel titles of :func:`plot_label_efficiency`, per normalisation.
_PANEL_TITLES = {"none": "inductive: features as extracted", "group": "per-group z-score"}


def plot_label_efficiency(rows: Sequence[Mapping], methods: Sequence[str] | None = None):
    """Balanced accuracy against label fraction, one line per method, one panel per normalisation.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`evaluate_label_efficiency`.
    methods : sequence of str or None
        The ``method`` names to draw, in this order; None draws every method
        of ``rows``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per normalisation in ``rows`` (``"none"``: features as
        extracted; ``"group"``: standardised per group), sharing the y axis.
        In each, one line per method: the mean balanced accuracy over seeds
        at each label fraction (log-scaled x axis, in % of the training
        labels), with a band of ± one standard deviation when there are
        several seeds. Drawn on matplotlib's Agg canvas, without pyplot:
        save it with ``figure.savefig(path)``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("No rows to plot.")
    methods = list(dict.fromkeys(row["method"] for row in rows)) if methods is None else list(methods)
    missing = [m for m in methods if not any(row["method"] == m for row in rows)]
    if missing:
        raise ValueError(f"methods {missing} have no rows; rows have {sorted({r['method'] for r in rows})}.")
    normalizations = list(dict.fromkeys(row.get("normalization", "none") for row in rows))
    figure = Figure(figsize=(4.5 * len(normalizations) + 3.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(normalizations), sharey=True, squeeze=False)[0]
    fractions = sorted({row["fraction"] for row in rows})
    colours = {method: f"C{i % 10}" for i, method in enumerate(methods)}
    for ax, normalization in zip(axes, normalizations):
        for method in methods:
            scores = {}
            for row in rows:
                if row["method"] == method and row.get("normalization", "none") == normalization:
                    scores.setdefault(row["fraction"], []).append(row["balanced_accuracy"])
            if not scores:
                continue
            x = sorted(scores)
            mean = np.array([np.mean(scores[f]) for f in x])
            std = np.array([np.std(scores[f]) for f in x])
            ax.plot(100 * np.asarray(x), mean, marker="o", color=colours[method], label=method)
            if max(len(v) for v in scores.values()) > 1:
                ax.fill_between(100 * np.asarray(x), mean - std, mean + std, color=colours[method], alpha=0.2,
                                linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks([100 * f for f in fractions], [_fraction_label(f) for f in fractions])
        ax.minorticks_off()
        ax.set_xlabel("labelled training windows (% of all)")
        ax.set_title(_PANEL_TITLES.get(normalization, normalization))
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("balanced accuracy on the test split")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
    return figure
