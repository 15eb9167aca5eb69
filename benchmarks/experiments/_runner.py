r"""The runner the accuracy experiments of this folder share.

An experiment is a script whose ``main(argv)`` builds its parser with :func:`make_parser` (the options every
experiment shares, then its own) and passes :func:`run` a ``score(args, data)`` function that returns the rows
of :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency` (usually through :func:`evaluate`), or
``(rows, seqclr_params)``. The runner does the rest:

* the shared options: ``--data-dir``, ``--seeds``, ``--fractions``, ``--label-draws``, ``--normalization``,
  ``--probe-c``, ``--probe-selection``, ``--threads``, ``--jobs``, ``--output``, ``--combine`` and ``--quick``;
  ``--steps``, ``--param`` and ``--device`` for experiments that pretrain; ``--windows``,
  ``--export-windows``, ``--sfreq`` and ``--window-s`` for those on the EEGMAT split;
* ``--quick``: a smoke run of the experiment's code path (:data:`QUICK`; options given explicitly win),
  whose figures mean nothing;
* ``--combine``: the table of the rows of earlier ``--output`` files (e.g. one process per seed), nothing
  computed;
* loading the data (:func:`load_eegmat` unless the experiment loads its own), the table (mean ± std over seeds:
  :func:`skseqclr.evaluation.reporting.summarize`, or the experiment's own ``report``) and the JSON report
  (:func:`write_report`: the rows with the command, its arguments, the versions, the machine and the wall
  time; ``docs/render_results.py`` renders such files);
* what several experiments share: the stored-features files (``--save-features`` / ``--load-features``),
  encoders saved as ``seed<k>.safetensors`` and their untrained twins, SeqCLR parameters by nested name.

Only public names of :mod:`skseqclr` are used.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.preprocessing import FunctionTransformer

from skseqclr.cli import parse_param, parse_probe_c
from skseqclr.evaluation.probe import PROBE_SELECTIONS, make_linear_probe
from skseqclr.evaluation.protocol import NORMALIZATIONS, evaluate_label_efficiency
from skseqclr.evaluation.reporting import format_table, summarize

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Where the recordings are looked for by default (``../shared/data`` next to the repository).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
#: ``--quick``'s defaults: one seed, all labels, one labelled subset, features as extracted, and two
#: pretraining steps (of the small encoder: :func:`seqclr_params`). An experiment may add its own
#: (``make_parser(quick=...)``).
QUICK = {"seeds": [0], "fractions": [1.0], "label_draws": 1, "normalization": ["none"], "steps": 2}
VERSIONED = ("skseqclr", "torch", "numpy", "scipy", "scikit-learn", "mne", "braindecode", "pyriemann")


class Split(NamedTuple):
    """A labelled train/test split: windows (float32 µV) or anything the extractors read, labels, groups."""

    X_train: object
    y_train: np.ndarray
    X_test: object
    y_test: np.ndarray
    groups_train: np.ndarray | None = None
    groups_test: np.ndarray | None = None


# ------------------------------------------------------------------ options
def make_parser(doc, *, seeds=(0, 1, 2), fractions=(1.0, 0.1, 0.01), label_draws=1, normalization=NORMALIZATIONS,
                data="eegmat", pretrains=False, steps=300, quick=None) -> argparse.ArgumentParser:
    """The parser of an experiment, holding the shared options with the experiment's defaults.

    ``data`` names the folder under :data:`SHARED_DATA` that ``--data-dir`` defaults to; ``"eegmat"`` also adds
    the EEGMAT split's options. ``pretrains`` adds ``--steps`` (default ``steps``), ``--param`` and
    ``--device``. ``quick``: the experiment's own ``--quick`` defaults, added to :data:`QUICK`.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.quick_defaults = {**QUICK, **(quick or {})}
    shared = parser.add_argument_group("options every experiment shares")
    shared.add_argument("--data-dir", type=Path, default=SHARED_DATA / data,
                        help="the recordings (default: %(default)s)")
    shared.add_argument("--seeds", type=int, nargs="+", default=list(seeds),
                        help="seeds of the pretraining runs and of the labelled subsets")
    shared.add_argument("--fractions", type=float, nargs="+", default=list(fractions),
                        help="fractions of the training labels the probe sees")
    shared.add_argument("--label-draws", type=int, default=label_draws,
                        help="labelled subsets drawn per seed for fractions below 1, their scores averaged "
                             "(with few labels the subset decides much of the score)")
    shared.add_argument("--normalization", nargs="+", default=list(normalization), choices=NORMALIZATIONS,
                        help="feature normalisations to score: 'none', and 'group' (each subject's features "
                             "standardised with that subject's own windows; transductive for test subjects)")
    shared.add_argument("--probe-c", type=parse_probe_c, default="auto",
                        help="C of the linear probe: a number, or 'auto' (chosen by cross-validation grouped by "
                             "subject on the labelled training windows)")
    shared.add_argument("--probe-selection", default="best", choices=PROBE_SELECTIONS,
                        help="how C='auto' is chosen: the best cross-validated score, or 'one_se': the smallest "
                             "C within one standard error of it")
    shared.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is steadier on a shared machine)")
    shared.add_argument("--jobs", type=int, default=1,
                        help="threads computing features and fitting probes (evaluate_label_efficiency's n_jobs; "
                             "1 when SeqCLR encodes on a GPU)")
    shared.add_argument("--output", type=Path, default=None, metavar="JSON",
                        help="write the rows and how they were made there")
    shared.add_argument("--combine", type=Path, nargs="+", default=None, metavar="JSON",
                        help="only print the table of the rows in these --output files (e.g. one run per seed)")
    shared.add_argument("--quick", action="store_true",
                        help="a smoke run of the code path, its figures meaningless: one seed, all labels, one "
                             "labelled subset, features as extracted and, where the experiment pretrains, 2 steps "
                             "of the small encoder; options given explicitly win")
    if data == "eegmat":
        split = parser.add_argument_group("the EEGMAT split (rest vs mental arithmetic; subjects 00-23 train, "
                                          "24-35 test)")
        split.add_argument("--sfreq", type=float, default=128.0, help="Hz (default: %(default)s)")
        split.add_argument("--window-s", type=float, default=4.0, help="s (default: %(default)s)")
        split.add_argument("--windows", type=Path, default=None, metavar="NPZ",
                           help="read the split's windows from this file (written by --export-windows) instead "
                                "of the recordings: for a machine without MNE or the data (a GPU node)")
        split.add_argument("--export-windows", type=Path, default=None, metavar="NPZ",
                           help="write the split's windows (float16, µV), labels and subjects there and stop")
    if pretrains:
        model = parser.add_argument_group("pretraining")
        model.add_argument("--steps", type=int, default=steps, help="pretraining steps (default: %(default)s)")
        model.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=JSON",
                           help="SeqCLRTransformer parameter, nested names included, e.g. --param temperature=0.5 "
                                "or --param readout__pooling='\"bands\"' (as in `skseqclr`)")
        model.add_argument("--device", default="auto")
    return parser


