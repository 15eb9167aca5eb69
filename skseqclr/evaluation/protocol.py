"""Label-efficiency evaluation: linear probes on frozen features at several label fractions.

The measurement that tells whether self-supervised pretraining helps (paper
§3, "linear evaluation"): fit each feature extractor on the *unlabelled*
training windows, keep it frozen, then train the same linear probe
(:class:`~skseqclr.evaluation.probe.LinearProbe`: standardisation + logistic
regression) on features of a stratified fraction of the labelled training
windows, and score balanced accuracy on a held-out test set (split by
subject). Shared by ``skseqclr benchmark`` and the scripts in
``benchmarks/``; :mod:`skseqclr.evaluation.reporting` turns the rows into
summaries, tables and figures.

Protocol
--------
- For each seed and each fraction, one labelled subset is drawn
  (:func:`~skseqclr.evaluation.probe.subsample_labels`) and used by
  **every** method, so rows with the same ``(fraction, seed)`` differ only
  by their features.
- An extractor that is already fitted is used as it is. An unfitted one is
  fitted without labels on the pretraining windows (``X_pretrain``, by
  default all training windows): once per seed, with ``random_state=seed``,
  if it has a ``random_state`` parameter, its own or one of a nested
  estimator (e.g. :class:`~skseqclr.SeqCLRTransformer`, or a
  :class:`~sklearn.pipeline.FeatureUnion` or
  :class:`~sklearn.pipeline.Pipeline` holding one: every such parameter is
  set), so that seeds measure the spread of pretraining; otherwise once for
  all seeds (deterministic baselines).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._validation import check_optional_groups, check_positive_int, is_non_negative_int
from .normalization import standardize_per_group
from .probe import make_linear_probe, probe_cv_score, subsample_labels

__all__ = ["split_by_group", "evaluate_label_efficiency", "DEFAULT_FRACTIONS", "NORMALIZATIONS"]

#: Label fractions of the paper-style label-efficiency table.
DEFAULT_FRACTIONS = (1.0, 0.1, 0.01)


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


def _random_state_params(estimator) -> list:
    """The names of ``estimator``'s random-state parameters: its own ``random_state``, nested ``...__random_state``."""
    return [key for key in estimator.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")]


def _as_list(value) -> list:
    """A sequence as a list, anything else (one number, None, a string) as a list of itself, checked by the caller."""
    return list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]


def check_fractions(fractions):
    """Label fractions as a list of floats in (0, 1], or a ``ValueError``."""
    fractions = _as_list(fractions)
    if not fractions:
        raise ValueError("fractions is empty.")
    for f in fractions:
        if not isinstance(f, numbers.Real) or isinstance(f, bool) or not 0 < f <= 1:
            raise ValueError(f"A label fraction must be in (0, 1], got {f!r}.")
    return [float(f) for f in fractions]


