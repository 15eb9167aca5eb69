"""How far each SeqCLR pipeline of the suite stands above the best classic control and its untrained twin.

:func:`suite_margins` is exported by :mod:`skseqclr.evaluation.suite`, which defines the method names it
compares; it is kept here to keep that module short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: The settings in the order :func:`suite_margins` returns them.
_SETTINGS = ("none", "group")


def _check_fraction(fraction):
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"fraction must be a number in (0, 1], got {type(fraction).__name__}.")
    if not math.isfinite(fraction) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1] (a share of the training labels), got {fraction!r}.")
    return float(fraction)


def _check_names(name, value):
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value or not all(isinstance(v, str) and v for v in value):
        raise TypeError(f"{name} must be a non-empty sequence of method names, got {value!r}.")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} names a method more than once: {list(value)}.")
    return tuple(value)


def suite_margins(rows_or_summary, *, fraction=0.1, pipelines=("SeqCLR pretrained", "SeqCLR + 5 bands"),
                  untrained=None, controls=None, min_margin=0.02) -> list[dict]:
    """Each SeqCLR pipeline against the best classic control and against its untrained encoder, per task and setting.

    The comparison the suite is judged by: at one fraction of the training
    labels, in each setting (features as they are, and standardised per
    subject or run), a SeqCLR pipeline meets the target when its mean
    balanced accuracy is at least ``min_margin`` above that of the best
    classic control in the same task and setting, and above the same
    pipeline with the untrained encoder (``n_epochs=0``). The best control
    is the one with the highest mean test score, the strictest reading of
    the target. Means are those of
    :func:`~skseqclr.evaluation.suite.suite_summary` (each seed's mean over
    a task's folds, then the mean over seeds), as in the suite's table.

    Parameters
    ----------
    rows_or_summary : sequence of dict
        Rows of :func:`~skseqclr.evaluation.suite.run_suite`, or the output
        of :func:`~skseqclr.evaluation.suite.suite_summary`.
    fraction : float, default=0.1
        The fraction of the training labels compared; it must be one the
        rows were scored at.
    pipelines : sequence of str, default=("SeqCLR pretrained", "SeqCLR + 5 bands")
        The SeqCLR methods judged, in the order they are returned.
    untrained : dict of str to str or None
        ``{pipeline: its untrained twin}``; None pairs ``"SeqCLR pretrained"``
        with ``"SeqCLR untrained"`` and ``"SeqCLR + 5 bands"`` with
        ``"SeqCLR untrained + 5 bands"``. Every pipeline needs a twin.
    controls : sequence of str or None
        The classic controls; None takes those of
        :data:`~skseqclr.evaluation.suite.CONTROLS` that the rows hold.
    min_margin : float, default=0.02
        The margin over the best control the target asks for, in balanced
        accuracy (0 to 1).

    Returns
    -------
    list of dict
        One per task (first-seen order), setting (``"none"``, then
        ``"group"``) and pipeline, with ``task``, ``normalization``,
        ``fraction``, ``method`` and its ``mean``, ``std`` and ``n_seeds``;
        ``control`` (the best control's name) and ``control_mean``;
        ``margin`` (``mean - control_mean``); ``untrained`` (the twin's name),
        ``untrained_mean`` and ``margin_untrained`` (``mean -
        untrained_mean``); ``target_met`` (``margin >= min_margin`` and
        ``margin_untrained > 0``).

    Raises
    ------
    ValueError
        If the rows are empty, the fraction is out of (0, 1] or not in the
        rows, a pipeline, twin or control is not in the rows (or a task and
        setting lack one), a pipeline is also a control, or no control is
        found. ``TypeError`` for arguments of the wrong type.
    """
    from .suite import CONTROLS, JOINED, PRETRAINED, UNTRAINED, UNTRAINED_JOINED, suite_summary

    if isinstance(rows_or_summary, (str, bytes, Mapping)) or not isinstance(rows_or_summary, Sequence):
        raise TypeError(f"rows_or_summary must be a list of rows of run_suite or of suite_summary, "
                        f"got {type(rows_or_summary).__name__}.")
    if not rows_or_summary:
        raise ValueError("rows_or_summary is empty: no rows to compare.")
    if not all(isinstance(row, Mapping) for row in rows_or_summary):
        raise TypeError("rows_or_summary must hold dicts (rows of run_suite or of suite_summary).")
    fraction = _check_fraction(fraction)
    pipelines = _check_names("pipelines", pipelines)
    if untrained is None:
        untrained = {PRETRAINED: UNTRAINED, JOINED: UNTRAINED_JOINED}
    if not isinstance(untrained, Mapping):
        raise TypeError(f"untrained must be a dict {{pipeline: its untrained twin}}, got {type(untrained).__name__}.")
    missing_twins = [p for p in pipelines if not isinstance(untrained.get(p), str)]
    if missing_twins:
        raise ValueError(f"untrained names no untrained twin for {missing_twins}; give one per pipeline.")
    if isinstance(min_margin, bool) or not isinstance(min_margin, (int, float)) or not math.isfinite(min_margin):
        raise TypeError(f"min_margin must be a finite number (balanced accuracy), got {min_margin!r}.")

    is_summary = all("mean" in row and "balanced_accuracy" not in row for row in rows_or_summary)
    summary = list(rows_or_summary) if is_summary else suite_summary(rows_or_summary)
    for row in summary:
        missing = [key for key in ("task", "method", "fraction", "mean") if key not in row]
        if missing:
            raise ValueError(f"A summary row lacks {', '.join(missing)}; expected the output of suite_summary.")
    held = sorted({float(s["fraction"]) for s in summary}, reverse=True)
    at = [s for s in summary if math.isclose(float(s["fraction"]), fraction, rel_tol=1e-9)]
    if not at:
        raise ValueError(f"fraction {fraction:g} is not in the rows; they hold {', '.join(f'{f:g}' for f in held)}.")
    cells = {(s["task"], s.get("normalization", "none"), s["method"]): s for s in at}
    methods = list(dict.fromkeys(s["method"] for s in at))
    if controls is None:
        controls = tuple(c for c in CONTROLS if c in methods)
        if not controls:
            raise ValueError(f"The rows hold none of the classic controls {list(CONTROLS)} at fraction {fraction:g}; "
                             f"name them with controls= (the rows hold {methods}).")
    controls = _check_names("controls", controls)
    twins = tuple(untrained[p] for p in pipelines)
    for name, asked in (("pipelines", pipelines), ("untrained", twins), ("controls", controls)):
        absent = [m for m in asked if m not in methods]
        if absent:
            raise ValueError(f"{name}: {absent} not in the rows at fraction {fraction:g}; they hold {methods}.")
    overlap = [m for m in pipelines + twins if m in controls]
    if overlap:
        raise ValueError(f"controls may not include the SeqCLR methods compared: {overlap}.")

    tasks = list(dict.fromkeys(s["task"] for s in at))
    settings = [s for s in _SETTINGS if any(key[1] == s for key in cells)]
    settings += sorted({key[1] for key in cells} - set(settings))
    margins = []
    for task in tasks:
        for setting in settings:
            if not any(key[:2] == (task, setting) for key in cells):
                continue
            scored = [(cells[(task, setting, c)]["mean"], c) for c in controls if (task, setting, c) in cells]
            if not scored:
                raise ValueError(f"Task {task!r}, setting {setting!r}: no classic control {list(controls)} scored at "
                                 f"fraction {fraction:g}.")
            control_mean, control = max(scored, key=lambda pair: pair[0])
            for pipeline in pipelines:
                twin = untrained[pipeline]
                absent = [m for m in (pipeline, twin) if (task, setting, m) not in cells]
                if absent:
                    raise ValueError(f"Task {task!r}, setting {setting!r}: {absent} not scored at fraction "
                                     f"{fraction:g}.")
                cell, twin_cell = cells[(task, setting, pipeline)], cells[(task, setting, twin)]
                margin = cell["mean"] - control_mean
                margin_untrained = cell["mean"] - twin_cell["mean"]
                margins.append({
                    "task": task, "normalization": setting, "fraction": fraction, "method": pipeline,
                    "mean": cell["mean"], "std": cell.get("std", 0.0), "n_seeds": cell.get("n_seeds", 1),
                    "control": control, "control_mean": control_mean, "margin": margin,
                    "untrained": twin, "untrained_mean": twin_cell["mean"], "margin_untrained": margin_untrained,
                    # a hair of tolerance: a margin of exactly min_margin must not fail on rounding of the means
                    "target_met": bool(margin >= min_margin - 1e-9 and margin_untrained > 1e-9),
                })
    return margins
