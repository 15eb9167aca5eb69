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
``skseqclr suite``
    The same label-efficiency protocol on several tasks
    (:mod:`skseqclr.evaluation.suite`: EEGMAT, motor imagery of eegmmidb's
    subject 1, synthetic tasks with a known ground truth): SeqCLR pretrained
    once per augmentation candidate, untrained, the candidate chosen by the
    probe's cross-validation, SeqCLR joined with the five-band log-variance,
    and the classic controls; prints one table, task by method, and
    ``--output`` writes every row to JSON. ``--quick`` is a smoke test.

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
``--data PATH ...`` (``benchmark``, ``pretrain``) reads the user's own files
instead: one labelled ``-epo.fif`` (labels from event names, subjects from
the metadata column ``--subject-column``, split by subject as above), or,
for ``pretrain``, recordings ``mne.io.read_raw`` reads or folders of them
(one group each), cut into ``--window-s`` windows, or a BIDS root (read with
mne-bids; recordings chosen with ``--bids-subjects``, ``--bids-sessions``,
``--bids-tasks``, ``--bids-runs``, grouped and split by BIDS subject; for
``benchmark``, windows of the events labelled by event name, ``--events``
choosing the classes); ``--picks`` selects channels by type or name.

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
import sys
import traceback
import warnings
from pathlib import Path

from .._version import __version__
from ._common import (DATASETS, EEGBCI_WINDOWS, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, METHODS,
                      UsageError, _fraction, _non_negative_int, _positive_float, _positive_int, _subjects,
                      parse_param, parse_probe_c)
from ._bids import BIDS_DATATYPES
from .benchmark import _benchmark
from .features import _features
from .pretrain import _check_pretrain_usage, _pretrain
from .suite import add_suite_parser

__all__ = ["main", "build_parser", "parse_param", "parse_probe_c", "UsageError", "EXIT_OK", "EXIT_FAILURE",
           "EXIT_USAGE", "EXIT_INTERRUPTED"]


# ------------------------------------------------------------------- parsing

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
    group.add_argument("--window-s", "--window-seconds", type=_positive_float, default=4.0, metavar="S",
                       help="window length in seconds (default: 4)")
    group.add_argument("--sfreq", "--resample", type=_positive_float, metavar="HZ",
                       help="resample recordings to this rate in Hz (default: 128; for 'features', the rate "
                            "the encoder was pretrained at)")
    group.add_argument("--n-windows", type=_positive_int, default=600, metavar="N",
                       help="number of synthetic windows (default: 600)")
    group.add_argument("--no-download", action="store_true",
                       help="never download; fail if the files are not local")
    return parser


def _own_data_options(labelled):
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("your own recordings (instead of --dataset)")
    if labelled:
        group.add_argument("--data", type=Path, nargs="+", metavar="PATH",
                           help="a labelled -epo.fif file (mne.read_epochs): labels from its event names, "
                                "subjects from a column of its metadata (--subject-column), split by subject; or "
                                "a BIDS root (mne-bids): windows of the recordings' events, labelled by event "
                                "name, split by BIDS subject")
    else:
        group.add_argument("--data", type=Path, nargs="+", metavar="PATH",
                           help="recordings mne.io.read_raw reads (EDF, BDF, FIF, BrainVision, EEGLAB, ...) or "
                                "folders of them, one group each, cut into consecutive --window-s windows; one "
                                "-epo.fif file of epochs; or a BIDS root (mne-bids), grouped by BIDS subject")
    group.add_argument("--subject-column", metavar="NAME",
                       help="column of the epochs' metadata holding the subject (default: 'subject')")
    group.add_argument("--picks", nargs="+", metavar="CH",
                       help="channel types or names to keep, as MNE's pick, e.g. 'eeg' or 'Fz Cz Pz' "
                            "(default: the data channels, no stimulus or misc channels)")
    if labelled:
        group.add_argument("--events", nargs="+", metavar="NAME",
                           help="event names to use as classes, of an -epo.fif file or a BIDS dataset's "
                                "events (default: all, except BAD_* and EDGE annotations)")
    bids = parser.add_argument_group("a BIDS dataset (--data BIDS_ROOT, the folder of dataset_description.json)")
    for entity, example in (("subjects", "01 02"), ("sessions", "1"), ("tasks", "rest"), ("runs", "1 2")):
        bids.add_argument(f"--bids-{entity}", f"--bids-{entity[:-1]}", nargs="+", metavar="LABEL",
                          help=f"BIDS {entity} to read, e.g. {example} (default: all)")
    bids.add_argument("--bids-datatype", choices=BIDS_DATATYPES,
                      help=f"recordings of this BIDS datatype only (default: any of {', '.join(BIDS_DATATYPES)})")
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
    group.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE",
                       help="any other SeqCLRTransformer parameter, VALUE in JSON, e.g. "
                            "--param 'amplitude_scale=[0.8, 1.25]' --param readout__pooling=mean; the "
                            "settings of preprocessing, readout and checkpointing by nested name (repeatable)")
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
        "benchmark", parents=[common, data, _own_data_options(True), _model_options(epochs=1, max_steps=None, batch_size=256)],
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
    bench.add_argument("--probe-c", type=parse_probe_c, default="auto", metavar="C",
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
                            "0 is the untrained encoder. Under the cosine learning-rate schedule a snapshot is "
                            "a run cut mid-decay")
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
        "pretrain", parents=[common, data, _own_data_options(False), _model_options(epochs=10, max_steps=None, batch_size=256)],
        help="pretrain SeqCLR on one or more datasets and save the encoder",
        description="Pretrain a SeqCLR encoder without labels on one or more datasets (pooled, any channel "
                    "counts) and write OUTPUT/encoder.safetensors and OUTPUT/config.json. Under torchrun, "
                    "every rank trains on its shard and rank 0 alone writes.",
    )
    pre.add_argument("--dataset", choices=DATASETS, nargs="+", metavar="NAME",
                     help=f"one or more of {', '.join(DATASETS)} (or --data)")
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

    add_suite_parser(commands, [common])
    return parser


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
