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

import math
import numbers
import time
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = ["subsample_labels", "make_linear_probe", "split_by_group", "evaluate_label_efficiency",
           "summarize", "format_table", "DEFAULT_FRACTIONS"]

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


def make_linear_probe(C=1.0, class_weight="balanced", max_iter=1000):
    """The linear probe: ``StandardScaler`` then ``LogisticRegression``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse L2 regularisation strength.
    class_weight : dict, "balanced" or None, default="balanced"
        Balanced class weights by default, since the score is balanced
        accuracy and EEG tasks are often imbalanced (EEGMAT: rest is three
        times longer than arithmetic).
    max_iter : int, default=1000
        Iterations of the lbfgs solver.

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter))


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


def _check_fractions(fractions):
    fractions = [fractions] if isinstance(fractions, numbers.Real) else list(fractions)
    if not fractions:
        raise ValueError("fractions is empty.")
    for f in fractions:
        if not isinstance(f, numbers.Real) or not 0 < f <= 1:
            raise ValueError(f"A label fraction must be in (0, 1], got {f!r}.")
    return [float(f) for f in fractions]


def _check_seeds(seeds):
    seeds = [seeds] if isinstance(seeds, numbers.Integral) else list(seeds)
    if not seeds or not all(isinstance(s, numbers.Integral) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}.")
    return [int(s) for s in seeds]


def _features(extractor, X, name):
    features = np.asarray(extractor.transform(X))
    features = features.reshape(features.shape[0], -1)
    if not np.isfinite(features).all():
        raise ValueError(f"The features of {name!r} contain NaN or infinite values.")
    return features


def evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, *, fractions=DEFAULT_FRACTIONS,
                              seeds=(0,), probe=None, verbose=False) -> list[dict]:
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
        Cloned for every row; default :func:`make_linear_probe`.
    verbose : bool, default=False
        Show a progress bar over extractors and seeds.

    Returns
    -------
    list of dict
        One row per method, seed and fraction: ``method``, ``fraction``,
        ``seed``, ``n_labels`` (labelled windows used), ``balanced_accuracy``,
        ``fit_time_s`` (fitting the extractor, e.g. pretraining; 0 when it
        came fitted, and the same shared fit for every seed of a
        deterministic extractor), ``transform_time_s`` (features of train and
        test windows), ``probe_time_s`` (fitting and applying the probe),
        ``n_features``, and ``n_steps`` for extractors that report
        optimisation steps.
    """
    if not isinstance(extractors, Mapping) or not extractors:
        raise ValueError("extractors must be a non-empty mapping of names to transformers.")
    fractions, seeds = _check_fractions(fractions), _check_seeds(seeds)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train has a single class; the probe needs at least two.")
    probe = make_linear_probe() if probe is None else probe
    subsets = {(f, s): subsample_labels(y_train, f, random_state=s) for s in seeds for f in fractions}

    from tqdm.auto import tqdm

    rows = []
    jobs = [(name, seed) for name in extractors for seed in seeds]
    shared = {}
    for name, seed in tqdm(jobs, disable=not verbose, desc="Evaluating", unit="fit"):
        template = extractors[name]
        if _is_fitted(template):
            extractor, fit_time = template, 0.0
        elif _takes_random_state(template):
            extractor = clone(template).set_params(random_state=seed)
            start = time.perf_counter()
            extractor.fit(X_train)
            fit_time = time.perf_counter() - start
        else:
            if name not in shared:
                extractor = clone(template)
                start = time.perf_counter()
                extractor.fit(X_train)
                shared[name] = (extractor, time.perf_counter() - start)
            extractor, fit_time = shared[name]
        start = time.perf_counter()
        train_features = _features(extractor, X_train, name)
        test_features = _features(extractor, X_test, name)
        transform_time = time.perf_counter() - start
        for fraction in fractions:
            subset = subsets[(fraction, seed)]
            start = time.perf_counter()
            model = clone(probe).fit(train_features[subset], y_train[subset])
            score = balanced_accuracy_score(y_test, model.predict(test_features))
            row = {
                "method": name, "fraction": fraction, "seed": seed, "n_labels": int(len(subset)),
                "balanced_accuracy": float(score), "fit_time_s": float(fit_time),
                "transform_time_s": float(transform_time), "probe_time_s": time.perf_counter() - start,
                "n_features": int(train_features.shape[1]),
            }
            if hasattr(extractor, "n_steps_"):
                row["n_steps"] = int(extractor.n_steps_)
            rows.append(row)
    return rows


def summarize(rows: Sequence[Mapping]) -> list[dict]:
    """Mean and standard deviation over seeds of each method and fraction.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`evaluate_label_efficiency`.

    Returns
    -------
    list of dict
        Per method and fraction (in first-seen order): ``method``,
        ``fraction``, ``n_seeds``, ``n_labels`` (mean), ``mean``, ``std``
        (population standard deviation of balanced accuracy over seeds, 0 for
        one seed), and ``time_s``: the method's mean wall time per seed
        (extractor fit + transform + all its probes).
    """
    if not rows:
        raise ValueError("No rows to summarize.")
    per_seed_time = {}
    for row in rows:
        key = (row["method"], row["seed"])
        if key not in per_seed_time:
            per_seed_time[key] = row["fit_time_s"] + row["transform_time_s"]
        per_seed_time[key] += row["probe_time_s"]
    groups: dict = {}
    for row in rows:
        groups.setdefault((row["method"], row["fraction"]), []).append(row)
    summary = []
    for (method, fraction), members in groups.items():
        scores = np.array([r["balanced_accuracy"] for r in members])
        times = [t for (m, _), t in per_seed_time.items() if m == method]
        summary.append({
            "method": method, "fraction": fraction, "n_seeds": len(members),
            "n_labels": float(np.mean([r["n_labels"] for r in members])),
            "mean": float(scores.mean()), "std": float(scores.std()), "time_s": float(np.mean(times)),
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
        column headers give the fraction and the number of labelled windows;
        the last column is the method's wall time per seed in seconds.
    """
    summary = summarize(rows) if rows and "balanced_accuracy" in rows[0] else list(rows)
    methods = list(dict.fromkeys(s["method"] for s in summary))
    fractions = list(dict.fromkeys(s["fraction"] for s in summary))
    cell = {(s["method"], s["fraction"]): s for s in summary}
    n_labels = {f: next(s["n_labels"] for s in summary if s["fraction"] == f) for f in fractions}
    header = ["method"] + [f"{_fraction_label(f)} (n={n_labels[f]:.0f})" for f in fractions] + ["time (s)"]
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
