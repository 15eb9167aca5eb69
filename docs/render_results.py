"""Render the Results page's tables from the benchmark's JSON output.

``skseqclr benchmark --output FILE.json`` and ``benchmarks/experiments/label_efficiency.py
--output FILE.json`` write every scored row: ``method``, ``normalization``
(``"none"``: features as they are; ``"group"``: standardised per subject),
``fraction`` of the training labels, ``seed`` and ``balanced_accuracy`` (the
mean over the labelled subsets drawn for that seed). This module turns such a
file into reStructuredText, so the Results page shows what the committed JSON
says and its tables cannot drift from the measurement.

The documentation build registers two directives (``docs/conf.py`` loads this
file as a Sphinx extension); paths are relative to the page, like
``.. include::``::

    .. results-setup:: results/main_job.json

    .. results-table:: results/main_job.json
       :methods: SeqCLR pretrained; SeqCLR untrained

    .. results-table:: results/main_job.json
       :compact:

``:compact:`` shows the rows ``skseqclr benchmark`` prints by default
(:func:`compact_methods`); without ``:methods:`` or ``:compact:`` every method.

A file written by ``skseqclr suite --output`` (rows with a ``task`` and a
``fold``) renders as the suite's one table, task by method, with the label
fractions of both settings as columns (:func:`suite_table_rows`: each seed's
mean over a task's folds, then mean ± std over seeds); ``:tasks:`` picks
tasks, ``results-setup`` lists the tasks, the recipe and the candidates::

    .. results-table:: results/suite.json
       :tasks: eegmat; synthetic_amplitude

``results-margins`` shows, for a suite file, how each task fares against the
suite's target at one fraction of the labels (``:fraction:``, default 0.1):
each SeqCLR pipeline beside the best classic control of its task and setting
and beside its untrained encoder (:func:`margins_rows`, computed by
:func:`skseqclr.evaluation.suite.suite_margins`)::

    .. results-margins:: results/suite.json

From the command line it prints the same reStructuredText::

    python docs/render_results.py docs/results/main_job.json

It reads only the standard library, so it runs without the package installed,
except for the margins, which import :mod:`skseqclr.evaluation.suite`.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

#: The two settings every method is scored in, in the order the tables show them.
SETTINGS = {
    "none": "features as they are (inductive)",
    "group": "standardised per subject (transductive)",
}
REQUIRED_ROW_KEYS = ("method", "fraction", "seed", "balanced_accuracy")


def load_result(path) -> dict:
    """Read one benchmark JSON file and check that it holds scored rows.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by ``skseqclr benchmark --output`` or a benchmark script's ``--output``.

    Returns
    -------
    dict
        The file's content, with at least a non-empty ``rows`` list.

    Raises
    ------
    ValueError
        If the file is not JSON, has no ``rows``, or a row lacks one of
        ``method``, ``fraction``, ``seed`` or ``balanced_accuracy``.
    """
    path = Path(path)
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error}).") from None
    rows = result.get("rows") if isinstance(result, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected an object with a non-empty 'rows' list (benchmark --output).")
    for index, row in enumerate(rows):
        missing = [key for key in REQUIRED_ROW_KEYS if key not in row]
        if missing:
            raise ValueError(f"{path}: row {index} lacks {', '.join(missing)}.")
    return result


def summarize(rows) -> dict:
    """Mean and spread over seeds of every method, setting and label fraction.

    Parameters
    ----------
    rows : list of dict
        The ``rows`` of a benchmark JSON file.

    Returns
    -------
    dict
        ``{(method, normalization, fraction): cell}`` in first-seen order, each
        cell a dict with ``mean`` and ``std`` (population standard deviation
        over seeds, 0 for one seed) of the balanced accuracy, ``n_seeds``,
        ``n_labels`` (labelled windows) and ``n_label_draws`` (labelled subsets
        per seed).
    """
    groups: dict = {}
    for row in rows:
        key = (row["method"], row.get("normalization", "none"), float(row["fraction"]))
        groups.setdefault(key, []).append(row)
    cells = {}
    for key, members in groups.items():
        scores = [float(r["balanced_accuracy"]) for r in members]
        cells[key] = {
            "mean": statistics.fmean(scores),
            "std": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
            "n_seeds": len({r["seed"] for r in members}),
            "n_labels": round(statistics.fmean(r.get("n_labels", 0) for r in members)),
            "n_label_draws": max(int(r.get("n_label_draws", 1)) for r in members),
        }
    return cells


def fraction_label(fraction: float) -> str:
    """``1.0`` -> ``"100%"``, ``0.01`` -> ``"1%"``, ``0.005`` -> ``"0.5%"``."""
    return f"{100 * fraction:g}%"


def _cell_text(cell) -> str:
    if cell["n_seeds"] > 1:
        return f"{cell['mean']:.3f} ± {cell['std']:.3f}"
    return f"{cell['mean']:.3f}"


def compact_methods(result) -> list:
    """The rows ``skseqclr benchmark`` prints by default: the SeqCLR rows and the strongest classic control.

    Parameters
    ----------
    result : dict
        A benchmark JSON file's content; the control is its
        ``strongest_control`` entry, which ``skseqclr benchmark`` chose by the
        probes' cross-validated scores on the training windows.

    Returns
    -------
    list of str
        The methods whose names start with ``"SeqCLR"``, in the file's order,
        then the control.

    Raises
    ------
    ValueError
        If the file names no strongest control (written before the command
        chose one): list the rows with ``methods`` instead.
    """
    control = (result.get("strongest_control") or {}).get("method")
    if not control:
        raise ValueError("the results name no 'strongest_control' (written by an older skseqclr benchmark); "
                         "run the benchmark again or list the rows with :methods:.")
    seqclr = [m for m in dict.fromkeys(r["method"] for r in result["rows"]) if m.startswith("SeqCLR")]
    return seqclr + [control]


def is_suite_result(result) -> bool:
    """Whether a results file was written by ``skseqclr suite`` (its rows carry a ``task``)."""
    return any("task" in row for row in result["rows"])


def suite_summarize(rows) -> dict:
    """Mean and spread over seeds of each seed's mean over a task's folds, per task, method, setting and fraction.

    Parameters
    ----------
    rows : list of dict
        The ``rows`` of a ``skseqclr suite`` JSON file (each with ``task`` and ``fold``).

    Returns
    -------
    dict
        ``{(task, method, normalization, fraction): cell}`` in first-seen
        order, each cell as in :func:`summarize` plus ``n_folds``.
    """
    groups: dict = {}
    for row in rows:
        key = (row.get("task", ""), row["method"], row.get("normalization", "none"), float(row["fraction"]))
        groups.setdefault(key, {}).setdefault(row["seed"], []).append(row)
    cells = {}
    for key, by_seed in groups.items():
        scores = [statistics.fmean(float(r["balanced_accuracy"]) for r in members) for members in by_seed.values()]
        members = [r for rs in by_seed.values() for r in rs]
        cells[key] = {
            "mean": statistics.fmean(scores),
            "std": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
            "n_seeds": len(by_seed), "n_folds": len({r.get("fold", 0) for r in members}),
            "n_labels": round(statistics.fmean(r.get("n_labels", 0) for r in members)),
            "n_label_draws": max(int(r.get("n_label_draws", 1)) for r in members),
        }
    return cells


#: The settings' short names in the suite table's column headers.
SUITE_SETTINGS = {"none": "inductive", "group": "per subject"}


def suite_table_rows(result, methods=None, settings=tuple(SETTINGS), tasks=None, bold_best=True) -> list:
    """The suite's table, task by method, as rows of cell texts.

    Parameters
    ----------
    result : dict
        A ``skseqclr suite`` JSON file's content (:func:`load_result`).
    methods : list of str or None
        The methods to show, in this order; None shows every method, in the file's order.
    settings : sequence of {"none", "group"}
        The settings to show, each as a group of columns (one per label fraction).
    tasks : list of str or None
        The tasks to show, in this order; None shows every task.
    bold_best : bool
        Put the highest mean of each column of each task in bold.

    Returns
    -------
    list of list of str
        The header row (``"method"``, then each setting's label fractions),
        then per task a heading row (its name in bold, empty cells)
        followed by one row per method it has. A cell not scored reads ``"-"``.

    Raises
    ------
    ValueError
        If a task, method or setting asked for is not in the file.
    """
    cells = suite_summarize(result["rows"])
    known_tasks = list(dict.fromkeys(task for task, _, _, _ in cells))
    known_methods = list(dict.fromkeys(method for _, method, _, _ in cells))
    known_settings = {normalization for _, _, normalization, _ in cells}
    fractions = sorted({fraction for *_, fraction in cells}, reverse=True)
    for name, asked, known in (("tasks", tasks, known_tasks), ("methods", methods, known_methods),
                               ("settings", settings, sorted(known_settings))):
        unknown = [item for item in (asked or []) if item not in known]
        if unknown:
            raise ValueError(f"{name} {unknown} are not in the results; they hold {known}.")
    tasks = known_tasks if tasks is None else list(tasks)
    methods = known_methods if methods is None else list(methods)
    columns = [(setting, fraction) for setting in settings for fraction in fractions]
    table = [["method"] + [f"{fraction_label(f)}, {SUITE_SETTINGS[s]}" for s, f in columns]]
    for task in tasks:
        table.append([f"**{task}**"] + [""] * len(columns))
        shown = [m for m in methods if any((task, m, s, f) in cells for s, f in columns)]
        best = {}
        for setting, fraction in columns:
            means = [cells[(task, m, setting, fraction)]["mean"] for m in shown
                     if (task, m, setting, fraction) in cells]
            best[(setting, fraction)] = max(means) if means else None
        for method in shown:
            row = [method]
            for setting, fraction in columns:
                cell = cells.get((task, method, setting, fraction))
                if cell is None:
                    row.append("-")
                    continue
                text = _cell_text(cell)
                if bold_best and len(shown) > 1 and round(cell["mean"], 3) == round(best[(setting, fraction)], 3):
                    text = f"**{text}**"
                row.append(text)
            table.append(row)
    return table


def table_rows(result, methods=None, settings=tuple(SETTINGS), bold_best=True) -> list:
    """The Results table of one benchmark file, as rows of cell texts.

    A ``skseqclr suite`` file gives its task-by-method table (:func:`suite_table_rows`).

    Parameters
    ----------
    result : dict
        A benchmark JSON file's content (:func:`load_result`).
    methods : list of str or None
        The methods to show, in this order (their names as in the rows, e.g.
        ``"SeqCLR pretrained"``); None shows every method, in the file's order.
    settings : sequence of {"none", "group"}
        The settings to show, each as a block of rows under a heading row.
    bold_best : bool
        Put the highest mean of each column of each block in bold.

    Returns
    -------
    list of list of str
        The header row (``"method"`` and one column per label fraction, with
        its number of labelled windows), then per setting a heading row
        (its name in bold, empty cells) followed by one row per method. A
        method not scored at a fraction reads ``"-"``.

    Raises
    ------
    ValueError
        If a method or setting asked for is not in the file.
    """
    if is_suite_result(result):
        return suite_table_rows(result, methods=methods, settings=settings, bold_best=bold_best)
    cells = summarize(result["rows"])
    known_methods = list(dict.fromkeys(method for method, _, _ in cells))
    known_settings = set(normalization for _, normalization, _ in cells)
    fractions = sorted({fraction for _, _, fraction in cells}, reverse=True)
    methods = known_methods if methods is None else list(methods)
    unknown = [m for m in methods if m not in known_methods]
    if unknown:
        raise ValueError(f"methods {unknown} are not in the results; they hold {known_methods}.")
    bad = [s for s in settings if s not in known_settings]
    if bad:
        raise ValueError(f"settings {bad} are not in the results; they hold {sorted(known_settings)}.")

    header = ["method"]
    for fraction in fractions:
        column = [c for (_, _, f), c in cells.items() if f == fraction]
        n_labels = column[0]["n_labels"]
        draws = max(c["n_label_draws"] for c in column)
        header.append(f"{fraction_label(fraction)} (n={n_labels}" + (f", {draws} draws)" if draws > 1 else ")"))
    table = [header]
    for setting in settings:
        table.append([f"**{SETTINGS[setting]}**"] + [""] * len(fractions))
        best = {}
        for fraction in fractions:
            means = [cells[(m, setting, fraction)]["mean"] for m in methods if (m, setting, fraction) in cells]
            best[fraction] = max(means) if means else None
        for method in methods:
            row = [method]
            for fraction in fractions:
                cell = cells.get((method, setting, fraction))
                if cell is None:
                    row.append("-")
                    continue
                text = _cell_text(cell)
                if bold_best and len(methods) > 1 and round(cell["mean"], 3) == round(best[fraction], 3):
                    text = f"**{text}**"
                row.append(text)
            table.append(row)
    return table


def render_table(result, methods=None, settings=tuple(SETTINGS), caption=None, tasks=None) -> list:
    """:func:`table_rows` (of a suite file: :func:`suite_table_rows`, ``tasks`` among them) as the lines of a
    reStructuredText ``list-table``."""
    if is_suite_result(result):
        rows = suite_table_rows(result, methods=methods, settings=settings, tasks=tasks)
    elif tasks:
        raise ValueError("tasks: these results are not a suite's (their rows have no 'task').")
    else:
        rows = table_rows(result, methods=methods, settings=settings)
    n_columns = len(rows[0])
    first = (40 if n_columns <= 4 else 28) if n_columns > 2 else 100
    widths = [first] + [(100 - first) // (n_columns - 1)] * (n_columns - 1)
    lines = [f".. list-table::{' ' + caption if caption else ''}", "   :header-rows: 1",
             f"   :widths: {' '.join(map(str, widths))}", ""]
    for row in rows:
        for index, text in enumerate(row):
            text = "\\-" if text == "-" else text  # a lone "-" would start a nested bullet list
            lines.append(("   * - " if index == 0 else "     - ") + text if text else
                         ("   * -" if index == 0 else "     -"))
    lines.append("")
    return lines


def _signed(value) -> str:
    text = f"{value:+.3f}"
    return "0.000" if text in ("+0.000", "-0.000") else text


def margins_rows(result, fraction=0.1) -> list:
    """The suite's target at a glance: each SeqCLR pipeline against the best classic control and its untrained twin.

    Parameters
    ----------
    result : dict
        A ``skseqclr suite`` JSON file's content (:func:`load_result`).
    fraction : float
        The fraction of the training labels compared.

    Returns
    -------
    list of list of str
        The header row, then one row per task, setting and pipeline of
        :func:`skseqclr.evaluation.suite.suite_margins` (which imports the
        package): the pipeline's mean, the best classic control and its mean,
        the margin over it and over the untrained encoder, and whether the
        target is met. The task and setting are written on the first of
        their rows only.

    Raises
    ------
    ValueError
        If the file is not a suite's, or the fraction or a method compared is not in it.
    """
    if not is_suite_result(result):
        raise ValueError("these results are not a suite's (their rows have no 'task'); margins compare a suite's "
                         "tasks.")
    from skseqclr.evaluation.suite import suite_margins

    table = [["task", "setting", "pipeline", f"score at {fraction_label(fraction)}", "best classic control",
              "its score", "margin over control", "margin over untrained", "target met"]]
    previous = (None, None)
    for m in suite_margins(result["rows"], fraction=fraction):
        task = f"**{m['task']}**" if m["task"] != previous[0] else ""
        setting = SUITE_SETTINGS.get(m["normalization"], m["normalization"])
        setting = setting if (m["task"], m["normalization"]) != previous else ""
        previous = (m["task"], m["normalization"])
        table.append([task, setting, m["method"], f"{m['mean']:.3f}", m["control"], f"{m['control_mean']:.3f}",
                      _signed(m["margin"]), _signed(m["margin_untrained"]), "yes" if m["target_met"] else "no"])
    return table


def render_margins(result, fraction=0.1, caption=None) -> list:
    """:func:`margins_rows` as the lines of a reStructuredText ``list-table``."""
    rows = margins_rows(result, fraction=fraction)
    lines = [f".. list-table::{' ' + caption if caption else ''}", "   :header-rows: 1",
             "   :widths: 14 12 16 8 22 8 8 8 6", ""]
    for row in rows:
        for index, text in enumerate(row):
            lines.append(("   * - " if index == 0 else "     - ") + text if text else
                         ("   * -" if index == 0 else "     -"))
    lines.append("")
    return lines


def _seqclr_text(result) -> str | None:
    params = result.get("seqclr_params") or {}
    if not params:
        return None
    steps = sorted({r["n_steps"] for r in result["rows"] if "n_steps" in r and r["n_steps"]})
    parts = [f"``{params.get('encoder', 'conv')}`` encoder, ``model_size={params.get('model_size')!r}``"]
    if steps:
        parts.append(f"{'/'.join(map(str, steps))} pretraining steps")
    read = result.get("seqclr_channels_read")
    if read:
        parts.append(f"read on {read['n_channels']} channels (``feature_channels={read['setting']!r}``"
                     + (f", resolved to ``{read['resolved']!r}``" if read.get("resolved") != read["setting"] else "")
                     + ")")
    return ", ".join(parts)


def _suite_setup_fields(result) -> list:
    """The fields of :func:`render_setup` particular to a ``skseqclr suite`` file: its tasks, recipe and candidates."""
    fields = [(f"Task {name}", description) for name, description in (result.get("tasks") or {}).items()]
    for name, reason in (result.get("skipped") or {}).items():
        fields.append((f"Task {name}", f"not run: {reason}"))
    params = result.get("seqclr_params") or {}
    if params:
        fields.append(("SeqCLR recipe", ", ".join(f"``{key}={value!r}``" for key, value in params.items())))
    candidates = result.get("candidates") or {}
    if candidates:
        fields.append(("Candidates", "; ".join(f"{name}: " + (", ".join(f"``{k}={v!r}``" for k, v in values.items())
                                                            or "the recipe as it is")
                                               for name, values in candidates.items())))
    if result.get("quick"):
        fields.append(("Note", "a smoke test (``--quick``: one seed, one labelled subset, 2 pretraining steps); "
                               "the figures say nothing about the methods"))
    return fields


def render_setup(result) -> list:
    """How a result was measured, as the lines of a reStructuredText field list."""
    fields = []
    argv = result.get("argv")
    if argv is not None:
        command = result.get("command", "skseqclr benchmark")
        subcommand = command.split()[-1]  # "benchmark", "suite": argv may start with it
        shown = " ".join(argv[1:] if argv[:1] == [subcommand] and subcommand != "skseqclr" else argv)
        fields.append(("Command", f"``{command} {shown}``".replace("  ", " ")))
    if result.get("data"):
        fields.append(("Data", result["data"]))
    if is_suite_result(result):
        fields += _suite_setup_fields(result)
    if "n_train" in result:
        fields.append(("Windows", f"{result['n_train']} training, {result['n_test']} test (split by subject)"))
    seeds = sorted({r["seed"] for r in result["rows"]})
    draws = max(int(r.get("n_label_draws", 1)) for r in result["rows"])
    fields.append(("Seeds", ", ".join(map(str, seeds))
                   + (f"; {draws} labelled subsets per seed below 100% of the labels" if draws > 1 else
                      "; one labelled subset per seed and fraction")))
    seqclr = None if is_suite_result(result) else _seqclr_text(result)
    if seqclr:
        fields.append(("SeqCLR", seqclr))
    probe_cs = sorted({r["probe_C"] for r in result["rows"] if "probe_C" in r})
    if probe_cs:
        chosen = (f"``C={probe_cs[0]:.3g}`` in every probe" if len(probe_cs) == 1 else
                  f"from {min(probe_cs):.3g} to {max(probe_cs):.3g} over the probes")
        grouping = "subject (by run for one subject's runs)" if is_suite_result(result) else "subject"
        fields.append(("Probe", "``StandardScaler`` + ``LogisticRegression`` (balanced class weights), ``C`` "
                                f"chosen by cross-validation grouped by {grouping} ({chosen}); balanced accuracy on "
                                f"the test {'subjects or run' if is_suite_result(result) else 'subjects'}"))
    versions = result.get("versions")
    if versions:
        fields.append(("Versions", ", ".join(f"{name} {version}" for name, version in versions.items())))
    parts = result.get("combined_from")
    if parts:
        fields.append(("Parts", _parts_text(parts)))
    if "wall_time_s" in result:
        fields.append(("Wall time", f"{result['wall_time_s']:.0f} s"
                       + (f", the sum of the {len(parts)} parts' times" if parts else "")))
    if result.get("synthetic_fallback"):
        fields.append(("Note", "synthetic data (the recordings were not found)"))
    return [f":{name}: {text}" for name, text in fields] + [""]


def _parts_text(parts) -> str:
    """The runs a ``skseqclr suite --combine`` report joined: their command, with the task and seed as T and S."""
    argv = list(parts[0].get("argv") or [])
    for option, placeholder in (("--tasks", "T"), ("--seeds", "S")):
        if option in argv:
            at = argv.index(option) + 1
            end = next((i for i in range(at, len(argv)) if argv[i].startswith("-")), len(argv))
            argv[at:end] = [placeholder]
    if "--output" in argv and argv.index("--output") + 1 < len(argv):
        argv[argv.index("--output") + 1] = "T_S.json"
    shown = " ".join(argv[1:] if argv[:1] == ["suite"] else argv)
    return (f"{len(parts)} runs of ``skseqclr suite {shown}``, one per task and seed, joined by "
            "``skseqclr suite --combine``")


def setup(app):
    """Register the ``results-table``, ``results-setup`` and ``results-margins`` directives."""
    from docutils import nodes
    from docutils.parsers.rst import directives
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    def semicolon_list(argument):
        return [item.strip() for item in (argument or "").split(";") if item.strip()]

    class _ResultsDirective(SphinxDirective):
        required_arguments = 1

        def _result(self):
            relative, absolute = self.env.relfn2path(self.arguments[0], self.env.docname)
            self.env.note_dependency(relative)
            return load_result(absolute)

        def _parse(self, lines):
            container = nodes.container()
            self.state.nested_parse(StringList(lines, source=self.arguments[0]), self.content_offset, container)
            return container.children

        def run(self):
            try:
                return self._parse(self.lines(self._result()))
            except (OSError, ValueError) as error:
                raise self.error(f"{self.name}: {error}") from None

    class ResultsTable(_ResultsDirective):
        option_spec = {"methods": semicolon_list, "compact": directives.flag, "settings": semicolon_list,
                       "caption": directives.unchanged, "tasks": semicolon_list}

        def lines(self, result):
            methods = compact_methods(result) if "compact" in self.options else self.options.get("methods")
            return render_table(result, methods=methods or None,
                                settings=self.options.get("settings") or tuple(SETTINGS),
                                caption=self.options.get("caption"), tasks=self.options.get("tasks") or None)

    class ResultsSetup(_ResultsDirective):
        def lines(self, result):
            return render_setup(result)

    def fraction_option(argument):
        try:
            return float(argument)
        except (TypeError, ValueError):
            raise ValueError(f"expected a fraction of the labels such as 0.1, got {argument!r}") from None

    class ResultsMargins(_ResultsDirective):
        option_spec = {"fraction": fraction_option, "caption": directives.unchanged}

        def lines(self, result):
            return render_margins(result, fraction=self.options.get("fraction", 0.1),
                                  caption=self.options.get("caption"))

    app.add_directive("results-table", ResultsTable)
    app.add_directive("results-setup", ResultsSetup)
    app.add_directive("results-margins", ResultsMargins)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> int:
    """Print the setup and the full table of each file given (and, of a suite's, the margins at 10% of the labels)."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python docs/render_results.py FILE.json [FILE.json ...]", file=sys.stderr)
        return 2
    for path in paths:
        result = load_result(path)
        print("\n".join(render_setup(result) + render_table(result)))
        if is_suite_result(result):
            try:
                print("\n".join(render_margins(result)))
            except ImportError as error:  # the margins need the package; the tables above do not
                print(f"(margins not shown: {error})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
