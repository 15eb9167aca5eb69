"""Which augmentations to pretrain with, chosen by a linear probe on labelled training windows.

The augmentations decide what SeqCLR's features become blind to: the encoder
learns to give a channel's two augmented views the same representation, so
whatever the augmentations change is what it learns to ignore. A gain drawn
per view hides amplitude, a DC offset hides slow potentials, a time shift
hides when something happens, a band-stop hides the power of any one narrow
band. Which of those a task needs to see differs from task to task, so the
right invariances are a choice to make on the task's own labelled windows,
not one fixed recipe (:ref:`benchmark-augmentation-ablation`).

:data:`AUGMENTATION_CANDIDATES` holds a few candidate sets, each spanning one
family of invariances. :func:`select_augmentations` pretrains one copy of a
:class:`~skseqclr.SeqCLRTransformer` per candidate on the labelled training
windows (without their labels), encodes those windows, and keeps the
candidate whose probe cross-validates best, with folds grouped by subject,
the way the features will be used on new subjects; no test window is
involved. It is the cheap counterpart of a ``GridSearchCV`` over the same
parameters (one pretraining per candidate instead of one per candidate and
fold), as :func:`~skseqclr.evaluation.model_selection.select_pretraining_length`
is for the pretraining length; :func:`augmentations_by_cv_rows` makes the same
choice from the rows of the label-efficiency protocol
(:doc:`/user_guide/choosing_augmentations`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches

import numpy as np
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets

from .._validation import check_groups_shape
from ..augmentations import PAPER_RANGES
from ..inputs import n_samples
from .model_selection import _NO_PROBE_CV, _check_probe_inputs, _fitted_probe
from .normalization import standardize_per_group
from .probe import probe_cv_score

__all__ = ["AUGMENTATION_CANDIDATES", "AugmentationChoice", "select_augmentations", "augmentations_by_cv_rows",
           "resolve_candidates"]

#: Candidate augmentation sets for :func:`select_augmentations`, by what the features become blind to.
#:
#: Each maps :class:`~skseqclr.SeqCLRTransformer` parameters to the values
#: the candidate pretrains with; a parameter a candidate does not name keeps
#: the value of the transformer given to :func:`select_augmentations`.
#:
#: ``"default"``
#:     ``{}``: the transformer as given (with the package's defaults: time
#:     shift and zero-mask at the paper's durations, DC shift of ±10 µV,
#:     Gaussian noise up to 20% of the channel's RMS). Blind to timing, brief
#:     dropouts, offsets and the noise level; amplitude and spectrum stay.
#: ``"blind_to_gain"``
#:     The default set plus the paper's amplitude scaling (gains 0.5 to 2):
#:     the features also ignore how large a channel is, for tasks whose
#:     classes differ in waveform or spectral shape but whose amplitudes
#:     vary with the subject, the electrode or the amplifier. Wrong where
#:     the classes differ in power.
#: ``"blind_to_timing"``
#:     Only the time shift and the zero-mask (``"auto"``: the paper's ±0.25 s
#:     and 0 to 0.75 s at the data's sampling rate, capped for short windows);
#:     no DC shift, no noise. The features ignore when things happen and
#:     brief dropouts, but keep offsets, slow drifts and the noise floor, for
#:     tasks that differ in a slow potential or a DC level.
#: ``"blind_to_bands"``
#:     The default set plus the paper's band-stop (a 5-Hz band removed, its
#:     centre drawn from 2.8 Hz to 82.5 Hz, clipped below Nyquist): the
#:     features stop relying on the power of any single narrow band and
#:     look at broadband shape, for tasks that differ in waveform rather than
#:     in one rhythm. Wrong where the classes differ in one band's power.
#:     Needs the sampling frequency (``sfreq`` for numpy input).
AUGMENTATION_CANDIDATES = {
    "default": {},
    "blind_to_gain": {"amplitude_scale": PAPER_RANGES["amplitude_scale"]},
    "blind_to_timing": {"amplitude_scale": None, "time_shift": "auto", "dc_shift": None, "zero_mask": "auto",
                        "gaussian_noise": None, "bandstop": None},
    "blind_to_bands": {"bandstop": PAPER_RANGES["bandstop"]},
}

_TIE = 1e-12  # scores this close count as equal: the earlier candidate wins


def resolve_candidates(candidates):
    """Candidate augmentation sets given by name, as a dict of name to parameters.

    Parameters
    ----------
    candidates : None, dict or list of str
        None for all of :data:`AUGMENTATION_CANDIDATES`; a dict of name to
        :class:`~skseqclr.SeqCLRTransformer` parameters (your own
        candidates), returned as it is; or names of
        :data:`AUGMENTATION_CANDIDATES`, each at most once.

    Returns
    -------
    dict of str to dict
        Each candidate's parameters, in the order given.

    Raises
    ------
    TypeError
        For a string (for one name, give a list of it) or anything neither a
        dict nor a list of names.
    ValueError
        For a name not in :data:`AUGMENTATION_CANDIDATES`, or one given
        twice.

    Examples
    --------
    >>> list(resolve_candidates(["blind_to_gain", "default"]))
    ['blind_to_gain', 'default']
    """
    if candidates is None:
        return AUGMENTATION_CANDIDATES
    if isinstance(candidates, str):
        raise TypeError(f"candidates must be a dict of name to parameters or a list of names of "
                        f"AUGMENTATION_CANDIDATES, got the string {candidates!r}; for one name, use [{candidates!r}].")
    if isinstance(candidates, Mapping):
        return candidates
    try:
        names = list(candidates)
    except TypeError:
        raise TypeError(f"candidates must be a dict of name to parameters or a list of names of "
                        f"AUGMENTATION_CANDIDATES, got {type(candidates).__name__}.") from None
    unknown = [name for name in names if not isinstance(name, str) or name not in AUGMENTATION_CANDIDATES]
    if unknown:
        raise ValueError(f"Unknown candidate name(s) {unknown}: the names of AUGMENTATION_CANDIDATES are "
                         f"{list(AUGMENTATION_CANDIDATES)}; pass a dict to give your own.")
    if len(set(names)) != len(names):
        raise ValueError(f"candidates names a candidate more than once: {names}.")
    return {name: AUGMENTATION_CANDIDATES[name] for name in names}


@dataclass(frozen=True)
class AugmentationChoice:
    """The outcome of :func:`select_augmentations`.

    Attributes
    ----------
    name : str
        The chosen candidate.
    params : dict
        Its parameters (what it sets on the transformer given).
    transformer : SeqCLRTransformer
        A clone of the transformer given, with ``params`` set, pretrained on
        the labelled windows (without their labels).
    scores : dict of str to float or None
        Each candidate's cross-validated balanced accuracy
        (:func:`skseqclr.evaluation.probe.probe_cv_score`), in the order the
        candidates were given; None where the probe could not
        cross-validate.
    """

    name: str
    params: dict
    transformer: object = field(repr=False)
    scores: dict


def _choose(scores):
    """The first of the best-scored names; with no score at all, the first name."""
    scored = {name: score for name, score in scores.items() if score is not None}
    if not scored:
        return next(iter(scores))
    best = max(scored.values())
    return next(name for name, score in scored.items() if score >= best - _TIE)


def _check_candidates(candidates, seqclr):
    """``candidates`` as an ordered dict of name to parameters, each set valid for ``seqclr``."""
    from ..transformer import SeqCLRTransformer

    candidates = resolve_candidates(candidates)
    if not candidates:
        raise ValueError("candidates is empty: give at least one set of parameters to pretrain with, "
                         "e.g. candidates=None for AUGMENTATION_CANDIDATES.")
    known = seqclr.get_params(deep=True)  # nested names too, e.g. "readout__pooling"
    checked = {}
    for name, params in candidates.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"Candidate names must be non-empty strings, got {name!r}.")
        if not isinstance(params, Mapping):
            raise TypeError(f"Candidate {name!r} must be a dict of {type(seqclr).__name__} parameters, "
                            f"got {type(params).__name__}.")
        unknown = sorted(str(key) for key in params if key not in known)
        if unknown:
            close = get_close_matches(unknown[0], list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"Candidate {name!r} sets unknown parameter(s) {unknown}{hint}; "
                             f"{type(seqclr).__name__}'s parameters are {sorted(seqclr.get_params(deep=False))}.")
        estimator = clone(seqclr).set_params(**params)
        # a wrong value fails before any candidate pretrains, naming the candidate: every SeqCLRTransformer in it
        # (seqclr itself, or one inside a FeatureUnion or Pipeline) checks its parameters
        try:
            for part in [estimator, *estimator.get_params(deep=True).values()]:
                if isinstance(part, SeqCLRTransformer):
                    part.validate()
        except ValueError as error:
            raise ValueError(f"Candidate {name!r}: {error}") from error
        except TypeError as error:
            raise TypeError(f"Candidate {name!r}: {error}") from error
        checked[name] = dict(params)
    return checked


def select_augmentations(seqclr, X, y, *, candidates=None, groups=None, probe=None, normalization="none"):
    """Choose the augmentations to pretrain with by the probe's cross-validated score.

    Each candidate pretrains its own clone of ``seqclr`` (its parameters set)
    on ``X`` without the labels; the windows' features are then scored by a
    :class:`~skseqclr.evaluation.probe.LinearProbe` cross-validated on
    ``(features, y)`` with folds grouped by ``groups``
    (:func:`~skseqclr.evaluation.probe.probe_cv_score`), and the best
    candidate wins. A ``GridSearchCV`` over the same parameters pretrains
    once per candidate *and fold*; this pretrains once per candidate, on all
    the labelled windows, and lets the probe's folds do the validation. The
    encoder then sees, unlabelled, the windows the probe validates on, as
    it sees any unlabelled window in pretraining; only the probe is
    validated on subjects it did not see.

    Parameters
    ----------
    seqclr : SeqCLRTransformer
        The recipe to vary (fitted or not; it is cloned, never changed). A
        short ``max_steps`` keeps the search cheap; the chosen candidate's
        parameters can then be set on a longer run. Any scikit-learn
        transformer holding one works too, with nested parameter names: a
        ``FeatureUnion([("seqclr", SeqCLRTransformer(...)), ("bands", ...)])``
        with candidates such as ``{"seqclr__amplitude_scale": (0.5, 2.0)}``
        chooses the invariances that best complement the other features.
    X : windows
        Labelled training windows, any input ``seqclr.fit`` and
        ``seqclr.transform`` accept (except a ``MultiDataset``).
    y : array-like of shape (n_windows,)
        Their labels, at least two classes.
    candidates : dict of str to dict, list of str, or None
        Candidate parameter sets by name, tried in order (ties go to the
        earlier one). Parameters a candidate does not set keep ``seqclr``'s
        values. A list picks names of :data:`AUGMENTATION_CANDIDATES`; None
        takes them all.
    groups : array-like of shape (n_windows,) or None
        Subject (or recording) of each window. With groups the probe's folds
        keep each subject on one side, so the score estimates accuracy on new
        subjects; without them windows of one subject fall on both sides and
        the score favours features that recognise subjects. Also passed to
        ``seqclr.fit`` when it takes them (``SeqCLRTransformer.fit`` accepts
        and ignores them).
    probe : LinearProbe or None
        Cloned for every candidate; default ``LinearProbe()``. It must search
        C (``C="auto"``): the score of its best C is the candidate's score.
    normalization : {"none", "group"}, default="none"
        ``"group"`` standardises the features per group before the probe
        (:func:`skseqclr.evaluation.normalization.standardize_per_group`), for
        features that will be used that way (each subject's windows
        standardised together); it needs ``groups``, each with at least two
        windows.

    Returns
    -------
    AugmentationChoice
        ``name``, ``params``, ``transformer`` (the chosen candidate,
        pretrained) and every candidate's ``scores``.

    Raises
    ------
    ValueError
        For empty or unknown candidates, parameters ``seqclr`` does not have
        or refuses, labels of one class, ``y`` or ``groups`` of the wrong
        length, or labels the probe cannot cross-validate (it needs windows
        of every class in at least two groups); all checked before any
        pretraining.

    See Also
    --------
    skseqclr.evaluation.model_selection.select_pretraining_length :
        The same choice for the number of pretraining steps.

    Examples
    --------
    >>> seqclr = SeqCLRTransformer(model_size="small", max_steps=300, sfreq=128)  # doctest: +SKIP
    >>> choice = select_augmentations(seqclr, X_labelled, y_labelled, groups=subjects)  # doctest: +SKIP
    >>> choice.name, choice.scores  # doctest: +SKIP
    >>> features = choice.transformer.transform(X_new)  # doctest: +SKIP
    """
    if not all(hasattr(seqclr, attribute) for attribute in ("get_params", "fit", "transform")):
        raise TypeError(f"seqclr must be a SeqCLRTransformer (an estimator with fit and transform), got "
                        f"{type(seqclr).__name__}.")
    candidates = _check_candidates(candidates, seqclr)
    probe, y = _check_probe_inputs(normalization, groups, probe, y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}.")
    n_windows = n_samples(X)
    if len(y) != n_windows:
        raise ValueError(f"X has {n_windows} windows but y has {len(y)} labels.")
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"y has {len(classes)} class(es) {classes.tolist()}; choosing augmentations needs labels of "
                         "at least two classes.")
    groups = None if groups is None else check_groups_shape(groups, len(y), row="label")
    placeholder = np.zeros((len(y), 1))  # the folds depend on y and groups only: check them before pretraining
    if normalization == "group":
        standardize_per_group(placeholder, groups)
    if probe_cv_score(clone(probe).fit(placeholder, y, groups=groups)) is None:
        raise ValueError(_NO_PROBE_CV)

    # SeqCLRTransformer.fit accepts the groups (and ignores them); a FeatureUnion around it would hand them on to
    # steps that take none
    takes_groups = groups is not None and "groups" in inspect.signature(seqclr.fit).parameters
    scores, best = {}, None
    for name, params in candidates.items():
        transformer = clone(seqclr).set_params(**params)
        transformer = transformer.fit(X, groups=groups) if takes_groups else transformer.fit(X)
        features = np.asarray(transformer.transform(X))
        if features.shape[0] != len(y):
            raise ValueError(f"X gave {features.shape[0]} feature rows but y has {len(y)} labels.")
        scores[name] = probe_cv_score(_fitted_probe(probe, features, y, groups, normalization))
        if _choose(scores) == name:  # keep only the best network so far
            best = transformer
    name = _choose(scores)
    return AugmentationChoice(name=name, params=candidates[name], transformer=best, scores=scores)


def augmentations_by_cv_rows(rows, candidates, method="SeqCLR, augmentations by CV"):
    """Benchmark rows of the augmentations chosen by the probe's cross-validation.

    Turns the rows of :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency`
    that hold one method per candidate augmentation set (each pretrained on
    its own, scored on the same labelled subsets) into the rows a user would
    get by choosing among them as :func:`select_augmentations` does, without
    a test window: for each labelled subset, the candidate whose probe
    cross-validates best on that subset alone (its ``probe_cv_score_draws``;
    ties, and subsets where no candidate could cross-validate, go to the
    earlier candidate), scored by that candidate's balanced accuracy on the
    test windows.

    Parameters
    ----------
    rows : sequence of dict
        Probe rows with ``probe_cv_score_draws`` (a probe that chooses its
        C); rows of other methods are ignored. Rows are matched by ``task``
        and ``fold`` where present, ``normalization``, ``fraction`` and
        ``seed``.
    candidates : sequence of str
        The candidates' method names (the rows' ``"method"``), in order of
        preference: ties go to the earlier one.
    method : str, default="SeqCLR, augmentations by CV"
        The name of the rows returned.

    Returns
    -------
    list of dict
        One row per task, fold, normalisation, fraction and seed, like the
        first candidate's row but with the chosen candidates' scores
        (``balanced_accuracy``, ``balanced_accuracy_draws``,
        ``probe_cv_score_draws``), ``chosen`` (the candidate chosen for each
        labelled subset) and the times of all candidates together (every
        candidate is pretrained and probed to make the choice).

    Raises
    ------
    ValueError
        If a cell holds some candidates but not all, one twice, candidates
        with different numbers of label draws, or a candidate's row without
        ``probe_cv_score_draws``.
    """
    if isinstance(candidates, str):
        raise TypeError(f"candidates must be a sequence of method names, got the string {candidates!r}; "
                        f"for one name, use [{candidates!r}].")
    candidates = list(candidates)
    if not candidates or not all(isinstance(name, str) for name in candidates):
        raise ValueError(f"candidates must be a non-empty sequence of method names, got {candidates!r}.")
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"candidates names a method more than once: {candidates}.")
    order = {name: index for index, name in enumerate(candidates)}
    cells = {}
    for row in rows:
        if row.get("method") not in order:
            continue
        key = (row.get("task"), row.get("fold"), row["normalization"], row["fraction"], row["seed"])
        cell = cells.setdefault(key, {})
        if row["method"] in cell:
            raise ValueError(f"Two rows of {row['method']!r} for the same labelled subsets "
                             f"(task, fold, normalization, fraction, seed = {key}).")
        if "probe_cv_score_draws" not in row:
            raise ValueError(f"The row of {row['method']!r} at {key} has no probe_cv_score_draws: the probe must "
                             "choose its C by cross-validation (LinearProbe with C='auto').")
        cell[row["method"]] = row

    chosen_rows = []
    for key, cell in cells.items():
        missing = [name for name in candidates if name not in cell]
        if missing:
            raise ValueError(f"No rows of {missing} at (task, fold, normalization, fraction, seed) = {key}, where "
                             f"{sorted(cell, key=order.get)} have rows: every candidate must be scored on the same "
                             "labelled subsets.")
        by_name = {name: cell[name] for name in candidates}
        n_draws = {row["n_label_draws"] for row in by_name.values()}
        if len(n_draws) != 1:
            raise ValueError(f"The candidates at {key} have different numbers of label draws: {sorted(n_draws)}.")
        chosen = [_choose({name: row["probe_cv_score_draws"][draw] for name, row in by_name.items()})
                  for draw in range(n_draws.pop())]
        accuracies = [by_name[name]["balanced_accuracy_draws"][draw] for draw, name in enumerate(chosen)]
        first = {key_: value for key_, value in by_name[candidates[0]].items() if key_ != "probe_C"}
        row = {**first, "method": method, "balanced_accuracy": float(np.mean(accuracies)),
               "balanced_accuracy_draws": accuracies, "chosen": chosen,
               "probe_cv_score_draws": [by_name[name]["probe_cv_score_draws"][draw]
                                        for draw, name in enumerate(chosen)]}
        for time_key in ("fit_time_s", "transform_time_s", "probe_time_s"):
            if all(time_key in candidate for candidate in by_name.values()):
                row[time_key] = float(sum(candidate[time_key] for candidate in by_name.values()))
        chosen_rows.append(row)
    return chosen_rows
