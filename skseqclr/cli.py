"""The ``skseqclr`` command: benchmark, pretrain and extract SeqCLR features from the shell.

Subcommands
-----------
``skseqclr benchmark``
    Pretrain SeqCLR on the training windows of a dataset (no labels), then
    score a linear probe (standardisation + logistic regression) on frozen
    features at several label fractions, on a held-out test split, next to:
    the same encoder untrained (``n_epochs=0``, same seed, so the same initial
    weights), per-channel log power, log-variance band power (4-8, 8-13,
    13-30 Hz), and the Riemannian tangent space if pyriemann is installed.
    Prints the SeqCLR rows and the strongest classic control (the one whose
    probes cross-validate best on the training windows), each inductively
    and per-subject z-scored: balanced accuracy per fraction, mean ± std
    over seeds, wall time; ``--full`` prints every method, ``--output``
    writes every row to JSON, ``--plot`` draws the label-efficiency figure.
``skseqclr pretrain``
    Pretrain on one or more datasets and save the encoder
    (``encoder.safetensors``, loadable with ``SeqCLRTransformer.load``) and
    ``config.json`` in an output folder. Runs under ``torchrun``; only rank 0
    writes files and prints.
``skseqclr features``
    Load saved weights and write the features of a dataset's windows to
    ``.npy`` (with a ``.metadata.csv`` beside it) or ``.parquet``.

Datasets and splits
-------------------
``eegmat`` (rest vs mental arithmetic): split by subject, subjects 00-23
train and 24-35 test (of those loaded, when both sides have some); otherwise
the first ``round(2/3 n)`` of the ``n`` loaded subjects (sorted) train and the
rest test. ``eegbci`` (motor imagery): with one subject, its
last run is the test set; with several, the first ``round(2/3 n)`` subjects
train. ``pretrain --eegbci-windows runs`` reads eegbci's whole runs (1-14 by
default) as consecutive unlabelled windows instead of the windows after each
cue; with one subject every run given is in the train split (choose the
runs with ``--runs``).
``synthetic``: :func:`skseqclr.datasets.make_synthetic_eeg` (8 channels,
10 Hz vs 20 Hz rhythms), the first two thirds train.
``--data-dir`` may point at the dataset's folder or at a folder holding
``eegmat/`` and ``eegbci/``; ``--subjects`` applies to every dataset named.
``benchmark`` without ``--dataset`` uses eegmat or eegbci if found there
(without ``--data-dir``: in ``$SKSEQCLR_DATA``, else ``~/skseqclr_data``) and
otherwise runs on synthetic data, saying so in its first line (it never
downloads unless ``--dataset`` names a dataset).

Speed
-----
On a CPU shared with other jobs, ``--threads 1`` can be several times faster
than torch's default of one thread per core: the recurrent projector's many
small steps make oversubscribed threads wait on each other. ``benchmark``
then runs ``--jobs`` tasks at once (by default the CPUs divided by
``--threads``): features and probes of fitted extractors while the next one
fits.

Exit status
-----------
0 success; 1 runtime failure (the error is printed, ``--debug`` adds the
traceback); 2 usage error (bad option, unknown dataset, missing folder,
unsupported output format); 130 interrupted with Ctrl-C outside pretraining
(Ctrl-C during pretraining stops it early and the command goes on).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .training import distributed as D
from ._version import __version__

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DATASETS = ("eegmat", "eegbci", "synthetic")
EEGBCI_WINDOWS = ("cues", "runs")
EEGBCI_CUE_RUNS = [4, 8, 12]
METHODS = {
    "seqclr": "SeqCLR pretrained",
    "untrained": "SeqCLR untrained",
    "logpower": "log-power",
    "logpower_ref": "log-power, channel-referenced",
    "bands": "log-variance bands",
    "bands5": "log-variance 5 bands",
    "bands5_ref": "log-variance 5 bands, channel-referenced",
    "riemann": "Riemannian tangent space",
}
SEQCLR_METHODS = ("seqclr", "untrained")
SEQCLR_LABELS = tuple(METHODS[m] for m in SEQCLR_METHODS)  # with their snapshots' and length-by-CV rows
#: The control of the compact table when no probe cross-validated (a fixed --probe-c).
DEFAULT_CONTROL = "bands5_ref"
PLOT_SUFFIXES = (".png", ".pdf", ".svg")
WEIGHTS_FILE, CONFIG_FILE = "encoder.safetensors", "config.json"
DEFAULT_SFREQ = 128.0  # Hz: keeps EEG up to 64 Hz and makes 4-s windows 512 samples


class UsageError(Exception):
    """A problem with the command line (exit status 2)."""


# ------------------------------------------------------------------- parsing

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a label fraction in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a label fraction in (0, 1], got {text!r}")
    return value


def _probe_c(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a positive number, got {text!r}")
    return value


def _subjects(text):
    """``"0-23"``, ``"1,4,7"`` or ``"0-3,9"`` -> sorted list of int."""
    subjects = set()
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                low, high = part.split("-", 1)
                subjects.update(range(int(low), int(high) + 1))
            else:
                subjects.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected subjects like '0-23' or '1,4,7', got {text!r}") from None
    if not subjects:
        raise argparse.ArgumentTypeError("no subjects given")
    return sorted(subjects)


def _param(text):
    """``KEY=VALUE`` with VALUE parsed as JSON when it parses (lists become tuples)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, list):
        value = tuple(value)
    return key.strip(), value


