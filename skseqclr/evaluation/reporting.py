"""Tables, summaries and figures of label-efficiency rows.

Reads the rows of :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency`:
mean and spread over seeds (:func:`summarize`), a plain-text table
(:func:`format_table`), the label-efficiency figure
(:func:`plot_label_efficiency`), and the choice of the strongest control by
the probes' cross-validated scores on the training windows
(:func:`strongest_by_probe_cv`), never by test scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["method_label", "summarize", "format_table", "mean_probe_cv_score", "strongest_by_probe_cv",
           "plot_label_efficiency"]


def method_label(row: Mapping) -> str:
    """The name of a row's method in tables and summaries.

    Parameters
    ----------
    row : dict
        A row of :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`
        (its ``method`` and, optionally, ``normalization``).

    Returns
    -------
    str
        ``row["method"]``, suffixed `` (per-group z-score)`` when the row's
        features were standardised per group (``normalization="group"``).
    """
    if row.get("normalization", "none") == "group":
        return f"{row['method']} (per-group z-score)"
    return row["method"]


def summarize(rows: Sequence[Mapping]) -> list[dict]:
    """Mean and standard deviation over seeds of each method and fraction.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`.

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
        key = (method_label(row), row["seed"])
        if key not in per_seed_time:
            per_seed_time[key] = row["fit_time_s"] + row["transform_time_s"]
        per_seed_time[key] += row["probe_time_s"]
    groups: dict = {}
    for row in rows:
        groups.setdefault((method_label(row), row["fraction"]), []).append(row)
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
        Rows of :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency` (or the output of
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

    The mean of :func:`~skseqclr.evaluation.probe.probe_cv_score` over every probe fitted on the
    method's features (each normalisation, fraction, seed and labelled
    subset of :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`'s rows): how well the
    training subjects alone say its features separate the classes, with no
    test window involved.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`.
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
        As returned by :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`.
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
        As returned by :func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency`.
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