def check_seeds(seeds):
    """Seeds as a non-empty list of non-negative ints, or a ``ValueError``."""
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
                              verbose=False, n_jobs=1, X_pretrain=None, groups_pretrain=None,
                              fit_params=None) -> list[dict]:
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
        Cloned for every row; default :func:`~skseqclr.evaluation.probe.make_linear_probe` (a
        :class:`~skseqclr.evaluation.probe.LinearProbe` choosing C by cross-validation on the labelled
        training windows). A probe whose ``fit`` takes ``groups`` gets the
        labelled windows' ``groups_train`` (grouped folds).
    groups_train, groups_test : array-like of shape (n_windows,) or None
        Group (subject) of each window. Needed by ``normalizations="group"``;
        ``groups_train`` also makes the probe's search of C grouped, and is
        passed to the ``fit`` of extractors that take ``groups`` (without
        labels).
    normalizations : sequence of {"none", "group"}, default=("none",)
        Feature normalisations to score, each on the same features:
        ``"none"`` as ``transform`` gives them, ``"group"`` standardised per
        group (:func:`skseqclr.evaluation.normalization.standardize_per_group`: each
        training subject with all its training windows, each test subject with
        all its test windows, labels unused).
    label_draws : int, default=1
        Labelled subsets drawn per seed for each fraction below 1; the row's
        ``balanced_accuracy`` is their mean. With few labels the subset
        decides much of the score (:ref:`benchmark-draws`), so several
        draws per seed make the
        mean over seeds measure the features rather than the subsets. The
        first draw of a seed is the single draw's subset, so results with
        ``label_draws=1`` are unchanged.
    snapshots : bool, default=False
        Also score the snapshots of extractors fitted with ``snapshot_steps``
        (given in ``fit_params``; :meth:`skseqclr.SeqCLRTransformer.at_step`): rows named
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
    X_pretrain : windows or None
        Unlabelled windows the unfitted extractors are fitted on (e.g. the
        continuous recordings of the training runs, rest periods included);
        any input the extractors accept. None (default) fits them on
        ``X_train``. Already fitted extractors are used as they are.
    groups_pretrain : array-like of shape (n_pretrain_windows,) or None
        Group of each window of ``X_pretrain``, passed to the ``fit`` of
        extractors that take ``groups``. Only with ``X_pretrain``; without it
        those extractors get ``groups_train``.
    fit_params : dict of str to dict, or None
        Keyword arguments of the ``fit`` of the extractors named, e.g.
        ``{"SeqCLR": {"snapshot_steps": range(100, 401, 100)}}``.

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
        ``probe_cv_score_draws`` (each draw's :func:`~skseqclr.evaluation.probe.probe_cv_score`: what the
        labelled training windows alone say of the features) for probes that
        choose their C.
    """
    if not isinstance(extractors, Mapping) or not extractors:
        raise ValueError("extractors must be a non-empty mapping of names to transformers.")
    fractions, seeds = check_fractions(fractions), check_seeds(seeds)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train has a single class; the probe needs at least two.")
    probe = make_linear_probe() if probe is None else probe
    normalizations = check_normalizations(normalizations, groups_train, groups_test)
    groups_train = check_optional_groups(groups_train, len(y_train), "groups_train")
    groups_test = check_optional_groups(groups_test, len(y_test), "groups_test")
    probe_takes_groups = bool(_groups_for(probe, groups_train))
    label_draws = check_positive_int("label_draws", label_draws)
    n_jobs = check_positive_int("n_jobs", n_jobs)
    fit_params = dict(fit_params or {})
    unknown = sorted(set(fit_params) - set(extractors))
    if unknown:
        raise ValueError(f"fit_params names {unknown}, which are not extractors; extractors: {list(extractors)}.")
    if X_pretrain is None:
        if groups_pretrain is not None:
            raise ValueError("groups_pretrain needs X_pretrain (the windows they are the groups of); without "
                             "X_pretrain the extractors are fitted on X_train with groups_train.")
        X_pretrain, groups_pretrain = X_train, groups_train
    elif groups_pretrain is not None:
        from ..inputs import n_samples

        groups_pretrain = check_optional_groups(groups_pretrain, n_samples(X_pretrain), "groups_pretrain")
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
                elif random_states := _random_state_params(template):
                    extractor = clone(template).set_params(**dict.fromkeys(random_states, seed))
                    start = time.perf_counter()
                    extractor.fit(X_pretrain, **_groups_for(extractor, groups_pretrain), **fit_params.get(name, {}))
                    fit_time = time.perf_counter() - start
                else:
                    if name not in shared:
                        extractor = clone(template)
                        start = time.perf_counter()
                        extractor.fit(X_pretrain, **_groups_for(extractor, groups_pretrain),
                                      **fit_params.get(name, {}))
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


def check_normalizations(normalizations, groups_train, groups_test):
    """``normalizations`` as a tuple of :data:`NORMALIZATIONS`; ``"group"`` needs both groups, or a ``ValueError``."""
    normalizations = (normalizations,) if isinstance(normalizations, str) else tuple(normalizations)
    if not normalizations or any(n not in NORMALIZATIONS for n in normalizations):
        raise ValueError(f"normalizations must be a non-empty sequence of {NORMALIZATIONS}, got {normalizations!r}.")
    if "group" in normalizations and (groups_train is None or groups_test is None):
        raise ValueError('normalizations="group" needs groups_train and groups_test (e.g. the subject of each window).')
    return normalizations