def _data_options():
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("data")
    group.add_argument("--data-dir", type=Path, metavar="DIR",
                       help="folder of the dataset (eegmat: the EDF files; eegbci: MNE's path holding "
                            "MNE-eegbci-data), or a folder holding eegmat/ and eegbci/")
    group.add_argument("--subjects", type=_subjects, metavar="LIST",
                       help="subjects to load, e.g. '0-23' or '1,4,7' (default: all present for eegmat, 1 for eegbci)")
    group.add_argument("--runs", type=_subjects, metavar="LIST",
                       help="eegbci runs (default: 4,8,12, imagined left vs right fist; for 'pretrain "
                            "--eegbci-windows runs', all 14)")
    group.add_argument("--window-s", type=_positive_float, default=4.0, metavar="S",
                       help="window length in seconds (default: 4)")
    group.add_argument("--sfreq", type=_positive_float, metavar="HZ",
                       help="resample recordings to this rate in Hz (default: 128; for 'features', the rate "
                            "the encoder was pretrained at)")
    group.add_argument("--n-windows", type=_positive_int, default=600, metavar="N",
                       help="number of synthetic windows (default: 600)")
    group.add_argument("--no-download", action="store_true",
                       help="never download; fail if the files are not local")
    return parser


def _model_options(epochs, max_steps, batch_size):
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("SeqCLR")
    group.add_argument("--encoder", choices=("conv", "recurrent"), default="conv",
                       help="encoder architecture (default: conv)")
    group.add_argument("--model-size", choices=("small", "paper"), default="small",
                       help="layer sizes: 'small' for CPUs, 'paper' as in the paper (default: small)")
    group.add_argument("--epochs", type=_non_negative_int, default=epochs, metavar="N",
                       help=f"pretraining epochs (default: {epochs})")
    group.add_argument("--max-steps", type=_non_negative_int, default=max_steps, metavar="N",
                       help=f"stop pretraining after N steps (default: {max_steps})")
    group.add_argument("--batch-size", type=_positive_int, default=batch_size, metavar="N",
                       help=f"single channels per pretraining step (default: {batch_size})")
    group.add_argument("--lr", type=_positive_float, default=1e-3, help="learning rate (default: 1e-3)")
    group.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', 'cuda:1', ... (default: auto)")
    group.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                       help="autocast precision (default: auto: bf16 on CPUs with native bf16, else fp32, GPUs included)")
    group.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                       help="any other SeqCLRTransformer parameter, VALUE in JSON, e.g. "
                            "--param scaling=channel --param 'amplitude_scale=[0.8, 1.25]' (repeatable)")
    return parser