def parse_args(parser, argv=None) -> argparse.Namespace:
    """``parser``'s arguments; with ``--quick``, its defaults (:data:`QUICK`) where an option is not given."""
    args = parser.parse_args(argv)
    if args.quick:
        known = vars(args)
        parser.set_defaults(**{key: list(value) if isinstance(value, list) else value
                               for key, value in parser.quick_defaults.items() if key in known})
        args = parser.parse_args(argv)
    return args


# ------------------------------------------------------------------ running
def run(parser, argv, score, *, load=None, report=None, check=None):
    """Parse, load, score, print the table and write the report; return the rows (None when nothing was scored).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        From :func:`make_parser`, with the experiment's own options.
    argv : list of str or None
        The arguments (None: the command line's).
    score : callable
        ``score(args, data)``: the rows, ``(rows, seqclr_params)`` (the SeqCLR configuration evaluated, for the
        report), or None when the run only stores something (e.g. encoders).
    load : callable or None
        ``load(args)``: the data ``score`` gets; None is :func:`load_eegmat`. Returning None ends the run
        (e.g. after ``--export-windows``).
    report : callable or None
        ``report(rows)`` prints the table; None prints :func:`summarize`'s.
    check : callable or None
        ``check(args)`` raises SystemExit for options that do not go together, before anything is loaded.
    """
    argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    args = parse_args(parser, argv)
    report = report or print_summary
    if args.combine:
        report([row for path in args.combine for row in json.loads(Path(path).read_text())["rows"]])
        return None
    if check is not None:
        check(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    data = (load or load_eegmat)(args)
    result = None if data is None else score(args, data)
    rows, config = result if isinstance(result, tuple) else (result, None)
    if rows is not None:
        print()
        report(rows)
    wall_time_s = time.time() - started
    print(f"\nwall time {wall_time_s:.0f} s; torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} thread(s)")
    if rows is not None and args.output:
        write_report(args.output, rows, args=args, argv=argv, script=inspect.getfile(score),
                     wall_time_s=wall_time_s, seqclr_params=config)
    return rows


def require(option):
    """A ``check`` for :func:`run` that exits when ``option`` (e.g. ``"--load-dir"``) was not given."""
    attribute = option.lstrip("-").replace("-", "_")

    def check(args):
        if getattr(args, attribute) is None:
            raise SystemExit(f"{option} is needed (or --combine).")
    return check


def print_summary(rows) -> None:
    """The table of ``rows``: each method, normalisation and fraction, mean ± std over seeds."""
    print(format_table(summarize(rows)))


def seqclr_params(args, **params):
    """Flat parameters of the SeqCLR an experiment pretrains: its own ``params``, the small encoder under
    ``--quick``, then ``--param`` (which wins)."""
    return {**params, **({"model_size": "small"} if args.quick else {}), **dict(args.param)}


def make_probe(args):
    """The linear probe of ``--probe-c`` and ``--probe-selection``."""
    return make_linear_probe(C=args.probe_c, selection=args.probe_selection)


def evaluate(args, extractors, split, *, seeds=None, probe=None, **kwargs) -> list[dict]:
    """:func:`~skseqclr.evaluation.protocol.evaluate_label_efficiency` of ``extractors`` on ``split`` with the
    shared options (fractions, label draws, normalisations, probe, jobs); ``seeds`` default ``--seeds``."""
    return evaluate_label_efficiency(
        extractors, split.X_train, split.y_train, split.X_test, split.y_test, fractions=args.fractions,
        seeds=args.seeds if seeds is None else seeds, probe=make_probe(args) if probe is None else probe,
        groups_train=split.groups_train, groups_test=split.groups_test, normalizations=args.normalization,
        label_draws=args.label_draws, n_jobs=args.jobs, **kwargs)


def versions() -> dict:
    """Python's version and each installed package of :data:`VERSIONED`'s."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def machine() -> dict:
    """The CPU, its cores, torch's threads and the GPU (if torch sees one)."""
    described = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                 "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        described["cuda_device"] = torch.cuda.get_device_name(0)
    return described


def write_report(path, rows, *, args, argv, script, wall_time_s, seqclr_params=None) -> None:
    """Write ``rows`` to ``path`` as JSON with how they were made: ``command`` (to run again from the
    repository root), ``argv``, ``versions``, ``machine``, ``wall_time_s``, ``args`` (every option, defaults
    included), ``seqclr_params`` (when given) and ``rows``."""
    script = Path(script).resolve()
    shown = script.relative_to(REPO_ROOT) if script.is_relative_to(REPO_ROOT) else script
    payload = {"command": shlex.join(["python", str(shown), *argv]), "argv": list(argv), "versions": versions(),
               "machine": machine(), "wall_time_s": round(wall_time_s, 1),
               "args": {key: str(value) for key, value in vars(args).items()}}
    if seqclr_params is not None:
        payload["seqclr_params"] = seqclr_params
    payload["rows"] = rows
    Path(path).write_text(json.dumps(payload, indent=1, default=str))


# ------------------------------------------------------------------ the EEGMAT split
def load_eegmat(args) -> Split | None:
    """The EEGMAT split of ``--windows``, or of the recordings in ``--data-dir``; with ``--export-windows``,
    written there (and None: nothing to score)."""
    if args.windows:
        split = load_windows(args.windows, args.sfreq)
    else:
        split = eegmat_split(args.data_dir, args.sfreq, args.window_s)
    if args.export_windows:
        export_windows(args.export_windows, *split, args.sfreq)
        print(f"wrote {args.export_windows}: {len(split.y_train)} training and {len(split.y_test)} test windows")
        return None
    X_train = split.X_train
    print(f"EEGMAT: train {len(split.y_train)} windows (subjects 00-23), test {len(split.y_test)} (24-35), "
          f"{X_train.shape[1]} channels x {X_train.shape[2]} samples at {args.sfreq:g} Hz", flush=True)
    return split


def eegmat_split(path, sfreq, window_s) -> Split:
    """EEGMAT's windows in µV (:func:`skseqclr.datasets.fetch_eegmat`): subjects 00-23 train, 24-35 test."""
    from skseqclr.datasets import fetch_eegmat

    dataset = fetch_eegmat(path, sfreq=sfreq, window_size_s=window_s, download=False)
    X = windows_in_microvolts(dataset)
    table = dataset.get_metadata()
    y, subject = table["target"].to_numpy(), table["subject"].to_numpy()
    train, test = subject <= 23, subject >= 24
    return Split(X[train], y[train], X[test], y[test], subject[train], subject[test])


def eegmat_names(X):
    """EEGMAT's channel names for its 19-channel windows (numpy arrays carry none, as MNE and braindecode input
    would), else None."""
    from skseqclr.datasets import EEGMAT_CHANNELS

    return list(EEGMAT_CHANNELS) if X.shape[1] == len(EEGMAT_CHANNELS) else None


def export_windows(path, X_train, y_train, X_test, y_test, groups_train, groups_test, sfreq) -> None:
    """The split's windows for a machine without MNE or the recordings (a GPU node). float16 in µV: a relative
    precision of 5e-4 (0.05 µV at 100 µV), far below EEG's noise, and half the size, so that the file
    travels where 64 MB is the limit."""
    np.savez(path, X_train=X_train.astype(np.float16), y_train=y_train, X_test=X_test.astype(np.float16),
             y_test=y_test, groups_train=groups_train, groups_test=groups_test, sfreq=sfreq)


def load_windows(path, sfreq) -> Split:
    """The split written by :func:`export_windows` (windows back in float32); refuses another ``sfreq``."""
    data = np.load(path)
    if float(data["sfreq"]) != sfreq:
        raise SystemExit(f"--windows {path} holds windows at {float(data['sfreq']):g} Hz, not --sfreq {sfreq:g}.")
    return Split(*(data[key].astype(np.float32) if key.startswith("X") else data[key]
                   for key in ("X_train", "y_train", "X_test", "y_test", "groups_train", "groups_test")))


# ------------------------------------------------------------------ other recordings
def windows_in_microvolts(windows) -> np.ndarray:
    """Every window of a braindecode windows dataset (the loaders' volts) as one float32 array in µV."""
    from skseqclr.inputs import as_window_source

    source = as_window_source(windows)
    return source.read(np.arange(source.n_windows)) * 1e6


def eegbci_folder(path):
    """The eegbci folder under ``path`` for :mod:`skseqclr.datasets`' loaders; exits if there is none."""
    from skseqclr.datasets import find_eegbci

    folder = find_eegbci(path)
    if folder is None:
        raise SystemExit(f"No eegbci recordings under {path} (expected MNE-eegbci-data, see ../shared/data/README.md).")
    return folder


def eegbci_continuous_windows(path, runs, sfreq, window_s, band, subject=1):
    """Consecutive windows of whole eegmmidb runs in µV (:func:`skseqclr.datasets.load_eegbci_continuous`, each
    run band-passed to ``band`` Hz before cutting), and each window's run."""
    from skseqclr.datasets import load_eegbci_continuous

    windows = load_eegbci_continuous(subject, runs, eegbci_folder(path), window_size_s=window_s, sfreq=sfreq,
                                     l_freq=band[0], h_freq=band[1])
    run = np.concatenate([[ds.description["run"]] * len(ds) for ds in windows.datasets])
    return windows_in_microvolts(windows), run


def band_power_controls(sfreq) -> dict:
    """The classic per-channel controls: log-power, and log-variance in three and in five bands."""
    from skseqclr.evaluation.baselines import FIVE_BANDS, LogPower, LogVarianceBandPower

    return {"log-power": LogPower(), "log-variance bands": LogVarianceBandPower(sfreq=sfreq),
            "log-variance 5 bands": LogVarianceBandPower(bands=FIVE_BANDS, sfreq=sfreq)}


# ------------------------------------------------------------------ encoders
def make_seqclr(**params):
    """A :class:`~skseqclr.SeqCLRTransformer` of flat parameters: the settings of its preprocessing, readout
    and checkpointing by nested name (``readout__pooling=...``, as ``--param`` gives them)."""
    from skseqclr import SeqCLRTransformer

    nested = {key: value for key, value in params.items() if "__" in key}
    return SeqCLRTransformer(**{k: v for k, v in params.items() if k not in nested}).set_params(**nested)


def flat_params(source) -> dict:
    """Every parameter of a transformer, flat (what :func:`make_seqclr` takes): the sub-estimators' settings by
    nested name, their defaults included. ``source`` is a transformer, or parameters recorded by a run (a
    results or features file), in today's names or the flat names of earlier versions."""
    from skseqclr.options import OPTION_CLASSES
    from skseqclr.persistence import upgrade_params

    if isinstance(source, dict):
        params = upgrade_params(source)
        for name in OPTION_CLASSES:
            settings = params.pop(name, None)
            params.update({f"{name}__{key}": value for key, value in (settings or {}).items()})
        source = make_seqclr(**params)
    flat = {key: value for key, value in source.get_params(deep=False).items() if key not in OPTION_CLASSES}
    for name, options_class in OPTION_CLASSES.items():
        options = getattr(source, name)
        flat.update({f"{name}__{key}": value
                     for key, value in (options_class() if options is None else options).get_params().items()})
    return flat


def load_pretrained(directory, seed, **params):
    """The encoder saved as ``seed<seed>.safetensors`` in ``directory`` (``--save-dir``), with ``params`` set."""
    from skseqclr import SeqCLRTransformer

    return SeqCLRTransformer.load(Path(directory) / f"seed{seed}.safetensors", **params)


def untrained_twin(pretrained, seed, X):
    """``pretrained``'s encoder before any step: the same parameters, ``n_epochs=0``, the same seed (so the
    same initial weights), fitted on ``X`` (its input scale)."""
    return make_seqclr(**{**flat_params(pretrained), "n_epochs": 0, "max_steps": None,
                          "random_state": seed}).fit(X)


# ------------------------------------------------------------------ stored features
def stored_features(features_train, features_test, X_train, X_test):
    """An extractor whose ``transform`` returns features computed elsewhere (``--load-features``) for the
    very window arrays they were computed from."""
    def transform(X):
        if X is X_train:
            return features_train
        if X is X_test:
            return features_test
        raise ValueError("stored features exist only for the training and test windows of this split")

    return FunctionTransformer(transform)


def _prefix(name):
    """The .npz key prefix of a row's encoder: pretrained, untrained, or step<N> for a snapshot."""
    return name.split()[-1].replace("@", "step")


def save_features(path, encoders, X_train, X_test, params, pretrain_wall_s) -> None:
    """Every encoder's features of the training and test windows (rows' names as in ``encoders``), with the
    parameters, each encoder's steps and the pretrained encoder's loss history."""
    features = {}
    for name, encoder in encoders.items():
        prefix = _prefix(name)
        features[f"{prefix}_train"] = encoder.transform(X_train).astype(np.float32)
        features[f"{prefix}_test"] = encoder.transform(X_test).astype(np.float32)
        features[f"{prefix}_n_steps"] = encoder.n_steps_
    pretrained = encoders["SeqCLR pretrained"]
    np.savez(path, **features, names=np.array(list(encoders)), params=json.dumps(params, default=str),
             pretrain_wall_s=pretrain_wall_s, final_loss=pretrained.history_[-1]["loss"],
             loss_history=np.array([entry["loss"] for entry in pretrained.history_]))


def load_features(path, X_train, X_test):
    """(extractors, their step counts, the file's metadata) of a file written by :func:`save_features`."""
    data = np.load(path)
    names = [str(name) for name in data["names"]]
    extractors = {name: stored_features(data[f"{_prefix(name)}_train"], data[f"{_prefix(name)}_test"], X_train,
                                        X_test) for name in names}
    n_steps = {name: int(data[f"{_prefix(name)}_n_steps"]) for name in names}
    stored = {"params": json.loads(str(data["params"])), "pretrain_wall_s": float(data["pretrain_wall_s"]),
              "final_loss": float(data["final_loss"])}
    return extractors, n_steps, stored
