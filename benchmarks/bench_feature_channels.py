r"""Which channels to read SeqCLR features on (``SeqCLRTransformer(feature_channels=...)``), on EEGMAT.

Pretraining with recombination (paper §2.1) draws mostly differences of channels: of the n² single channels
of 19-channel EEGMAT, 342 of 361 are differences. This script asks whether the encoder is worth more read
on such channels than on the recorded ones, with issue 8's protocol (the split, probe, labelled subsets and
both normalisations of ``bench_label_efficiency.py``), for encoders that script saved (``--save-dir``):

* every seed's pretrained encoder and the same encoder untrained (``n_epochs=0``, same seed) encode the
  windows once with ``feature_channels="all"`` (the 19 originals, then the 171 differences i < j); the rows
  read slices of it (equal, up to float rounding, to ``transform`` with each setting);
* channel sets: ``original`` (the paper's features, today's default), ``differences``, ``all``,
  ``montage`` (30 neighbour pairs of the 10-20 system: the longitudinal "double banana" and three transverse
  chains, each with the sign of the channels' order in the recording), ``original+montage``, and the
  package's ``neighbours`` (the 44 edges of the electrodes' Delaunay triangulation, a superset of the
  montage: :func:`skseqclr.recombination.neighbour_pairs`) and ``original+neighbours``;
* beside each set, the classic control on the same channels: log-power (log variance) of each channel read.

Run from the repository root, after ``bench_label_efficiency.py --save-dir DIR`` (or with its
``--windows`` file)::

    python benchmarks/bench_label_efficiency.py --windows eegmat.npz --seeds 0 1 2 3 --steps 100 \
        --param model_size='"small"' --save-dir enc/ --methods probe --fractions 1.0
    python benchmarks/bench_feature_channels.py --windows eegmat.npz --load-dir enc/ --seeds 0 1 2 3 \
        --label-draws 10 --cache enc/ --output feature_channels.json

Encoding all 190 channels of the 2134 windows takes about 10 minutes per encoder on one CPU thread;
``--cache DIR`` keeps them (``all_channels_seed<k>.npz``) so that the probes can be run again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from skseqclr import SeqCLRTransformer
from skseqclr.datasets import EEGMAT_CHANNELS
from skseqclr.evaluation.probe import PROBE_SELECTIONS, make_linear_probe
from skseqclr.evaluation.protocol import NORMALIZATIONS, evaluate_label_efficiency
from skseqclr.evaluation.reporting import format_table, summarize
from skseqclr.recombination import feature_channel_pairs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_rows  # noqa: E402
from bench_label_efficiency import DEFAULT_DATA, load_eegmat, load_windows, stored_features  # noqa: E402

#: Neighbouring electrodes of the 10-20 system: the longitudinal bipolar montage (18 pairs) and transverse
#: chains across the frontal, central and parietal rows (12 pairs).
NEIGHBOUR_PAIRS = [
    ("Fp1", "F7"), ("F7", "T3"), ("T3", "T5"), ("T5", "O1"), ("Fp2", "F8"), ("F8", "T4"), ("T4", "T6"),
    ("T6", "O2"), ("Fp1", "F3"), ("F3", "C3"), ("C3", "P3"), ("P3", "O1"), ("Fp2", "F4"), ("F4", "C4"),
    ("C4", "P4"), ("P4", "O2"), ("Fz", "Cz"), ("Cz", "Pz"),
    ("F7", "F3"), ("F3", "Fz"), ("Fz", "F4"), ("F4", "F8"), ("T3", "C3"), ("C3", "Cz"), ("Cz", "C4"),
    ("C4", "T4"), ("T5", "P3"), ("P3", "Pz"), ("Pz", "P4"), ("P4", "T6"),
]
SETS = ("original", "differences", "all", "montage", "original+montage", "neighbours", "original+neighbours")
#: Transform-time readouts of the stored default pooling (4 encoder outputs x mean, std, log-mean-square,
#: feature-major): all of it or its log-mean-square alone (``pooling="logms"``), with or without each read
#: channel's log mean square (``log_power=True``).
READOUTS = ("pooled", "pooled+log-power", "logms", "logms+log-power")
LOGMS_COLUMNS = [2, 5, 8, 11]


def channel_sets(ch_names):
    """Indices into the ``feature_channels="all"`` channels of each named set."""
    _, _, names = feature_channel_pairs("all", ch_names)
    position = {name: k for k, name in enumerate(names)}
    n = len(ch_names)
    montage = [position.get(f"{a}-{b}", position.get(f"{b}-{a}")) for a, b in NEIGHBOUR_PAIRS]
    neighbours = [position[name] for name in feature_channel_pairs("neighbours", ch_names)[2]]
    return {"original": list(range(n)), "differences": list(range(n, len(names))), "all": list(range(len(names))),
            "montage": montage, "original+montage": list(range(n)) + montage, "neighbours": neighbours,
            "original+neighbours": list(range(n)) + neighbours}


def readout_features(pooled, readout, log_mean_square):
    """``(n_windows, n_channels, k)`` features of one ``READOUTS`` entry, from the stored default pooling."""
    columns = pooled[:, :, LOGMS_COLUMNS] if readout.startswith("logms") else pooled
    if readout.endswith("+log-power"):
        columns = np.concatenate([columns, log_mean_square[:, :, None]], axis=-1)
    return columns


def encode_all(path, seed, X_train, X_test, cache):
    """``{"pretrained": ..., "untrained": ...}``: per-channel features of the train then test windows on every
    channel of ``feature_channels="all"``, from the cache when there."""
    cached = cache / f"all_channels_seed{seed}.npz" if cache else None
    if cached is not None and cached.exists():
        return dict(np.load(cached))
    pretrained = SeqCLRTransformer.load(path / f"seed{seed}.safetensors", feature_channels="all")
    untrained = SeqCLRTransformer(**{**pretrained.get_params(), "n_epochs": 0, "max_steps": None,
                                     "random_state": seed}).fit(X_train)
    windows = np.concatenate([X_train, X_test])
    features = {}
    for name, encoder in (("pretrained", pretrained), ("untrained", untrained)):
        start = time.perf_counter()
        features[name] = encoder.encode(windows)
        print(f"seed {seed}: {name} encoded {features[name].shape[1]} channels of {len(windows)} windows in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cached, **features)
    return features


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--windows", type=Path, default=None, help="the split's windows, as written by "
                        "bench_label_efficiency.py --export-windows")
    parser.add_argument("--sfreq", type=float, default=128.0)
    parser.add_argument("--load-dir", type=Path, default=None, help="seed<k>.safetensors from --save-dir")
    parser.add_argument("--combine", type=Path, nargs="+", default=None, metavar="JSON",
                        help="print the table of the rows of these --output files (one per seed) and stop")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.1, 0.01])
    parser.add_argument("--label-draws", type=int, default=1)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--readouts", nargs="+", choices=READOUTS, default=["pooled"],
                        help="SeqCLR readouts of each set (default: the default pooling, as transform gives it)")
    parser.add_argument("--normalization", nargs="+", default=list(NORMALIZATIONS), choices=NORMALIZATIONS)
    parser.add_argument("--probe-selection", choices=PROBE_SELECTIONS, default="best",
                        help="how the probe chooses C (skseqclr.evaluation.probe.LinearProbe's selection)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.combine:
        print(format_table(summarize([row for path in args.combine for row in json.loads(path.read_text())["rows"]])))
        return
    if args.load_dir is None:
        parser.error("--load-dir is needed (or --combine)")
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    X_train, y_train, X_test, y_test, groups_train, groups_test = (
        load_windows(args.windows, args.sfreq) if args.windows else load_eegmat(args.data_dir, args.sfreq, 4.0))
    if X_train.shape[1] != len(EEGMAT_CHANNELS):
        raise SystemExit(f"expected EEGMAT's {len(EEGMAT_CHANNELS)} channels, got {X_train.shape[1]}")
    sets = channel_sets(list(EEGMAT_CHANNELS))
    first, second, _ = feature_channel_pairs("all", list(EEGMAT_CHANNELS))
    windows = np.concatenate([X_train, X_test])
    channels = [(windows[:, i] - (windows[:, j] if i != j else 0.0)).astype(np.float64) for i, j in zip(first, second)]
    log_power = np.stack([np.log(c.var(axis=-1)) for c in channels], axis=1).astype(np.float32)
    # what log_power=True appends: the log mean square (not variance) of the channel, up to the constant
    # log of the global input scale, which the probe's StandardScaler removes
    log_mean_square = np.stack([np.log(np.square(c).mean(axis=-1)) for c in channels], axis=1).astype(np.float32)
    del channels
    n_train = len(X_train)
    rows = []
    for seed in args.seeds:
        features = encode_all(args.load_dir, seed, X_train, X_test, args.cache)
        extractors = {}
        for set_name in args.sets:
            index = sets[set_name]
            readouts = [(f"SeqCLR {state}" + ("" if readout == "pooled" else f", {readout}"),
                         readout_features(features[state], readout, log_mean_square))
                        for readout in args.readouts for state in ("pretrained", "untrained")]
            for name, values in readouts + [("log-power", log_power[:, :, None])]:
                flat = values[:, index].reshape(len(values), -1)
                extractors[f"{name} [{set_name}]"] = stored_features(flat[:n_train], flat[n_train:], X_train, X_test)
        rows += evaluate_label_efficiency(extractors, X_train, y_train, X_test, y_test, fractions=args.fractions,
                                          seeds=(seed,), probe=make_linear_probe(selection=args.probe_selection),
                                          groups_train=groups_train, groups_test=groups_test,
                                          normalizations=args.normalization, label_draws=args.label_draws)
        print(f"seed {seed} scored ({time.time() - started:.0f} s)", flush=True)
    print()
    print(format_table(summarize(rows)))
    print(f"\nwall time {time.time() - started:.0f} s")
    if args.output:
        write_rows(args.output, args, rows)


if __name__ == "__main__":
    main()