def _common_options():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or information lines")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    parser.add_argument("--threads", type=_positive_int, metavar="N",
                        help="CPU threads for torch (default: torch's choice); on a busy machine 1 can be "
                             "much faster than oversubscribed cores")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser of ``skseqclr``."""
    parser = argparse.ArgumentParser(
        prog="skseqclr",
        description="SeqCLR self-supervised EEG features: benchmark, pretrain, extract features.",
        epilog="Exit status: 0 success, 1 runtime failure, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"skseqclr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    common, data = _common_options(), _data_options()

    bench = commands.add_parser(
        "benchmark", parents=[common, data, _model_options(epochs=1, max_steps=None, batch_size=256)],
        help="pretrain SeqCLR and compare linear probes at several label fractions with baselines",
        description="Pretrain SeqCLR on the training split without labels, then score a linear probe "
                    "(StandardScaler + LogisticRegression) on frozen features at several label fractions, "
                    "next to the same encoder untrained and classic baselines, on the same split.",
    )
    bench.add_argument("--dataset", choices=DATASETS,
                       help="dataset (default: eegmat or eegbci if found in --data-dir or $SKSEQCLR_DATA, "
                            "else synthetic)")
    bench.add_argument("--fractions", type=_fraction, nargs="+", default=[1.0, 0.1, 0.01], metavar="F",
                       help="fractions of training labels for the probe (default: 1 0.1 0.01)")
    bench.add_argument("--seeds", type=_non_negative_int, nargs="+", default=[0], metavar="SEED",
                       help="seeds of pretraining and label subsets; more seeds give mean ± std (default: 0)")
    bench.add_argument("--label-draws", type=_positive_int, default=1, metavar="K",
                       help="labelled subsets drawn per seed for each fraction below 1, their scores averaged "
                            "(default: 1); with few labels the subset decides much of the score")
    bench.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=list(METHODS), metavar="M",
                       help=f"methods to compare, of {', '.join(METHODS)} (default: all; riemann needs pyriemann)")
    bench.add_argument("--probe-c", type=_probe_c, default="auto", metavar="C",
                       help="C of the probe's logistic regression, or 'auto' (default): chosen by cross-validation "
                            "on the labelled training windows, folds grouped by subject (by run for one eegbci "
                            "subject)")
    bench.add_argument("--probe-selection", choices=("best", "one_se"), default="best",
                       help="how C='auto' is chosen: the best cross-validated score (default), or one_se: the "
                            "smallest C within one standard error of it (stronger regularisation when few labels "
                            "make the folds' scores noisy)")
    bench.add_argument("--normalization", nargs="+", choices=("none", "group"), default=["none", "group"],
                       metavar="N",
                       help="feature normalisations to score: none, and group (each subject's (run's) features "
                            "standardised with its own windows, test subjects included, labels unused); "
                            "default: both")
    bench.add_argument("--input-normalization", choices=("none", "group"), default="none",
                       help="group: before pretraining and every extractor, rescale each subject's (run's) "
                            "channels to a common amplitude with its own windows (GroupChannelScaler; test "
                            "subjects included, labels unused); default: none")
    bench.add_argument("--snapshot-steps", type=_non_negative_int, nargs="+", metavar="N",
                       help="also score the pretrained encoder as it was after N steps of the same run (rows "
                            "'SeqCLR pretrained @N'), and the length chosen by the probe's grouped "
                            "cross-validation on the labelled training windows (rows '..., length by CV'); "
                            "0 is the untrained encoder. Under the default cosine schedule a snapshot is a run "
                            "cut mid-decay; --param lr_schedule=constant makes the snapshots runs of those lengths")
    bench.add_argument("--output", "-o", type=Path, metavar="FILE.json",
                       help="write configuration, every row (all methods) and the summary as JSON")
    bench.add_argument("--jobs", "-j", type=_positive_int, metavar="N",
                       help="tasks run in parallel threads (features of an extractor on the training or the test "
                            "windows, then its probes) while extractors fit one after another; default: the CPUs "
                            "divided by --threads when --threads is given (so --threads 1 on 2 cores runs 2), "
                            "else 1; 1 when SeqCLR runs on a GPU. The results do not depend on it")
    bench.add_argument("--full", action="store_true",
                       help="print every method's rows; by default the table shows the SeqCLR rows (pretrained, "
                            "untrained) and the strongest classic control, chosen by the probe's cross-validated "
                            "score on the training windows (never the test split)")
    bench.add_argument("--plot", type=Path, metavar="FILE.png",
                       help="write a label-efficiency figure (balanced accuracy against label fraction, one line "
                            "per method of the printed table, one panel per normalisation); .png, .pdf or .svg")
    bench.set_defaults(func=_benchmark)

    pre = commands.add_parser(
        "pretrain", parents=[common, data, _model_options(epochs=10, max_steps=None, batch_size=256)],
        help="pretrain SeqCLR on one or more datasets and save the encoder",
        description="Pretrain a SeqCLR encoder without labels on one or more datasets (pooled, any channel "
                    "counts) and write OUTPUT/encoder.safetensors and OUTPUT/config.json. Under torchrun, "
                    "every rank trains on its shard and rank 0 alone writes.",
    )
    pre.add_argument("--dataset", choices=DATASETS, nargs="+", required=True, metavar="NAME",
                     help=f"one or more of {', '.join(DATASETS)}")
    pre.add_argument("--split", choices=("all", "train", "test"), default="all",
                     help="windows to use: all, or the benchmark's train or test split (default: all)")
    pre.add_argument("--eegbci-windows", choices=EEGBCI_WINDOWS, default="cues",
                     help="eegbci windows: 'cues', the benchmark's labelled windows from each cue, or 'runs', "
                          "whole runs cut into consecutive windows (rest, baselines and cues alike; "
                          "load_eegbci_continuous), the unlabelled EEG pretraining can use (default: cues)")
    pre.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    pre.add_argument("--checkpoint-dir", type=Path, metavar="DIR", help="write training checkpoints here")
    pre.add_argument("--checkpoint-every", type=_positive_int, metavar="STEPS",
                     help="steps between checkpoints")
    pre.add_argument("--resume", action="store_true",
                     help="continue from the checkpoint in --checkpoint-dir (needs it), if there is one; only the "
                          "run that wrote it continues: other options or data are refused with the differences")
    pre.add_argument("--snapshot-steps", type=_non_negative_int, nargs="+", metavar="N",
                     help="also write the encoder as it was after N steps of this run, to OUTPUT/step-N/ "
                          "(0 is the initial, untrained network); for 'skseqclr features --weights "
                          "OUTPUT/step-N' or SeqCLRTransformer.load, to compare lengths with a probe")
    pre.add_argument("--output", "-o", type=Path, required=True, metavar="DIR",
                     help="folder for encoder.safetensors and config.json")
    pre.set_defaults(func=_pretrain, check_usage=lambda args: _check_pretrain_usage(pre, args))

    feat = commands.add_parser(
        "features", parents=[common, data],
        help="write SeqCLR features of a dataset with saved weights",
        description="Load weights written by 'skseqclr pretrain' (or SeqCLRTransformer.save) and write the "
                    "features of a dataset's windows to .npy (plus FILE.metadata.csv) or .parquet.",
    )
    feat.add_argument("--weights", type=Path, required=True, metavar="PATH",
                      help="encoder.safetensors, or the folder written by 'skseqclr pretrain'")
    feat.add_argument("--dataset", choices=DATASETS, required=True)
    feat.add_argument("--split", choices=("all", "train", "test"), default="all",
                      help="windows to encode (default: all)")
    feat.add_argument("--device", default="auto", help="device for encoding (default: auto)")
    feat.add_argument("--batch-size", type=_positive_int, metavar="N",
                      help="channels encoded at once (default: 256, SeqCLRTransformer's; a weights file "
                           "carries the model, not the settings of the run that wrote it)")
    feat.add_argument("--output", "-o", type=Path, required=True, metavar="FILE",
                      help="FILE.npy or FILE.parquet")
    feat.set_defaults(func=_features)
    return parser


# ---------------------------------------------------------------------- data

@dataclass
class Split:
    """Windows of a dataset with labels and the train/test assignment."""

    name: str
    X: object
    y: np.ndarray
    groups: np.ndarray
    train: np.ndarray
    description: str
    metadata: object = None
    sfreq: float | None = None
    unsplittable: str | None = None

    def part(self, which):
        """``(X, y)`` of ``"train"``, ``"test"`` or ``"all"``."""
        if which == "all":
            return self.X, self.y
        mask = self._mask(which)
        return _subset(self.X, mask), self.y[mask]

    def part_groups(self, which):
        """The groups (subjects, or runs) of the windows of :meth:`part`."""
        return self.groups if which == "all" else self.groups[self._mask(which)]

    def _mask(self, which):
        if self.unsplittable:
            raise UsageError(self.unsplittable)
        return self.train if which == "train" else ~self.train


def _subset(X, mask):
    indices = np.flatnonzero(mask)
    if isinstance(X, np.ndarray):
        return X[indices]
    from braindecode.datasets import BaseConcatDataset

    # Windows of one recording are contiguous; keep whole recordings.
    keep, start = [], 0
    for dataset in X.datasets:
        stop = start + len(dataset)
        if mask[start:stop].all():
            keep.append(dataset)
        elif mask[start:stop].any():
            raise RuntimeError("a recording straddles the train/test split")
        start = stop
    return BaseConcatDataset(keep)


def _proportional_split(subjects, train_subjects=None):
    subjects = sorted(set(subjects))
    if len(subjects) < 2:
        raise UsageError(f"splitting by subject needs at least 2 subjects, got {subjects}; "
                         "load more subjects (--subjects).")
    if train_subjects is not None and set(train_subjects) & set(subjects) and set(subjects) - set(train_subjects):
        return [s for s in subjects if s in train_subjects]
    n_train = min(len(subjects) - 1, max(1, round(2 * len(subjects) / 3)))
    return subjects[:n_train]


def _check_data_dir(path):
    if path is not None and not path.exists():
        raise UsageError(f"--data-dir {path} does not exist.")
    if path is not None and not path.is_dir():
        raise UsageError(f"--data-dir {path} is not a folder.")


def _load(name, args, quiet) -> Split:
    from .inputs import extract_targets

    if name == "synthetic":
        from .datasets import make_synthetic_eeg

        try:
            X, y = make_synthetic_eeg(n_windows=args.n_windows, n_channels=8,
                                      n_times=int(round(args.window_s * args.sfreq)), sfreq=args.sfreq,
                                      random_state=0)
        except ValueError as exc:
            raise UsageError(f"synthetic data: {exc}") from None
        train = np.arange(len(y)) < round(2 * len(y) / 3)
        return Split(name, X, y, np.where(train, 0, 1), train,
                     f"synthetic: {len(y)} windows (first 2/3 train), 8 channels, {args.window_s:g} s at "
                     f"{args.sfreq:g} Hz, 10 Hz vs 20 Hz rhythms (make_synthetic_eeg)", sfreq=args.sfreq)
    if name == "eegmat":
        from .datasets import EEGMAT_SUBJECTS, fetch_eegmat, find_eegmat

        folder = find_eegmat(args.data_dir)
        subjects = args.subjects
        if subjects is None and folder is not None:
            present = {int(p.name[7:9]) for p in folder.glob("Subject*_1.edf")}
            subjects = sorted(present & {int(p.name[7:9]) for p in folder.glob("Subject*_2.edf")})
        if subjects is not None and any(s not in EEGMAT_SUBJECTS for s in subjects):
            raise UsageError(f"eegmat has subjects 0-35, got {subjects}.")
        path = folder if folder is not None else args.data_dir
        X = fetch_eegmat(path, subjects, window_size_s=args.window_s, sfreq=args.sfreq, preload=True,
                         download=not args.no_download, verbose=not quiet)
        metadata = X.get_metadata()
        groups = metadata["subject"].to_numpy()
        train_subjects = _proportional_split(groups, train_subjects=range(24))
        train = np.isin(groups, train_subjects)
        test_subjects = sorted(set(groups) - set(train_subjects))
        description = (f"eegmat: {len(set(groups))} subjects, train {_ranges(train_subjects)}, "
                       f"test {_ranges(test_subjects)}; 19 channels, {args.window_s:g}-s windows at {args.sfreq:g} Hz")
        return Split(name, X, np.asarray(extract_targets(X)), groups, train, description, metadata, args.sfreq)
    if name == "eegbci":
        from .datasets import EEGBCI_RUNS, find_eegbci, load_eegbci

        path = find_eegbci(args.data_dir)
        if args.data_dir is not None and path is None:
            path = args.data_dir  # MNE downloads into it
        subjects = args.subjects or [1]
        if getattr(args, "eegbci_windows", "cues") == "runs":
            return _load_eegbci_runs(subjects, list(args.runs or EEGBCI_RUNS), path, args, quiet)
        runs = args.runs or EEGBCI_CUE_RUNS
        X = load_eegbci(subjects, runs=runs, path=path, tmin=0.0, tmax=args.window_s, sfreq=args.sfreq,
                        verbose=not quiet)
        metadata = X.get_metadata()
        run_of_window = _run_of_window(X)
        subject_of_window = metadata["subject"].to_numpy()
        unsplittable = None
        if len(subjects) == 1:
            if len(set(runs)) < 2:
                unsplittable = "eegbci with one subject splits by run: give at least 2 --runs."
            groups = run_of_window
            train = run_of_window != max(runs)
            split = f"train runs {sorted(set(runs) - {max(runs)})}, test run {max(runs)}"
        else:
            groups = subject_of_window
            train, split = _split_by_subject(groups)
        description = (f"eegbci: subject(s) {_ranges(subjects)}, runs {runs}, {split}; "
                       f"64 channels, {args.window_s:g}-s windows from each cue at {args.sfreq:g} Hz")
        return Split(name, X, np.asarray(extract_targets(X)), groups, train, description, metadata, args.sfreq,
                     unsplittable)
    raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}.")


def _load_eegbci_runs(subjects, runs, path, args, quiet) -> Split:
    """eegmmidb's whole runs cut into consecutive, unlabelled windows, for ``pretrain``."""
    from .datasets import EEGBCI_RUNS, load_eegbci_continuous

    if any(r not in EEGBCI_RUNS for r in runs):
        raise UsageError(f"eegbci has runs 1-14, got {runs}.")
    X = load_eegbci_continuous(subjects, runs=runs, path=path, window_size_s=args.window_s, sfreq=args.sfreq,
                               verbose=not quiet)
    subject_of_window = X.get_metadata()["subject"].to_numpy()
    if len(subjects) == 1:
        # Splitting one subject by run would put the benchmark's test run (12) on either side depending on
        # --runs; all the runs given are pretraining material instead, so leaving out run 12 is a visible choice.
        groups = _run_of_window(X)  # as for the cue windows
        train = np.ones(len(subject_of_window), dtype=bool)
        split = "every run given in the train split"
    else:
        groups = subject_of_window
        train, split = _split_by_subject(groups)
    description = (f"eegbci whole runs: subject(s) {_ranges(subjects)}, runs {_ranges(runs)}, {split}; "
                   f"64 channels, consecutive {args.window_s:g}-s windows at {args.sfreq:g} Hz, no labels")
    return Split("eegbci", X, np.full(len(subject_of_window), -1), groups, train, description, sfreq=args.sfreq)


