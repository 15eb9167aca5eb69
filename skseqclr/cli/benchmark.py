"""``skseqclr benchmark``: pretrain SeqCLR and compare linear probes at several label fractions."""

from __future__ import annotations

import sys
import time

import numpy as np

from ._common import (DEFAULT_CONTROL, DEFAULT_SFREQ, EXIT_OK, METHODS, PLOT_SUFFIXES, SEQCLR_LABELS, SEQCLR_METHODS,
                      UsageError, _check_output_file, _jsonable, _make_transformer, _parallel_jobs, _say,
                      _transformer_params, _versions, _write_json)
from ._data import _auto_dataset, _check_data_dir, _load, _load_own


def _benchmark(args) -> int:
    from ..evaluation.baselines import FIVE_BANDS, LogPower, LogVarianceBandPower, make_tangent_space, pyriemann_available
    from ..evaluation.probe import make_linear_probe
    from ..evaluation.protocol import evaluate_label_efficiency
    from ..evaluation.reporting import format_table, summarize

    started = time.perf_counter()
    args.sfreq = args.sfreq or DEFAULT_SFREQ
    _check_data_dir(args.data_dir)
    _check_output_file(args.output, (".json",))
    _check_output_file(args.plot, PLOT_SUFFIXES, option="--plot")
    if args.data and args.dataset:
        raise UsageError("give --dataset or --data, not both.")
    name, notice = (("data", None) if args.data else (args.dataset, None) if args.dataset
                    else _auto_dataset(args))
    if notice:
        print(notice, flush=True)
    methods = list(dict.fromkeys(args.methods))
    if "riemann" in methods and not pyriemann_available():
        methods.remove("riemann")
        _say(args, "pyriemann is not installed: skipping the Riemannian baseline (pip install pyriemann).")
    if "bands5" in methods and args.sfreq / 2 <= FIVE_BANDS[-1][1]:
        methods.remove("bands5")
        _say(args, f"--sfreq {args.sfreq:g}: the 5-band baseline needs a Nyquist frequency above "
                   f"{FIVE_BANDS[-1][1]:g} Hz; skipping it.")
    if not methods:
        raise UsageError("no method left to compare.")

    data = _load_own(args, args.quiet, labelled=True) if args.data else _load(name, args, args.quiet)
    X_train, y_train = data.part("train")
    X_test, y_test = data.part("test")
    groups_train, groups_test = data.part_groups("train"), data.part_groups("test")
    _say(args, f"Data: {data.description}",
         f"Train: {len(y_train)} windows, test: {len(y_test)} windows; classes {_class_counts(y_train)} / "
         f"{_class_counts(y_test)}")
    group_word = "subject" if name == "eegmat" else "group"
    if args.input_normalization == "group":
        from ..evaluation.normalization import GroupChannelScaler

        channel_scaler = GroupChannelScaler().fit(X_train, groups=groups_train)
        X_train = channel_scaler.transform(X_train, groups=groups_train)
        X_test = channel_scaler.transform(X_test, groups=groups_test)
        _say(args, f"Input: each {group_word}'s channels rescaled to a common amplitude with its own windows "
                   "(GroupChannelScaler)")
    params = _transformer_params(args, data.sfreq, seed=args.seeds[0])
    if data.ch_names is not None:
        params.setdefault("ch_names", data.ch_names)
    fit_params = {}
    if args.snapshot_steps:
        if "seqclr" not in methods:
            raise UsageError("--snapshot-steps needs the seqclr method (snapshots of its pretraining run).")
        fit_params[METHODS["seqclr"]] = {"snapshot_steps": tuple(args.snapshot_steps)}
    extractors = {}
    if "seqclr" in methods:
        extractors[METHODS["seqclr"]] = _make_transformer(params)
    if "untrained" in methods:
        extractors[METHODS["untrained"]] = _make_transformer({**params, "n_epochs": 0, "verbose": 0})
    if "logpower" in methods:
        extractors[METHODS["logpower"]] = LogPower()
    if "logpower_ref" in methods:
        extractors[METHODS["logpower_ref"]] = LogPower(reference=True)
    if "bands" in methods:
        extractors[METHODS["bands"]] = LogVarianceBandPower(sfreq=data.sfreq)
    if "bands5" in methods:
        extractors[METHODS["bands5"]] = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=data.sfreq)
    if "bands5_ref" in methods:
        extractors[METHODS["bands5_ref"]] = LogVarianceBandPower(bands=FIVE_BANDS, sfreq=data.sfreq, reference=True)
    if "riemann" in methods:
        extractors[METHODS["riemann"]] = make_tangent_space()

    probe = make_linear_probe(C=args.probe_c, selection=args.probe_selection)
    display = list(extractors)
    # fitted in this order: the untrained encoder's features are computed while the pretrained one trains
    fit_order = sorted(display, key=lambda label: label != METHODS["untrained"])
    rows = evaluate_label_efficiency({label: extractors[label] for label in fit_order}, X_train, y_train, X_test,
                                     y_test, fractions=args.fractions, seeds=args.seeds, probe=probe,
                                     groups_train=groups_train, groups_test=groups_test,
                                     normalizations=args.normalization, label_draws=args.label_draws,
                                     snapshots=bool(args.snapshot_steps), fit_params=fit_params,
                                     verbose=not args.quiet, n_jobs=_benchmark_jobs(args, methods))
    rows.sort(key=lambda row: next(i for i, label in enumerate(display)  # snapshots ("... @N") after their run
                                   if row["method"] == label or row["method"].startswith(label + " @")))
    if args.snapshot_steps:
        from ..evaluation.model_selection import length_by_cv_rows

        chosen = length_by_cv_rows(rows, method=METHODS["seqclr"])
        for row in chosen:
            _say(args, f"seed {row['seed']}, {row['method']}, {row['normalization']}, "
                       f"{100 * row['fraction']:g}% of labels: steps chosen {row['chosen_steps']}")
        rows += chosen
    control, control_reason = _strongest_control(rows, [METHODS[m] for m in methods if m not in SEQCLR_METHODS])
    shown = rows if args.full else [r for r in rows if r["method"].startswith(SEQCLR_LABELS)
                                    or r["method"] == control]
    wall = time.perf_counter() - started
    print(format_table(shown))
    n_methods, n_shown = len({r["method"] for r in rows}), len({r["method"] for r in shown})
    if n_shown < n_methods:
        _say(args, f"Shown: the SeqCLR rows and the strongest classic control, '{control}' ({control_reason}); "
                   f"--full prints all {n_methods} methods.")
    read = _channels_read(X_train, params) if {"seqclr", "untrained"} & set(methods) else None
    steps = sorted({r.get("n_steps") for r in rows if r["method"] == METHODS["seqclr"] and "n_steps" in r})
    probe_cs = sorted({r["probe_C"] for r in rows if "probe_C" in r})
    c_text = (f"C={args.probe_c:g}" if args.probe_c != "auto" else
              f"C chosen by grouped cross-validation"
              + (" (one-standard-error rule)" if args.probe_selection == "one_se" else "")
              + f", {_c_range(probe_cs)}")
    _say(args, f"Balanced accuracy on the test split; probe: StandardScaler + LogisticRegression "
               f"(class_weight='balanced', {c_text}); per-group z-score: features standardised per "
               f"{group_word} with its own windows; SeqCLR: {args.encoder} encoder, model_size={args.model_size}"
               + (f", {'/'.join(map(str, steps))} pretraining steps" if steps else "")
               + (f", read on {read['n_channels']} channels (feature_channels={read['setting']!r}"
                  + (f": {read['resolved']}" if read["resolved"] != read["setting"] else "") + ")" if read else "")
               + (", referenced within each kind of channel (feature_reference=True)"
                  if read and read["feature_reference"] else "")
               + f"; time: seconds per seed (fit + features + probes). Total wall time {wall:.0f} s.")
    if args.plot is not None:
        from ..evaluation.reporting import plot_label_efficiency

        plot_label_efficiency(shown).savefig(args.plot, dpi=150)
        _say(args, f"Label-efficiency figure written to {args.plot}")
    if args.output is not None:
        report = {
            "command": "skseqclr benchmark", "argv": sys.argv[1:] if args.argv is None else args.argv,
            "dataset": name, "data": data.description, "synthetic_fallback": notice is not None,
            "n_train": int(len(y_train)), "n_test": int(len(y_test)),
            "seqclr_params": _jsonable(params), "seqclr_channels_read": read,
            "input_normalization": args.input_normalization,
            "fractions": args.fractions, "seeds": args.seeds, "label_draws": args.label_draws,
            "strongest_control": {"method": control, "chosen_by": control_reason},
            "rows": rows, "summary": summarize(rows), "wall_time_s": wall, "versions": _versions(),
        }
        _write_json(args.output, report)
        _say(args, f"Results written to {args.output}")
    return EXIT_OK


