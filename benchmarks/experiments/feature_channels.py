r"""Which channels to read SeqCLR features on (``Readout(feature_channels=...)``), on EEGMAT.

Pretraining with recombination (paper §2.1) draws mostly differences of channels: of the n² single channels
of 19-channel EEGMAT, 342 of 361 are differences. This script asks whether the encoder is worth more read
on such channels than on the recorded ones, with the protocol of ``label_efficiency.py`` (the split, probe,
labelled subsets and both normalisations), for encoders that script saved (``--save-dir``):

* every seed's pretrained encoder and the same encoder untrained (``n_epochs=0``, same seed) encode the
  windows once with ``feature_channels="all"`` (the 19 originals, then the 171 differences i < j); the rows
  read slices of it (equal, up to float rounding, to ``transform`` with each setting);
* channel sets: ``original`` (the paper's features, today's default), ``differences``, ``all``,
  ``montage`` (30 neighbour pairs of the 10-20 system: the longitudinal "double banana" and three transverse
  chains, each with the sign of the channels' order in the recording), ``original+montage``, and the
  package's ``neighbours`` (the 44 edges of the electrodes' Delaunay triangulation, a superset of the
  montage: :func:`skseqclr.recombination.neighbour_pairs`) and ``original+neighbours``;
* beside each set, the classic control on the same channels: log-power (log variance) of each channel read.

Run from the repository root, after ``label_efficiency.py --save-dir DIR`` (or with its
``--windows`` file)::

    python benchmarks/experiments/label_efficiency.py --windows eegmat.npz --seeds 0 1 2 3 --steps 100 \
        --param model_size='"small"' --save-dir enc/ --methods probe --fractions 1.0
    python benchmarks/experiments/feature_channels.py --windows eegmat.npz --load-dir enc/ --seeds 0 1 2 3 \
        --label-draws 10 --cache enc/ --output feature_channels.json

Encoding all 190 channels of the 2134 windows takes about 10 minutes per encoder on one CPU thread;
``--cache DIR`` keeps them (``all_channels_seed<k>.npz``) so that the probes can be run again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from skseqclr.datasets import EEGMAT_CHANNELS
from skseqclr.recombination import feature_channel_pairs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

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
    pretrained = runner.load_pretrained(path, seed, readout__feature_channels="all")
    untrained = runner.untrained_twin(pretrained, seed, X_train)
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


def build_parser():
    parser = runner.make_parser(__doc__)
    parser.add_argument("--load-dir", type=Path, default=None, help="seed<k>.safetensors from --save-dir")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="keep each seed's encoded channels there (all_channels_seed<k>.npz)")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--readouts", nargs="+", choices=READOUTS, default=["pooled"],
                        help="SeqCLR readouts of each set (default: the default pooling, as transform gives it)")
    return parser


def main(argv=None):
    return runner.run(build_parser(), argv, score, check=runner.require("--load-dir"))


def score(args, split):
    X_train, X_test = split.X_train, split.X_test
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
    n_train, started = len(X_train), time.time()
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
                extractors[f"{name} [{set_name}]"] = runner.stored_features(flat[:n_train], flat[n_train:],
                                                                            X_train, X_test)
        rows += runner.evaluate(args, extractors, split, seeds=(seed,))
        print(f"seed {seed} scored ({time.time() - started:.0f} s)", flush=True)
    return rows


if __name__ == "__main__":
    main()
