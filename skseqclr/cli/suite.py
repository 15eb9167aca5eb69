"""``skseqclr suite``: the label-efficiency protocol on several tasks, SeqCLR beside classic features."""

from __future__ import annotations

import sys
import time

from ._common import (EXIT_OK, UsageError, _check_output_file, _fraction, _jsonable, _non_negative_int,
                      _parallel_jobs, _positive_int, _say, _versions, _write_json, parse_param)
from ._data import _check_data_dir

#: What ``--quick`` sets: one seed, one labelled subset per fraction, two pretraining steps (a smoke test).
QUICK = {"label_draws": 1, "max_steps": 2}


def add_suite_parser(commands, parents):
    """Register ``skseqclr suite`` on the subcommands ``commands`` (``parents``: the common options)."""
    from pathlib import Path

    from ..evaluation.augmentation_selection import AUGMENTATION_CANDIDATES
    from ..evaluation.suite import SUITE_TASKS

    suite = commands.add_parser(
        "suite", parents=parents,
        help="run the multi-task suite: SeqCLR (pretrained, untrained, per augmentation candidate, joined with "
             "band powers) and classic controls on several tasks",
        description="Run the label-efficiency protocol on several tasks (EEGMAT, motor imagery of eegmmidb's "
                    "subject 1, synthetic tasks with a known ground truth): SeqCLR pretrained once per "
                    "augmentation candidate, untrained, the candidate chosen by the probe's cross-validation, "
                    "SeqCLR joined with the five-band log-variance, and classic controls; print one table, task by "
                    "method, inductive and standardised per subject.",
    )
    suite.add_argument("--data-dir", type=Path, metavar="DIR",
                       help="folder holding eegmat/ and eegbci/ (default: $SKSEQCLR_DATA or ~/skseqclr_data); "
                            "never downloads")
    suite.add_argument("--tasks", nargs="+", choices=SUITE_TASKS, metavar="TASK",
                       help=f"tasks to run, of {', '.join(SUITE_TASKS)} (default: all; those whose recordings "
                            "are not found are skipped, saying why; a task named here must load)")
    suite.add_argument("--seeds", type=_non_negative_int, nargs="+", default=[0, 1, 2], metavar="SEED",
                       help="seeds of pretraining and label subsets (default: 0 1 2)")
    suite.add_argument("--label-draws", type=_positive_int, default=5, metavar="K",
                       help="labelled subsets drawn per seed for each fraction below 1 (default: 5)")
    suite.add_argument("--fractions", type=_fraction, nargs="+", default=[1.0, 0.1, 0.01], metavar="F",
                       help="fractions of training labels for the probe (default: 1 0.1 0.01)")
    suite.add_argument("--candidates", nargs="+", choices=tuple(AUGMENTATION_CANDIDATES), metavar="NAME",
                       help=f"augmentation candidates, of {', '.join(AUGMENTATION_CANDIDATES)} (default: all); "
                            "'default' (the recipe as it is, 'SeqCLR pretrained') is always scored")
    suite.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE",
                       help="SeqCLRTransformer parameter overriding the suite's recipe, VALUE in JSON, e.g. "
                            "--param max_steps=100 (repeatable)")
    suite.add_argument("--jobs", "-j", type=_positive_int, metavar="N",
                       help="threads computing features and fitting probes; default: the CPUs divided by --threads "
                            "when --threads is given, else 1; 1 when SeqCLR runs on a GPU. The results do not "
                            "depend on it")
    suite.add_argument("--output", "-o", type=Path, metavar="FILE.json",
                       help="write the configuration, every row and the summary as JSON")
    suite.add_argument("--quick", action="store_true",
                       help="a smoke test: the first seed only, 1 label draw, 2 pretraining steps")
    suite.add_argument("--combine", type=Path, nargs="+", metavar="FILE.json",
                       help="run nothing: join reports that earlier runs wrote with --output (e.g. one per task or "
                            "seed, run in parallel) into one table and, with --output, one report; they must share "
                            "the recipe, candidates, fractions and label draws, and no two may hold the same task "
                            "and seed")
    suite.set_defaults(func=_suite)
    return suite


