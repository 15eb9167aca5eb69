"""Constants, argument types and output helpers shared by the ``skseqclr`` subcommands."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from ..training import distributed as D
from .._version import __version__

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


def parse_probe_c(text):
    """Parse the value of ``--probe-c``: ``"auto"`` or a positive number.

    The ``type`` of ``skseqclr benchmark --probe-c`` and of the benchmark
    scripts' option of the same name.

    Parameters
    ----------
    text : str
        ``"auto"``, or a number greater than 0 (the inverse L2 regularisation
        strength ``C`` of :class:`~skseqclr.evaluation.probe.LinearProbe`).

    Returns
    -------
    "auto" or float

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else (argparse turns it into a usage error, exit status 2).
    """
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


def parse_param(text):
    """Parse a ``--param KEY=VALUE`` option: VALUE as JSON when it parses, else as a string.

    The ``type`` of ``--param`` in ``skseqclr benchmark`` and ``pretrain``
    (any other :class:`~skseqclr.SeqCLRTransformer` parameter, nested names
    such as ``readout__pooling`` included) and of the benchmark scripts'
    option of the same name.

    Parameters
    ----------
    text : str
        ``KEY=VALUE``, e.g. ``"preprocessing__scaling=channel"``,
        ``"bandstop=null"`` or ``"amplitude_scale=[0.8, 1.25]"``; only the
        first ``=`` separates.

    Returns
    -------
    key : str
        KEY, stripped of surrounding spaces.
    value : object
        VALUE decoded as JSON (``null`` is None; a JSON list becomes a tuple),
        or the raw string when it is not JSON.

    Raises
    ------
    argparse.ArgumentTypeError
        When ``text`` has no ``=`` (argparse turns it into a usage error,
        exit status 2).
    """
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


def _transformer_params(args, sfreq, seed):
    """The transformer's parameters from the model options and ``--param``, flat: the settings of its
    sub-estimators by nested name (``readout__pooling``); :func:`_make_transformer` builds it."""
    from ..options import OPTION_CLASSES
    from ..transformer import SeqCLRTransformer

    params = dict(sfreq=sfreq, encoder=args.encoder, model_size=args.model_size, n_epochs=args.epochs, max_steps=args.max_steps,
                  batch_size=args.batch_size, lr=args.lr, device=args.device, precision=args.precision,
                  random_state=seed, verbose=0 if args.quiet else 1)
    nested = {f"{name}__{key}" for name, options in OPTION_CLASSES.items() for key in options().get_params()}
    known = (set(SeqCLRTransformer().get_params()) - set(OPTION_CLASSES)) | nested
    for key, value in args.param:
        if key in OPTION_CLASSES:
            if not isinstance(value, dict):
                raise UsageError(f"--param {key}: give its settings by nested name, e.g. "
                                 f"--param {sorted(n for n in nested if n.startswith(key))[0]}=..., or as a JSON "
                                 "object of them.")
            for option, option_value in value.items():
                params = _set_param(params, f"{key}__{option}", option_value, known)
            continue
        params = _set_param(params, key, value, known)
    return params


def _set_param(params, key, value, known):
    if key not in known:
        raise UsageError(f"--param {key}: SeqCLRTransformer has no parameter {key!r}; "
                         f"known: {', '.join(sorted(known))}.")
    return {**params, key: value}


def _make_transformer(params):
    """A :class:`~skseqclr.SeqCLRTransformer` of the flat ``params`` of :func:`_transformer_params`."""
    from ..transformer import SeqCLRTransformer

    nested = {key: value for key, value in params.items() if "__" in key}
    return SeqCLRTransformer(**{key: value for key, value in params.items() if key not in nested}).set_params(**nested)


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


def _parallel_jobs(args, device=None):
    """Parallel tasks: ``--jobs``, else the CPUs left by ``--threads`` torch threads each, else 1 (torch's own
    threads use every core); 1 when ``device``, where a SeqCLR encoder runs (None: no encoder), is not the CPU, as
    an encoder's transform must not be called from several threads."""
    if device is not None:
        try:
            if D.local_device(device).type != "cpu":
                return 1
        except RuntimeError:
            return 1  # an unknown device: SeqCLRTransformer says so
    if args.jobs is not None:
        return args.jobs
    if args.threads is None:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // args.threads)


def _jsonable(value):
    from ..persistence import jsonable as persistence_jsonable

    return persistence_jsonable(value)


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
