"""How long to pretrain, chosen by a linear probe on labelled training windows.

The NT-Xent loss can keep falling long after the features stop improving
(:ref:`benchmark-length-cv`), so the loss cannot say when to stop. One pretraining
run with ``SeqCLRTransformer().fit(X, snapshot_steps=...)`` keeps the network after
several step counts; :func:`select_pretraining_length` encodes the labelled
training windows with each and keeps the one whose probe cross-validates best,
with folds grouped by subject, the way the features will be used on new
subjects. No test window is involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .._validation import check_groups_shape
from .probe import LinearProbe, probe_cv_score
from .normalization import standardize_per_group

__all__ = ["select_pretraining_length", "PretrainingLengthChoice", "choose_step", "length_by_cv_rows"]

#: Why a choice by the probe's cross-validation is impossible on some labels.
_NO_PROBE_CV = ("The probe could not cross-validate on these labels (it needs, in at least two groups, windows of "
                "every class); label more windows or pass more groups.")


def _check_probe_inputs(normalization, groups, probe, y):
    """The probe (default ``LinearProbe()``) and ``y`` as an array, once ``normalization`` and ``probe`` are valid.

    Shared by :func:`select_pretraining_length` and
    :func:`skseqclr.evaluation.augmentation_selection.select_augmentations`,
    which score their candidates alike (:func:`_fitted_probe`).
    """
    if normalization not in ("none", "group"):
        raise ValueError(f'normalization must be "none" or "group", got {normalization!r}.')
    if normalization == "group" and groups is None:
        raise ValueError('normalization="group" needs the group (subject) of every window: groups=...')
    probe = LinearProbe() if probe is None else probe
    if getattr(probe, "C", None) != "auto":
        raise ValueError(f"probe must choose its C by cross-validation (a LinearProbe with C='auto'), got {probe!r}.")
    return probe, np.asarray(y)


def _fitted_probe(probe, features, y, groups, normalization):
    """A clone of ``probe`` fitted on ``features`` (one row per label), standardised per group first with
    ``normalization="group"``; its :func:`~skseqclr.evaluation.probe.probe_cv_score` is the candidate's score."""
    features = features.reshape(len(y), -1)
    if normalization == "group":
        features = standardize_per_group(features, groups)
    return clone(probe).fit(features, y, groups=groups)


@dataclass(frozen=True)
class PretrainingLengthChoice:
    """The outcome of :func:`select_pretraining_length`.

    Attributes
    ----------
    step : int
        The chosen number of pretraining steps.
    transformer : SeqCLRTransformer
        The fitted transformer as it was after ``step`` steps (the one given,
        if ``step`` is its last step).
    scores : dict of int to float or None
        Each candidate's cross-validated balanced accuracy
        (:func:`skseqclr.evaluation.probe.probe_cv_score`), by step count; None
        where the probe could not cross-validate.
    """

    step: int
    transformer: object = field(repr=False)
    scores: dict


def choose_step(scores) -> int:
    """The step count with the best score; ties go to the fewest steps, and no scores at all to the most.

    Parameters
    ----------
    scores : dict of int to float or None
        Candidates' scores by step count (None: not scored).

    Returns
    -------
    int
    """
    if not scores:
        raise ValueError("No candidate step counts to choose from.")
    scored = {step: score for step, score in scores.items() if score is not None}
    if not scored:  # nothing to go by: the run as it ended
        return max(scores)
    best = max(scored.values())
    return min(step for step, score in scored.items() if score >= best - 1e-12)