def _suite(args) -> int:
    from ..evaluation.suite import (SUITE_TASKS, check_suite_methods, load_task, run_suite, suite_summary,
                                    suite_table)

    started = time.perf_counter()
    _check_output_file(args.output, (".json",))
    if args.combine:
        return _combine(args)
    _check_data_dir(args.data_dir)
    seeds, label_draws = list(dict.fromkeys(args.seeds)), args.label_draws
    params = dict(args.param)
    if args.quick:
        seeds, label_draws = seeds[:1], QUICK["label_draws"]
        params.setdefault("max_steps", QUICK["max_steps"])
    try:  # a bad --param fails before any data is read
        candidates, recipe = check_suite_methods(args.candidates, params)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None

    tasks, skipped = [], {}
    for name in args.tasks or SUITE_TASKS:
        try:
            tasks.append(load_task(name, data_dir=args.data_dir))
        except FileNotFoundError as error:
            if args.tasks:
                raise UsageError(f"--tasks {name}: {error}") from None
            skipped[name] = str(error)
            print(f"Skipping task {name!r}: {error}", flush=True)
            continue
        _say(args, f"{name}: {tasks[-1].description}")
    if not tasks:
        raise UsageError("no task of the suite could be loaded; pass --data-dir, or --tasks with synthetic tasks.")

    rows = run_suite(tasks, seeds=seeds, fractions=args.fractions, label_draws=label_draws,
                     candidates=args.candidates, seqclr_params=params, verbose=not args.quiet,
                     n_jobs=_suite_jobs(args, recipe))
    wall = time.perf_counter() - started
    print(suite_table(rows))
    _say(args, f"Balanced accuracy on the test subjects (runs), mean over each task's splits; with several seeds "
               f"mean ± std over seeds. Columns: the label fractions with features as they are (inductive), then "
               f"standardised per subject (run). Total wall time {wall:.0f} s.")
    if args.output is not None:
        report = {
            "command": "skseqclr suite", "argv": sys.argv[1:] if args.argv is None else args.argv,
            "tasks": {task.name: task.description for task in tasks}, "skipped": skipped,
            "seqclr_params": _jsonable(recipe), "candidates": _jsonable(candidates),
            "fractions": args.fractions, "seeds": seeds, "label_draws": label_draws, "quick": args.quick,
            "rows": rows, "summary": suite_summary(rows), "wall_time_s": wall, "versions": _versions(),
        }
        _write_json(args.output, report)
        _say(args, f"Results written to {args.output}")
    return EXIT_OK


#: What reports joined by ``--combine`` must agree on.
_SHARED_SETTINGS = ("seqclr_params", "candidates", "fractions", "label_draws", "quick")


def _combine(args) -> int:
    """``--combine``: one table and report from reports of parts of the suite (tasks or seeds run apart)."""
    import json

    from ..evaluation.suite import suite_summary, suite_table

    reports = []
    for path in args.combine:
        try:
            report = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"--combine {path}: not a readable JSON report ({error}).") from None
        if not isinstance(report, dict) or report.get("command") != "skseqclr suite" or "rows" not in report:
            raise UsageError(f"--combine {path}: not a report of skseqclr suite --output.")
        reports.append(report)
    first = reports[0]
    for path, report in zip(args.combine[1:], reports[1:]):
        for key in _SHARED_SETTINGS:
            if report.get(key) != first.get(key):
                raise UsageError(f"--combine {path}: its {key} ({report.get(key)!r}) differs from that of "
                                 f"{args.combine[0]} ({first.get(key)!r}); only runs of the same settings combine.")
    seen = {}
    for path, report in zip(args.combine, reports):
        for pair in sorted({(row["task"], row["seed"]) for row in report["rows"]}):
            if pair in seen:
                raise UsageError(f"--combine: task {pair[0]!r} with seed {pair[1]} is in both {seen[pair]} and "
                                 f"{path}.")
            seen[pair] = path
    rows = [row for report in reports for row in report["rows"]]
    print(suite_table(rows))
    if args.output is not None:
        combined = {
            **{key: first.get(key) for key in ("command", *_SHARED_SETTINGS)},
            "argv": sys.argv[1:] if args.argv is None else args.argv,
            "combined_from": [{"file": path.name, "argv": report.get("argv"), "wall_time_s": report.get("wall_time_s")}
                              for path, report in zip(args.combine, reports)],
            "tasks": {name: text for report in reports for name, text in report.get("tasks", {}).items()},
            "skipped": {name: text for report in reports for name, text in report.get("skipped", {}).items()},
            "seeds": sorted({row["seed"] for row in rows}), "rows": rows, "summary": suite_summary(rows),
            "wall_time_s": sum(report.get("wall_time_s") or 0.0 for report in reports),
            "versions": first.get("versions"),
        }
        _write_json(args.output, combined)
        _say(args, f"Results written to {args.output}")
    return EXIT_OK


def _suite_jobs(args, recipe):
    """``--jobs``, else the CPUs left by ``--threads`` torch threads each, else 1; 1 when SeqCLR runs on a GPU."""
    return _parallel_jobs(args, recipe.get("device", "auto"))