def _benchmark_jobs(args, methods):
    """Parallel tasks of ``benchmark``: ``--jobs``, else the CPUs left by ``--threads`` torch threads each, else 1;
    1 when a SeqCLR encoder runs on a GPU (its transform must not be called from several threads)."""
    return _parallel_jobs(args, args.device if set(SEQCLR_METHODS) & set(methods) else None)


def _strongest_control(rows, controls):
    """The classic control the compact table shows, and how it was chosen (never from test scores)."""
    from ..evaluation.reporting import mean_probe_cv_score, strongest_by_probe_cv

    if not controls:
        return None, None
    best = strongest_by_probe_cv(rows, controls)
    if best is not None:
        return best, (f"the best mean cross-validated score of its probes on the training windows, "
                      f"{mean_probe_cv_score(rows, best):.3f}, of {len(controls)} controls")
    fallback = METHODS[DEFAULT_CONTROL] if METHODS[DEFAULT_CONTROL] in controls else controls[0]
    return fallback, "no probe chose its C by cross-validation, so the default control"


def _channels_read(X, params) -> dict:
    """The channels the SeqCLR rows read on windows ``X``: the setting, what it resolved to, and their names."""
    from ..inputs import as_window_source
    from ..recombination import feature_channel_pairs, resolve_feature_channels

    from ..options import Readout

    ch_names = list(as_window_source(X, ch_names=params.get("ch_names")).ch_names)
    setting = params.get("readout__feature_channels", Readout().feature_channels)
    resolved = resolve_feature_channels(setting, ch_names)
    names = feature_channel_pairs(setting, ch_names)[2]

    def named(value):
        return value if isinstance(value, str) else "given pairs"

    reference = params.get("readout__feature_reference", Readout().feature_reference)
    return {"setting": named(setting), "resolved": named(resolved), "n_channels": len(names), "names": names,
            "feature_reference": bool(reference)}


def _c_range(chosen):
    """'C=0.01 in every probe' or 'C from 0.0001 to 31.6 over the probes'."""
    if len(chosen) == 1:
        return f"C={chosen[0]:.3g} in every probe"
    return f"C from {min(chosen):.3g} to {max(chosen):.3g} over the probes"


def _class_counts(y):
    labels, counts = np.unique(y, return_counts=True)
    return "/".join(f"{c}" for c in counts) + f" ({'/'.join(map(str, labels))})"