def _run_of_window(X):
    """The run of every window of eegbci windows (one braindecode dataset per run)."""
    return np.concatenate([np.full(len(d), r) for d, r in zip(X.datasets, X.description["run"])])


def _split_by_subject(subject_of_window):
    """The train mask of the first two thirds of the subjects, and its description."""
    train_subjects = _proportional_split(subject_of_window)
    test_subjects = sorted(set(subject_of_window) - set(train_subjects))
    return (np.isin(subject_of_window, train_subjects),
            f"train subjects {_ranges(train_subjects)}, test {_ranges(test_subjects)}")


def _ranges(values):
    """``[0, 1, 2, 5]`` -> ``"0-2,5"``."""
    values = sorted(int(v) for v in values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ",".join(parts)


def _auto_dataset(args):
    """Dataset for ``benchmark`` without ``--dataset``: local recordings, else synthetic."""
    from .datasets import data_home, find_eegbci, find_eegmat

    roots = [args.data_dir] if args.data_dir is not None else [data_home()]
    for root in roots:
        if find_eegmat(root) is not None:
            return "eegmat", None
        if find_eegbci(root) is not None:
            return "eegbci", None
    if args.data_dir is not None:
        raise UsageError(f"no eegmat or eegbci recordings in --data-dir {args.data_dir}; "
                         "pass --dataset to download one, or --dataset synthetic.")
    where = roots[0]
    return "synthetic", (f"No EEG recordings found (looked for eegmat/eegbci in {where}; use --data-dir or "
                         "--dataset): running on SYNTHETIC data from make_synthetic_eeg.")


# --------------------------------------------------------------------- model

def _transformer_params(args, sfreq, seed):
    from .transformer import SeqCLRTransformer

    params = dict(sfreq=sfreq, encoder=args.encoder, model_size=args.model_size, n_epochs=args.epochs, max_steps=args.max_steps,
                  batch_size=args.batch_size, lr=args.lr, device=args.device, precision=args.precision,
                  random_state=seed, verbose=0 if args.quiet else 1)
    known = SeqCLRTransformer().get_params()
    for key, value in args.param:
        if key not in known:
            raise UsageError(f"--param {key}: SeqCLRTransformer has no parameter {key!r}; "
                             f"known: {', '.join(sorted(known))}.")
        params[key] = value
    return params


def _say(args, *lines):
    if not args.quiet and D.is_main_process():
        for line in lines:
            print(line, flush=True)


def _versions():
    import braindecode
    import mne
    import sklearn
    import torch

    return {"skseqclr": __version__, "torch": torch.__version__, "braindecode": braindecode.__version__,
            "mne": mne.__version__, "scikit-learn": sklearn.__version__, "python": sys.version.split()[0]}


def _jsonable(value):
    from .transformer import _jsonable as transformer_jsonable

    return transformer_jsonable(value)


# ---------------------------------------------------------------- benchmark

def _benchmark(args) -> int:
    from .evaluation.baselines import FIVE_BANDS, LogPower, LogVarianceBandPower, make_tangent_space, pyriemann_available
    from .evaluation.probe import evaluate_label_efficiency, format_table, make_linear_probe, summarize
    from .transformer import SeqCLRTransformer

    started = time.perf_counter()
    args.sfreq = args.sfreq or DEFAULT_SFREQ
    _check_data_dir(args.data_dir)
    _check_output_file(args.output, (".json",))
    _check_output_file(args.plot, PLOT_SUFFIXES, option="--plot")
    name, notice = (args.dataset, None) if args.dataset else _auto_dataset(args)
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

    data = _load(name, args, args.quiet)
    X_train, y_train = data.part("train")
    X_test, y_test = data.part("test")
    groups_train, groups_test = data.part_groups("train"), data.part_groups("test")
    _say(args, f"Data: {data.description}",
         f"Train: {len(y_train)} windows, test: {len(y_test)} windows; classes {_class_counts(y_train)} / "
         f"{_class_counts(y_test)}")
    group_word = "subject" if name == "eegmat" else "group"
    if args.input_normalization == "group":
        from .evaluation.normalization import GroupChannelScaler

        channel_scaler = GroupChannelScaler().fit(X_train, groups=groups_train)
        X_train = channel_scaler.transform(X_train, groups=groups_train)
        X_test = channel_scaler.transform(X_test, groups=groups_test)
        _say(args, f"Input: each {group_word}'s channels rescaled to a common amplitude with its own windows "
                   "(GroupChannelScaler)")
    params = _transformer_params(args, data.sfreq, seed=args.seeds[0])
    if args.snapshot_steps:
        if "seqclr" not in methods:
            raise UsageError("--snapshot-steps needs the seqclr method (snapshots of its pretraining run).")
        params["snapshot_steps"] = tuple(args.snapshot_steps)
    extractors = {}
    if "seqclr" in methods:
        extractors[METHODS["seqclr"]] = SeqCLRTransformer(**params)
    if "untrained" in methods:
        extractors[METHODS["untrained"]] = SeqCLRTransformer(**{**params, "n_epochs": 0, "verbose": 0,
                                                                         "snapshot_steps": None})
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
                                     snapshots=bool(args.snapshot_steps), verbose=not args.quiet,
                                     n_jobs=_benchmark_jobs(args, methods))
    rows.sort(key=lambda row: next(i for i, label in enumerate(display)  # snapshots ("... @N") after their run
                                   if row["method"] == label or row["method"].startswith(label + " @")))
    if args.snapshot_steps:
        from .evaluation.model_selection import length_by_cv_rows

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
        from .evaluation.probe import plot_label_efficiency

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
    if set(SEQCLR_METHODS) & set(methods):
        try:
            if D.local_device(args.device).type != "cpu":
                return 1
        except RuntimeError:
            return 1  # an unknown device: SeqCLRTransformer says so
    if args.jobs is not None:
        return args.jobs
    if args.threads is None:
        return 1  # torch's own threads use every core
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // args.threads)


