r"""How to read out SeqCLR's pooled features for few labels on EEGMAT: which statistics, and referenced how.

Scores transform-time readouts (``pooling`` and ``feature_reference`` of :class:`skseqclr.Readout`) of stored
features, with the protocol of ``label_efficiency.py`` (the split, the grouped-CV linear probe, the labelled
subsets). The stored features must be the
unreferenced mean / std / log-mean-square statistics of every channel read (the defaults), so that every
readout is a slice of them, recomputed the way ``transform`` does:

* statistics: ``mean+std+logms`` (the default), ``std+logms``, ``mean+logms``, ``mean+std``, ``std``;
* reference: ``none``; ``kinds`` (in each window each feature minus its mean over the channels of the same kind,
  the recorded channels and the differences apart: :func:`skseqclr.referencing.reference_within_kinds` without
  the means); ``kinds+means`` (the same, then each kind's mean as features of its own:
  ``feature_reference=True``, bit for bit); ``all`` and ``all+mean`` (one reference over every channel read).

Both encoders of each seed (pretrained, and untrained with the same initial weights) get every readout, on the
same labelled subsets. Run from the repository root::

    python benchmarks/experiments/label_efficiency.py --windows eegmat.npz --seeds S --steps 100 \
        --param model_size='"small"' --threads 1 --save-features feat/ --methods probe --fractions 1.0 \
        --normalization none
    python benchmarks/experiments/feature_reference.py --windows eegmat.npz --load-features feat/ --seeds S \
        --label-draws 10 --probe-selection one_se --output reference_seedS.json
    python benchmarks/experiments/feature_reference.py --combine reference_seed*.json

``--normalization none group`` scores every readout a second time standardised per subject
(:func:`skseqclr.evaluation.normalization.standardize_per_group`), as ``label_efficiency.py`` does.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from skseqclr.recombination import feature_channel_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

STORED_STATISTICS = ("mean", "std", "logms")
N_OUTPUTS = 4
STATISTICS = {"mean+std+logms": ("mean", "std", "logms"), "std+logms": ("std", "logms"),
              "mean+logms": ("mean", "logms"), "mean+std": ("mean", "std"), "std": ("std",)}
REFERENCES = ("none", "kinds", "kinds+means", "all", "all+mean")


def readout(features, kinds, statistics, reference):
    """Stored ``(n, n_channels * 4 * 3)`` features read out with some ``statistics`` and a ``reference``."""
    by_channel = features.reshape(len(features), len(kinds), N_OUTPUTS, len(STORED_STATISTICS))
    by_channel = by_channel[..., [STORED_STATISTICS.index(name) for name in statistics]]
    by_channel = by_channel.reshape(len(features), len(kinds), -1)
    if reference != "none":
        grouped = kinds if reference.startswith("kinds") else np.zeros_like(kinds)
        referenced = reference_within_kinds(by_channel, grouped)
        by_channel = referenced if reference.endswith("mean") or reference.endswith("means") \
            else referenced[:, :len(kinds)]
    return by_channel.reshape(len(features), -1)


def build_parser():
    parser = runner.make_parser(__doc__, fractions=(1.0, 0.1), label_draws=10, normalization=("none",))
    parser.add_argument("--load-features", type=Path, help="features saved by label_efficiency.py --save-features")
    parser.add_argument("--statistics", nargs="+", default=list(STATISTICS), choices=list(STATISTICS))
    parser.add_argument("--references", nargs="+", default=list(REFERENCES), choices=list(REFERENCES))
    return parser


def main(argv=None):
    return runner.run(build_parser(), argv, score, check=runner.require("--load-features"))


def score(args, split):
    X_train, X_test = split.X_train, split.X_test
    started = time.time()
    rows = []
    for seed in args.seeds:
        stored = np.load(args.load_features / f"features_seed{seed}.npz")
        params = runner.flat_params(json.loads(str(stored["params"])))
        reference, pooling = params["readout__feature_reference"], params["readout__pooling"]
        if reference or list(pooling) != list(STORED_STATISTICS):
            raise SystemExit(f"{args.load_features}: these features were read with feature_reference="
                             f"{reference!r}, pooling={pooling!r}; this script "
                             "needs feature_reference=false and pooling mean, std, logms (see its docstring).")
        ch_names = runner.eegmat_names(X_train)
        first, second, _ = feature_channel_pairs(params["readout__feature_channels"],
                                                 ch_names or [f"ch{i}" for i in range(X_train.shape[1])])
        kinds = channel_kinds(first, second)
        extractors = {}
        for encoder in ("pretrained", "untrained"):
            for statistics in args.statistics:
                for reference in args.references:
                    train, test = (readout(stored[f"{encoder}_{part}"], kinds, STATISTICS[statistics], reference)
                                   for part in ("train", "test"))
                    extractors[f"SeqCLR {encoder}, {statistics}, reference {reference}"] = runner.stored_features(
                        train, test, X_train, X_test)
        rows += runner.evaluate(args, extractors, split, seeds=(seed,))
        print(f"seed {seed}: {len(extractors)} readouts scored, {time.time() - started:.0f} s", flush=True)
    return rows


if __name__ == "__main__":
    main()