def select_pretraining_length(seqclr, X, y, *, groups=None, probe=None, normalization="none"):
    """Choose among a pretraining run's snapshots by the probe's cross-validated score.

    Parameters
    ----------
    seqclr : SeqCLRTransformer
        Fitted with ``fit(X, snapshot_steps=...)`` (see
        :meth:`~skseqclr.SeqCLRTransformer.at_step`). The candidates are its
        snapshots and its final network; with step 0 among the snapshots the
        untrained encoder is one of them, so the choice can be not to
        pretrain.
    X : windows
        Labelled training windows, any input ``seqclr.transform`` accepts.
    y : array-like of shape (n_windows,)
        Their labels.
    groups : array-like of shape (n_windows,) or None
        Subject (or recording) of each window. With groups the probe's folds
        keep each subject on one side, so the score estimates accuracy on new
        subjects; without them windows of one subject fall on both sides and
        the score favours features that recognise subjects.
    probe : LinearProbe or None
        Cloned for every candidate; default ``LinearProbe()`` (C chosen by
        the same grouped cross-validation). It must search C (``C="auto"``):
        the score of its best C is the candidate's score.
    normalization : {"none", "group"}, default="none"
        ``"group"`` standardises the features per group before the probe
        (:func:`skseqclr.evaluation.normalization.standardize_per_group`), for features
        that will be used that way (each subject's windows standardised
        together); it needs ``groups``.

    Returns
    -------
    PretrainingLengthChoice
        ``step``, ``transformer`` (fitted, as it was after ``step`` steps) and
        every candidate's ``scores``. Ties go to the fewest steps.

    Examples
    --------
    >>> seqclr = SeqCLRTransformer(sfreq=128, max_steps=1000).fit(
    ...     X_unlabelled, snapshot_steps=range(0, 1000, 100))  # doctest: +SKIP
    >>> choice = select_pretraining_length(seqclr, X_labelled, y_labelled,
    ...                                    groups=subjects)  # doctest: +SKIP
    >>> features = choice.transformer.transform(X_new)  # doctest: +SKIP
    """
    check_is_fitted(seqclr, "encoder_")
    snapshots = getattr(seqclr, "snapshots_", {})
    if not snapshots:
        raise ValueError("seqclr has no snapshots to choose from: fit it with snapshot_steps=..., e.g. "
                         "SeqCLRTransformer(max_steps=1000).fit(X, snapshot_steps=range(100, 1000, 100)).")
    probe, y = _check_probe_inputs(normalization, groups, probe, y)
    groups = None if groups is None else check_groups_shape(groups, len(y), row="label")

    final_step = int(seqclr.n_steps_)

    def as_of(step):  # the final network is seqclr itself, not necessarily a snapshot
        return seqclr if step == final_step else seqclr.at_step(step)

    scores = {}
    for step in sorted({*snapshots, final_step}):
        features = np.asarray(as_of(step).transform(X))
        if features.shape[0] != len(y):
            raise ValueError(f"X has {features.shape[0]} windows but y has {len(y)} labels.")
        scores[step] = probe_cv_score(_fitted_probe(probe, features, y, groups, normalization))
    if all(score is None for score in scores.values()):
        raise ValueError(_NO_PROBE_CV)
    step = choose_step(scores)
    return PretrainingLengthChoice(step=step, transformer=as_of(step), scores=scores)


def length_by_cv_rows(rows, method="SeqCLR pretrained"):
    """Benchmark rows of the pretraining length chosen by the probe's cross-validation.

    Turns the rows of :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency`
    with ``snapshots=True`` (``method`` and its snapshots ``"{method} @{step}"``,
    scored on the same labelled subsets) into the rows a user would get by
    choosing the length with :func:`choose_step`, without a test window:

    - ``"{method}, length by CV"``: for each labelled subset, the length whose
      probe cross-validates best on that subset alone (its
      ``probe_cv_score_draws``); the choice sees no label the probe does not;
    - ``"{method}, length by CV on all labels"``, where the fraction 1 was
      scored: the one length chosen by the cross-validation on all the
      training labels, scored at every fraction (what a better-informed
      choice is worth).

    Parameters
    ----------
    rows : sequence of dict
        Probe rows with ``n_steps`` and ``probe_cv_score_draws`` (a probe that
        chooses its C); rows of other methods are ignored. Snapshot 0 (the
        untrained encoder) is not a candidate length: it is the control.
    method : str, default="SeqCLR pretrained"
        The name of the pretrained encoder's rows.

    Returns
    -------
    list of dict
        One row per seed, normalisation and fraction with at least two lengths,
        like the final encoder's row but with the chosen lengths' scores
        (``balanced_accuracy``, ``balanced_accuracy_draws``) and
        ``chosen_steps`` (the step count chosen for each labelled subset).
    """
    lengths = [row for row in rows if row.get("n_steps", 0) > 0 and "probe_cv_score_draws" in row and (
        row["method"] == method or row["method"].startswith(f"{method} @"))]
    cells = {}
    for row in lengths:
        cells.setdefault((row["seed"], row["normalization"], row["fraction"]), []).append(row)
    cells = {key: {row["n_steps"]: row for row in candidates} for key, candidates in cells.items()
             if len(candidates) > 1}

    def chosen_row(name, by_step, steps):
        scores = [by_step[step]["balanced_accuracy_draws"][draw] for draw, step in enumerate(steps)]
        final = by_step[max(by_step)]
        return {**final, "method": name, "balanced_accuracy": float(np.mean(scores)),
                "balanced_accuracy_draws": scores, "chosen_steps": steps,
                "probe_time_s": sum(row["probe_time_s"] for row in by_step.values())}

    chosen_rows = []
    for by_step in cells.values():
        steps = [choose_step({n: row["probe_cv_score_draws"][draw] for n, row in by_step.items()})
                 for draw in range(next(iter(by_step.values()))["n_label_draws"])]
        chosen_rows.append(chosen_row(f"{method}, length by CV", by_step, steps))
    for (seed, normalization, _), by_step in cells.items():
        everything = cells.get((seed, normalization, 1.0))
        if everything is not None and set(everything) == set(by_step):
            step = choose_step({n: row["probe_cv_score_draws"][0] for n, row in everything.items()})
            chosen_rows.append(chosen_row(f"{method}, length by CV on all labels", by_step,
                                          [step] * next(iter(by_step.values()))["n_label_draws"]))
    return chosen_rows
