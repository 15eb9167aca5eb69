"""A multi-task label-efficiency suite: the same protocol on several EEG tasks, SeqCLR beside classic features.

One benchmark says little about whether a method is worth using: a task
whose classes differ in broadband power favours band powers, one that
differs in timing or waveform may favour learned features, and which
augmentations help depends on what the classes differ in. The suite runs
the label-efficiency protocol (:func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`:
features fitted without labels, a linear probe on 100%, 10% and 1% of the
training labels, balanced accuracy on held-out subjects or runs, inductive
and per-subject standardised) on tasks of different kinds:

``"eegmat"``
    PhysioNet's EEG During Mental Arithmetic Tasks: rest vs serial
    subtraction, 36 subjects, 19 channels, 4-s windows at 128 Hz; subjects
    0-23 train, 24-35 test (one split), grouped by subject.
``"mi_left_right"``, ``"mi_fists_feet"``
    PhysioNet's EEG Motor Movement/Imagery dataset, subject 1: imagined
    left vs right fist (runs 4, 8, 12) or both fists vs both feet (runs 6,
    10, 14), one 4-s window from each cue, 64 channels band-passed 0.5-45 Hz
    and resampled to 128 Hz. Leave one run out (three splits, grouped by
    run); the extractors are fitted on consecutive unlabelled 4-s windows of
    every other run of 3-14 (rest periods included), never on the test run.
``"synthetic_amplitude"``, ``"synthetic_bandpower"``, ``"synthetic_slow_potential"``
    :func:`~skseqclr.datasets.make_synthetic_task`: classes that differ in
    one known property, with subject-specific gains, offsets and spectra;
    12 subjects, the first 8 train, grouped by subject. They show what each
    augmentation hides.

Every split scores, on the same labelled subsets: SeqCLR pretrained with the
suite's recipe (:data:`SUITE_SEQCLR_PARAMS`), the same encoder untrained
(``n_epochs=0``, same seed), one pretraining per augmentation candidate
(:data:`~skseqclr.evaluation.augmentation_selection.AUGMENTATION_CANDIDATES`;
the ``"default"`` candidate is the pretrained row), the candidate chosen by
the probe's cross-validation on the labelled training windows
(:func:`~skseqclr.evaluation.augmentation_selection.augmentations_by_cv_rows`),
SeqCLR (pretrained or not) joined with the five-band log-variance in a
:class:`~sklearn.pipeline.FeatureUnion`, and the classic controls.
:func:`suite_table` prints one table, task by method.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from difflib import get_close_matches

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._validation import check_positive_int
from . import _suite_tasks
from ._suite_margins import suite_margins
from ._suite_tasks import SFREQ, SuiteSplit, SuiteTask, _check_task_name, load_task
from .protocol import (DEFAULT_FRACTIONS, check_fractions, check_normalizations, check_seeds,
                       evaluate_label_efficiency)

__all__ = ["SUITE_TASKS", "SUITE_SEQCLR_PARAMS", "CONTROLS", "SuiteSplit", "SuiteTask", "load_task", "run_suite",
           "suite_margins", "suite_summary", "suite_table"]

#: The suite's tasks, in the order tables show them (each described in :mod:`skseqclr.evaluation.suite`).
SUITE_TASKS = _suite_tasks.SUITE_TASKS

#: The suite's SeqCLR recipe (besides ``sfreq``, ``ch_names`` and ``random_state``, set per task and seed): the
#: main benchmark's small conv encoder and batch, pretrained for a fixed, short number of steps whatever the
#: size of the task, so that every pretraining takes about a minute on two CPU cores.
SUITE_SEQCLR_PARAMS = {"model_size": "small", "n_epochs": 100, "max_steps": 25, "batch_size": 256, "lr": 1e-3}

PRETRAINED, UNTRAINED, BY_CV = "SeqCLR pretrained", "SeqCLR untrained", "SeqCLR, augmentations by CV"
JOINED, UNTRAINED_JOINED = "SeqCLR + 5 bands", "SeqCLR untrained + 5 bands"
#: The classic controls every split scores, in the order tables show them (the features the SeqCLR rows are judged
#: against, :func:`suite_margins`).
CONTROLS = ("log-power, channel-referenced", "log-variance 5 bands", "log-variance 5 bands, channel-referenced",
            "Riemannian tangent space")
_SETTING_NAMES = {"none": "inductive", "group": "standardised per subject"}


class _Reused(TransformerMixin, BaseEstimator):
    """A fitted transformer whose features of one input object are computed once, for the rows that share it."""

    def __init__(self, transformer=None):
        self.transformer = transformer

    @classmethod
    def of(cls, transformer):
        reused = cls(transformer)
        reused.cache_, reused.lock_ = {}, threading.Lock()
        return reused

    def fit(self, X, y=None):  # pragma: no cover - only ever built fitted
        raise RuntimeError("_Reused wraps a fitted transformer; it is not fitted itself.")

    def transform(self, X):
        with self.lock_:
            entry = self.cache_.setdefault(id(X), {"X": X, "lock": threading.Lock(), "features": None})
        with entry["lock"]:  # one computation per input, even from concurrent threads
            if entry["features"] is None:
                entry["features"] = np.asarray(self.transformer.transform(X))
        return entry["features"]


def _check_candidates(candidates):
    """``{method name: SeqCLRTransformer parameters}``, the default recipe first as ``SeqCLR pretrained``."""
    from .augmentation_selection import resolve_candidates

    candidates = resolve_candidates([candidates] if isinstance(candidates, str) else candidates)
    methods = {PRETRAINED: {}}
    for name, params in candidates.items():
        if not isinstance(name, str) or not name or not isinstance(params, Mapping):
            raise TypeError(f"candidates must map names to dicts of SeqCLRTransformer parameters, got "
                            f"{name!r}: {params!r}.")
        if name == "default" and params:
            raise ValueError(f"The candidate 'default' is the recipe as it is (SUITE_SEQCLR_PARAMS and "
                             f"seqclr_params), so it sets nothing; give the candidate {dict(params)} another name.")
        if name != "default":
            methods[f"SeqCLR [{name}]"] = dict(params)
    return methods


def _check_seqclr_params(seqclr_params, candidates):
    from ..transformer import SeqCLRTransformer

    if seqclr_params is not None and not isinstance(seqclr_params, Mapping):
        raise TypeError(f"seqclr_params must be a dict of SeqCLRTransformer parameters or None, "
                        f"got {type(seqclr_params).__name__}.")
    recipe = {**SUITE_SEQCLR_PARAMS, **(seqclr_params or {})}
    known = SeqCLRTransformer().get_params()
    for key in recipe:
        if key in ("sfreq", "ch_names", "random_state"):
            raise ValueError(f"seqclr_params may not set {key!r}: the suite sets it per task and seed.")
        if key not in known:
            close = get_close_matches(str(key), list(known), n=1)
            raise ValueError(f"seqclr_params: SeqCLRTransformer has no parameter {key!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else "") + ".")
    for method, params in candidates.items():
        unknown = [key for key in params if key not in known]
        if unknown:
            raise ValueError(f"Augmentation candidate {method!r} sets unknown SeqCLRTransformer parameter(s) "
                             f"{unknown}.")
        try:  # a wrong value fails now, not after hours of the suite
            SeqCLRTransformer(**{**recipe, **params}, sfreq=SFREQ).validate()
        except (TypeError, ValueError) as error:
            where = "seqclr_params" if method == PRETRAINED else f"augmentation candidate {method!r}"
            raise type(error)(f"{where}: {error}") from error
    return recipe


def check_suite_methods(candidates=None, seqclr_params=None):
    """The SeqCLR methods :func:`run_suite` runs and the recipe they share, checked before any data is read.

    Parameters
    ----------
    candidates : None, list of str or dict
        As :func:`run_suite`'s ``candidates``.
    seqclr_params : dict or None
        As :func:`run_suite`'s ``seqclr_params``.

    Returns
    -------
    methods : dict
        ``{method name: SeqCLRTransformer parameters}``, ``"SeqCLR pretrained"`` (the recipe) first.
    recipe : dict
        :data:`SUITE_SEQCLR_PARAMS` updated with ``seqclr_params``.

    Raises
    ------
    ValueError
        For an unknown candidate or parameter, or a value the transformer refuses (a ``TypeError``
        for a wrong type), naming the candidate or ``seqclr_params``.
    """
    methods = _check_candidates(candidates)
    return methods, _check_seqclr_params(seqclr_params, methods)


def _resolve_tasks(tasks, data_dir, verbose):
    if isinstance(tasks, (str, SuiteTask)):
        tasks = [tasks]
    tasks = list(tasks)
    if not tasks:
        raise ValueError(f"tasks is empty; choose from {', '.join(SUITE_TASKS)}.")
    names = [t.name if isinstance(t, SuiteTask) else t for t in tasks]
    for task in tasks:
        if not isinstance(task, SuiteTask):
            _check_task_name(task)
    if len(set(names)) != len(names):
        raise ValueError(f"tasks names a task more than once: {names}.")
    loaded, skipped = [], {}
    for task in tasks:
        if isinstance(task, SuiteTask):
            loaded.append(task)
            continue
        try:
            loaded.append(load_task(task, data_dir=data_dir))
        except FileNotFoundError as error:
            skipped[task] = str(error)
            print(f"Skipping task {task!r}: {error}", flush=True)
        else:
            if verbose:
                print(f"Task {task!r}: {loaded[-1].description}", flush=True)
    if not loaded:
        raise FileNotFoundError("No task of the suite could be loaded: " + "; ".join(skipped.values()))
    return loaded


def _controls(sfreq):
    from .baselines import FIVE_BANDS, LogPower, LogVarianceBandPower, make_tangent_space, pyriemann_available

    controls = {CONTROLS[0]: LogPower(reference=True), CONTROLS[1]: LogVarianceBandPower(bands=FIVE_BANDS, sfreq=sfreq),
                CONTROLS[2]: LogVarianceBandPower(bands=FIVE_BANDS, sfreq=sfreq, reference=True)}
    if pyriemann_available():
        controls[CONTROLS[3]] = make_tangent_space()
    return controls


def run_suite(tasks=SUITE_TASKS, *, seeds=(0, 1, 2), fractions=DEFAULT_FRACTIONS, label_draws=5,
              normalizations=("none", "group"), candidates=None, seqclr_params=None, probe=None, data_dir=None,
              verbose=False, n_jobs=1) -> list[dict]:
    """Score every method of the suite on every task, split and seed.

    For each task, split and seed, SeqCLR is pretrained once per
    augmentation candidate on the split's unlabelled pretraining windows
    (and once untrained), the classic controls are fitted on the same
    windows once per split, and every method's frozen features are probed
    by :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency` on the
    same labelled subsets. The SeqCLR features joined with the five-band
    log-variance (a :class:`~sklearn.pipeline.FeatureUnion`) reuse the same
    fitted encoders.

    Parameters
    ----------
    tasks : sequence of str or SuiteTask, default=SUITE_TASKS
        Task names (:data:`SUITE_TASKS`) or tasks already loaded. A task
        whose recordings are not found is skipped with a printed reason.
    seeds : sequence of int, default=(0, 1, 2)
        Seeds of the pretraining and of the labelled subsets.
    fractions : sequence of float, default=(1.0, 0.1, 0.01)
        Fractions of the training labels the probe sees.
    label_draws : int, default=5
        Labelled subsets per seed for each fraction below 1.
    normalizations : sequence of {"none", "group"}, default=("none", "group")
        Features as they are (inductive) and standardised per group (subject or run).
    candidates : dict of str to dict, sequence of str, or None
        Augmentation candidates, as for
        :func:`~skseqclr.evaluation.augmentation_selection.select_augmentations`; None takes
        :data:`~skseqclr.evaluation.augmentation_selection.AUGMENTATION_CANDIDATES`. The
        ``"default"`` candidate (the recipe as it is) is always scored, as ``"SeqCLR pretrained"``;
        each other one as ``"SeqCLR [name]"``.
    seqclr_params : dict or None
        :class:`~skseqclr.SeqCLRTransformer` parameters that override :data:`SUITE_SEQCLR_PARAMS`
        (not ``sfreq``, ``ch_names`` or ``random_state``: set per task and seed).
    probe : classifier or None
        As for :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`; default
        :func:`~skseqclr.evaluation.probe.make_linear_probe` (C chosen by cross-validation grouped by subject
        or run). The rows ``"SeqCLR, augmentations by CV"`` need a probe that chooses its C that way; with
        another probe, or a single candidate, there are none.
    data_dir : str, path or None
        Where the recordings are (see :func:`load_task`).
    verbose : bool, default=False
        Print a line per task, split and seed.
    n_jobs : int, default=1
        Threads of :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency` (features and probes).

    Returns
    -------
    list of dict
        The protocol's rows with ``task`` and ``fold`` (the split's index), for
        the methods ``"SeqCLR pretrained"``, ``"SeqCLR untrained"``, ``"SeqCLR [name]"`` per
        candidate, ``"SeqCLR, augmentations by CV"`` (the candidate whose probe cross-validates best on
        each labelled subset, with ``chosen``), ``"SeqCLR + 5 bands"``, ``"SeqCLR untrained + 5 bands"``
        and the controls ``"log-power, channel-referenced"``, ``"log-variance 5 bands"``,
        ``"log-variance 5 bands, channel-referenced"`` and ``"Riemannian tangent space"`` (if pyriemann
        is installed). SeqCLR rows carry ``n_steps`` and their pretraining time in ``fit_time_s``.
    """
    from sklearn.pipeline import FeatureUnion

    from ..transformer import SeqCLRTransformer
    from .augmentation_selection import augmentations_by_cv_rows
    from .baselines import FIVE_BANDS, LogVarianceBandPower

    seeds, fractions = check_seeds(seeds), check_fractions(fractions)
    label_draws = check_positive_int("label_draws", label_draws)
    n_jobs = check_positive_int("n_jobs", n_jobs)
    normalizations = check_normalizations(normalizations, groups_train=(), groups_test=())
    methods, recipe = check_suite_methods(candidates, seqclr_params)
    protocol = dict(fractions=fractions, normalizations=normalizations, label_draws=label_draws, n_jobs=n_jobs,
                    probe=probe)
    rows = []
    for task in _resolve_tasks(tasks, data_dir, verbose):
        for fold, split in enumerate(task.splits):
            data = (split.X_train, split.y_train, split.X_test, split.y_test)
            groups = dict(groups_train=split.groups_train, groups_test=split.groups_test)
            if verbose:
                print(f"{task.name}, {split.name}: classic controls", flush=True)
            fold_rows = evaluate_label_efficiency(_controls(task.sfreq), *data, seeds=seeds,
                                                  X_pretrain=split.X_pretrain, groups_pretrain=split.groups_pretrain,
                                                  **groups, **protocol)
            # the joined rows of every seed share one band-power feature computation per split
            bands = _Reused.of(LogVarianceBandPower(bands=FIVE_BANDS, sfreq=task.sfreq).fit(split.X_pretrain))
            for seed in seeds:
                fitted, fit_times = {}, {}
                for method, params in [(UNTRAINED, {"n_epochs": 0}), *methods.items()]:
                    if verbose:
                        print(f"{task.name}, {split.name}, seed {seed}: fitting {method}", flush=True)
                    start = time.perf_counter()
                    fitted[method] = SeqCLRTransformer(**{**recipe, **params}, sfreq=task.sfreq,
                                                       ch_names=task.ch_names, random_state=seed).fit(split.X_pretrain)
                    fit_times[method] = time.perf_counter() - start
                reused = {method: _Reused.of(transformer) for method, transformer in fitted.items()}
                extractors = {UNTRAINED: reused[UNTRAINED],
                              UNTRAINED_JOINED: FeatureUnion([("seqclr", reused[UNTRAINED]), ("bands", bands)]),
                              **{method: reused[method] for method in methods},
                              JOINED: FeatureUnion([("seqclr", reused[PRETRAINED]), ("bands", bands)])}
                seed_rows = evaluate_label_efficiency(extractors, *data, seeds=(seed,), **groups, **protocol)
                for row in seed_rows:
                    source = {JOINED: PRETRAINED, UNTRAINED_JOINED: UNTRAINED}.get(row["method"], row["method"])
                    row["fit_time_s"] = fit_times[source]
                    row["n_steps"] = int(fitted[source].n_steps_)
                fold_rows += seed_rows
            candidate_rows = [row for row in fold_rows if row["method"] in methods]
            if len(methods) > 1 and all("probe_cv_score_draws" in row for row in candidate_rows):
                fold_rows += augmentations_by_cv_rows(candidate_rows, list(methods), method=BY_CV)
            rows += [{"task": task.name, "fold": fold, **row} for row in fold_rows]
    return _in_method_order(rows, methods)


def _in_method_order(rows, methods):
    order = [PRETRAINED, UNTRAINED, *[m for m in methods if m != PRETRAINED], BY_CV, JOINED, UNTRAINED_JOINED,
             *CONTROLS]
    rank = {method: index for index, method in enumerate(order)}
    tasks = {task: index for index, task in enumerate(dict.fromkeys(row["task"] for row in rows))}
    # stable: folds, seeds, settings and fractions keep their order within a task and method
    return sorted(rows, key=lambda row: (tasks[row["task"]], rank.get(row["method"], len(order))))


def suite_summary(rows) -> list[dict]:
    """Mean and spread over seeds of every task, method, setting and label fraction.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`run_suite` (each with ``task``, ``fold``, ``method``,
        ``normalization``, ``fraction``, ``seed``, ``balanced_accuracy``).

    Returns
    -------
    list of dict
        In first-seen order: ``task``, ``method``, ``normalization``,
        ``fraction``, ``mean`` and ``std`` (population standard deviation over
        seeds, 0 for one seed) of each seed's mean balanced accuracy over the
        task's folds, ``n_seeds``, ``n_folds``, ``n_labels`` (mean labelled
        windows) and ``n_label_draws``.
    """
    if not rows:
        raise ValueError("No rows to summarise.")
    cells = {}
    for row in rows:
        missing = [k for k in ("task", "method", "fraction", "seed", "balanced_accuracy") if k not in row]
        if missing:
            raise ValueError(f"A row lacks {', '.join(missing)}; expected rows of run_suite.")
        key = (row["task"], row["method"], row.get("normalization", "none"), float(row["fraction"]))
        cells.setdefault(key, {}).setdefault(row["seed"], []).append(row)
    summary = []
    for (task, method, normalization, fraction), by_seed in cells.items():
        per_seed = np.array([np.mean([r["balanced_accuracy"] for r in members]) for members in by_seed.values()])
        members = [r for rs in by_seed.values() for r in rs]
        summary.append({
            "task": task, "method": method, "normalization": normalization, "fraction": fraction,
            "mean": float(per_seed.mean()), "std": float(per_seed.std()), "n_seeds": len(by_seed),
            "n_folds": len({r.get("fold", 0) for r in members}),
            "n_labels": float(np.mean([r["n_labels"] for r in members])) if all("n_labels" in r for r in members)
            else float("nan"),
            "n_label_draws": int(max(r.get("n_label_draws", 1) for r in members)),
        })
    return summary


def suite_table(rows) -> str:
    """The suite as one text table: task by method, balanced accuracy per label fraction in both settings.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`run_suite`, or the output of :func:`suite_summary`.

    Returns
    -------
    str
        One line per task and method; columns: each label fraction inductive
        (features as they are), then each standardised per subject (or run).
        Cells read ``mean ± std`` over seeds (``mean`` alone for one seed), ``-``
        where not scored.
    """
    summary = list(rows) if rows and "mean" in rows[0] else suite_summary(rows)
    fractions = sorted({s["fraction"] for s in summary}, reverse=True)
    settings = [s for s in _SETTING_NAMES if any(c["normalization"] == s for c in summary)]
    cell = {(s["task"], s["method"], s["normalization"], s["fraction"]): s for s in summary}
    header = ["task", "method"] + [f"{100 * f:g}%" for _ in settings for f in fractions]
    lines = []
    for task, method in dict.fromkeys((s["task"], s["method"]) for s in summary):
        line = [task, method]
        for setting in settings:
            for fraction in fractions:
                s = cell.get((task, method, setting, fraction))
                line.append("-" if s is None else f"{s['mean']:.3f} ± {s['std']:.3f}" if s["n_seeds"] > 1
                            else f"{s['mean']:.3f}")
        lines.append(line)
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    n = len(fractions)
    spans = ["  ".join("".ljust(w) for w in widths[:2])]
    for index, setting in enumerate(settings):
        width = sum(widths[2 + index * n: 2 + (index + 1) * n]) + 2 * (n - 1)
        spans.append(_SETTING_NAMES[setting].center(width, "-") if width >= len(_SETTING_NAMES[setting])
                     else _SETTING_NAMES[setting])

    def render(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join(["  ".join(spans).rstrip(), render(header), "  ".join("-" * w for w in widths),
                      *map(render, lines)])