def _strongest_control(rows, controls):
    """The classic control the compact table shows, and how it was chosen (never from test scores)."""
    from .evaluation.probe import mean_probe_cv_score, strongest_by_probe_cv

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
    from .inputs import as_window_source
    from .recombination import feature_channel_pairs, resolve_feature_channels

    ch_names = list(as_window_source(X, ch_names=params.get("ch_names")).ch_names)
    setting = params.get("feature_channels", "auto")
    resolved = resolve_feature_channels(setting, ch_names)
    names = feature_channel_pairs(setting, ch_names)[2]

    def named(value):
        return value if isinstance(value, str) else "given pairs"

    from .transformer import SeqCLRTransformer

    reference = params.get("feature_reference", SeqCLRTransformer().feature_reference)
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


def _check_output_file(path, suffixes, option="--output"):
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: expected a file ending in {' or '.join(suffixes)}.")
    if path.exists() and path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name.")
    if not path.parent.exists():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist.")


def _write_json(path, payload):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable))
    os.replace(tmp, path)


# ------------------------------------------------------------------ pretrain

def _check_pretrain_usage(parser, args) -> None:
    """``parser.error`` (exit 2) for ``pretrain`` options that need each other."""
    if args.resume and args.checkpoint_dir is None:
        parser.error("--resume needs --checkpoint-dir, the folder of the checkpoint to continue from.")
    if args.checkpoint_every is not None and args.checkpoint_dir is None:
        parser.error("--checkpoint-every needs --checkpoint-dir, the folder to write checkpoints to.")


def _resumed_from_step(args):
    """The step of the checkpoint ``--resume`` continues from (read safely), or None when it starts afresh."""
    from .training.checkpoint import CHECKPOINT_NAME, load_checkpoint

    path = None if not args.resume else args.checkpoint_dir / CHECKPOINT_NAME
    if path is None or not path.is_file():
        return None
    try:
        state = load_checkpoint(path)  # tensors and plain data only
    except ValueError:
        return None  # fit refuses it, on every process together
    step = state.get("step") if isinstance(state, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _pretrain(args) -> int:
    from .inputs import MultiDataset
    from .transformer import SeqCLRTransformer

    import torch.distributed as dist

    already = dist.is_available() and dist.is_initialized()
    initialised_here = D.init_from_env() and not already
    try:
        args.sfreq = args.sfreq or DEFAULT_SFREQ
        _check_data_dir(args.data_dir)
        if args.output.exists() and not args.output.is_dir():
            raise UsageError(f"--output {args.output} exists and is not a folder.")
        names = list(dict.fromkeys(args.dataset))
        windows, groups, described = [], [], []
        for name in names:
            data = _load(name, args, args.quiet or not D.is_main_process())
            part_groups = data.part_groups(args.split)
            if len(part_groups) == 0:
                raise UsageError(f"{name} has no windows in --split {args.split} ({data.description}).")
            X, _ = data.part(args.split)
            windows.append(X)
            groups.append(part_groups)
            described.append({"dataset": name, "split": args.split, "n_windows": len(X),
                              "description": data.description})
        for d in described:
            _say(args, f"Data ({d['split']}): {d['description']} -> {d['n_windows']} windows")
        params = _transformer_params(args, args.sfreq, seed=args.seed)
        params.update(checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
                      resume=args.resume)
        if args.snapshot_steps:
            params["snapshot_steps"] = tuple(args.snapshot_steps)
        if not D.is_main_process():
            params["verbose"] = 0
        transformer = SeqCLRTransformer(**params)
        # with --resume, fit refuses a checkpoint of another run, so config.json describes the weights
        resumed_from = _resumed_from_step(args) if D.is_main_process() else None
        started = time.perf_counter()
        # the subjects (runs, for one eegbci subject) are used only by --param group_batches=true
        # several --dataset: pooled for pretraining (their montages differ), each batch from one of them
        transformer.fit(MultiDataset(windows) if len(windows) > 1 else windows[0], groups=np.concatenate(groups))
        elapsed = time.perf_counter() - started
        if D.is_main_process():
            args.output.mkdir(parents=True, exist_ok=True)
            weights = transformer.save(args.output / WEIGHTS_FILE)
            snapshots = {str(step): (transformer.at_step(step).save(
                             args.output / f"step-{step}" / WEIGHTS_FILE).relative_to(args.output).as_posix())
                         for step in sorted(transformer.snapshots_)}
            config = {
                "command": "skseqclr pretrain", "argv": sys.argv[1:] if args.argv is None else args.argv,
                "weights": WEIGHTS_FILE, "datasets": described, "window_s": args.window_s, "sfreq": args.sfreq,
                "seqclr_params": _jsonable(transformer.get_params()), "n_steps": int(transformer.n_steps_),
                "interrupted": bool(transformer.interrupted_), "resumed_from_step": resumed_from,
                "snapshots": snapshots,
                "history": transformer.history_,
                "pretrain_time_s": elapsed, "world_size": D.world_size(), "versions": _versions(),
            }
            _write_json(args.output / CONFIG_FILE, config)
            final = f", final loss {transformer.history_[-1]['loss']:.3f}" if transformer.history_ else ""
            kept = f" and the snapshots after {', '.join(snapshots)} steps (step-N/)" if snapshots else ""
            _say(args, f"Pretrained {transformer.n_steps_} steps in {elapsed:.0f} s{final}.",
                 f"Wrote {weights}{kept} and {args.output / CONFIG_FILE}")
        D.barrier()
        return EXIT_OK
    finally:
        if initialised_here and dist.is_initialized():
            dist.destroy_process_group()


# ------------------------------------------------------------------ features

def _features(args) -> int:
    from .transformer import SeqCLRTransformer

    _check_data_dir(args.data_dir)
    _check_output_file(args.output, (".npy", ".parquet"))
    if args.output.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError("--output .parquet needs pyarrow: pip install \"skseqclr[parquet]\"; "
                             "or write .npy.") from None
    weights = args.weights / WEIGHTS_FILE if args.weights.is_dir() else args.weights
    if not weights.is_file():
        raise UsageError(f"--weights {args.weights}: no weights file there (expected {WEIGHTS_FILE}).")
    overrides = {"device": args.device, "verbose": 0}
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    from ._validation import InvalidParameterError

    try:
        transformer = SeqCLRTransformer.load(weights, **overrides)
    except InvalidParameterError as error:  # --device: what the user typed (a damaged file is a plain ValueError)
        raise UsageError(f"--device {args.device}: {error}") from None
    if args.sfreq is None:
        args.sfreq = transformer.sfreq_ or DEFAULT_SFREQ
    elif transformer.resample_to is None and transformer.sfreq_ is not None \
            and not math.isclose(args.sfreq, transformer.sfreq_):
        raise UsageError(f"--sfreq {args.sfreq:g}: the encoder was pretrained at {transformer.sfreq_:g} Hz; "
                         "leave --sfreq out to load the data at that rate.")
    data = _load(args.dataset, args, args.quiet)
    X, y = data.part(args.split)
    from .inputs import as_window_source
    from .recombination import feature_channel_pairs

    source = as_window_source(X)
    same_layout = source.n_channels in transformer.n_channels_fit_ and source.ch_names == transformer.ch_names_
    started = time.perf_counter()
    if same_layout:
        features = transformer.transform(X)
        names = [str(n) for n in transformer.get_feature_names_out()]
    else:
        per_channel = transformer.encode(X)
        features = per_channel.reshape(per_channel.shape[0], -1)
        read = feature_channel_pairs(transformer.feature_channels, list(source.ch_names))[2]
        names = [f"{ch}_f{j}" for ch in read for j in range(per_channel.shape[2])]
    elapsed = time.perf_counter() - started
    metadata = _window_metadata(data, args.split, y)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.output.suffix.lower() == ".npy":
        np.save(args.output, features.astype(np.float32))
        side = args.output.with_suffix(".metadata.csv")
        metadata.to_csv(side, index=False)
        written = f"{args.output} ({features.shape[0]} x {features.shape[1]} float32) and {side}"
    else:
        import pandas as pd

        table = pd.concat([metadata.reset_index(drop=True),
                           pd.DataFrame(features.astype(np.float32), columns=names)], axis=1)
        table.to_parquet(args.output, index=False)
        written = f"{args.output} ({features.shape[0]} rows, {len(metadata.columns)} metadata + {len(names)} feature columns)"
    _say(args, f"Encoded {features.shape[0]} windows in {elapsed:.0f} s; wrote {written}.")
    return EXIT_OK


def _window_metadata(data, split, y):
    import pandas as pd

    if data.metadata is None:
        table = pd.DataFrame({"target": y})
    else:
        metadata = data.metadata
        if split != "all":
            mask = data.train if split == "train" else ~data.train
            metadata = metadata[mask]
        table = metadata.reset_index(drop=True)
    table.insert(0, "dataset", data.name)
    return table


# ---------------------------------------------------------------------- main

def _quiet_imports():
    """Import braindecode once with its import-time deprecation warnings (from MNE) silenced.

    They concern braindecode's own code, not the user's command, and would
    otherwise clutter every run's output.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import braindecode.datasets  # noqa: F401
        import braindecode.preprocessing  # noqa: F401


def main(argv=None) -> int:
    """Run the ``skseqclr`` command.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 success, 1 runtime failure, 2 usage error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "check_usage", None) is not None:
            args.check_usage(args)  # options that only make sense together, before any data is read
    except SystemExit as exc:  # --help, --version (0) or an argparse usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.argv = None if argv is None else list(argv)
    try:
        _quiet_imports()
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        return args.func(args)
    except UsageError as exc:
        print(f"skseqclr {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"skseqclr {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the command's contract is an exit status, not a traceback
        if args.debug:
            traceback.print_exc()
        print(f"skseqclr {args.command}: error: {type(exc).__name__}: {exc}"
              + ("" if args.debug else " (run with --debug for the traceback)"), file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
