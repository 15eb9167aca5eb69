r"""How to read out SeqCLR's pooled features for few labels on EEGMAT: which statistics, and referenced how.

Scores transform-time readouts (``pooling`` and ``feature_reference`` of
:class:`skseqclr.SeqCLRTransformer`) of stored features, with issue 8's protocol (the split, the grouped-CV
linear probe, the labelled subsets of ``bench_label_efficiency.py``). The stored features must be the
unreferenced mean / std / log-mean-square statistics of every channel read (the defaults), so that every
readout is a slice of them, recomputed the way ``transform`` does:

* statistics: ``mean+std+logms`` (the default), ``std+logms``, ``mean+logms``, ``mean+std``, ``std``;
* reference: ``none``; ``kinds`` (in each window each feature minus its mean over the channels of the same kind,
  the recorded channels and the differences apart: :func:`skseqclr.referencing.reference_within_kinds` without
  the means); ``kinds+means`` (the same, then each kind's mean as features of its own:
  ``feature_reference=True``, bit for bit); ``all`` and ``all+mean`` (one reference over every channel read).

Both encoders of each seed (pretrained, and untrained with the same initial weights) get every readout, on the
same labelled subsets. Run from the repository root::

    python benchmarks/bench_label_efficiency.py --windows eegmat.npz --seeds S --steps 100 \
        --param model_size='"small"' --threads 1 --save-features feat/ --methods probe --fractions 1.0 \
        --normalization none
    python benchmarks/bench_feature_reference.py --windows eegmat.npz --load-features feat/ --seeds S \
        --label-draws 10 --probe-selection one_se --output reference_seedS.json
    python benchmarks/bench_feature_reference.py --combine reference_seed*.json

``--normalization none group`` scores every readout a second time standardised per subject
(:func:`skseqclr.evaluation.normalization.standardize_per_group`), as ``bench_label_efficiency.py`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from skseqclr.datasets import EEGMAT_CHANNELS
from skseqclr.evaluation.probe import PROBE_SELECTIONS, make_linear_probe
from skseqclr.evaluation.protocol import NORMALIZATIONS, evaluate_label_efficiency
from skseqclr.evaluation.reporting import format_table, summarize
from skseqclr.recombination import feature_channel_pairs
from skseqclr.referencing import channel_kinds, reference_within_kinds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_rows  # noqa: E402
from bench_label_efficiency import load_windows, stored_features  # noqa: E402

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=Path, help="windows exported by bench_label_efficiency.py")
    parser.add_argument("--load-features", type=Path, help="features saved by bench_label_efficiency.py")
    parser.add_argument("--sfreq", type=float, default=128.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.1])
    parser.add_argument("--label-draws", type=int, default=10)
    parser.add_argument("--probe-selection", default="best", choices=PROBE_SELECTIONS)
    parser.add_argument("--statistics", nargs="+", default=list(STATISTICS), choices=list(STATISTICS))
    parser.add_argument("--references", nargs="+", default=list(REFERENCES), choices=list(REFERENCES))
    parser.add_argument("--normalization", nargs="+", default=["none"], choices=NORMALIZATIONS,
                        help="'group' also scores each readout standardised per subject (as bench_label_efficiency)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--combine", type=Path, nargs="+", default=None, metavar="JSON")
    args = parser.parse_args(argv)
    if args.combine:
        print(format_table(summarize([row for path in args.combine for row in json.loads(path.read_text())["rows"]])))
        return
    if args.windows is None or args.load_features is None:
        raise SystemExit("--windows and --load-features are needed (or --combine).")
    X_train, y_train, X_test, y_test, groups_train, groups_test = load_windows(args.windows, args.sfreq)
    started = time.time()
    rows = []
    for seed in args.seeds:
        stored = np.load(args.load_features / f"features_seed{seed}.npz")
        params = json.loads(str(stored["params"]))
        if params.get("feature_reference") or list(params.get("pooling", STORED_STATISTICS)) != list(STORED_STATISTICS):
            raise SystemExit(f"{args.load_features}: these features were read with feature_reference="
                             f"{params.get('feature_reference')!r}, pooling={params.get('pooling')!r}; this script "
                             "needs feature_reference=false and pooling mean, std, logms (see its docstring).")
        ch_names = list(EEGMAT_CHANNELS) if X_train.shape[1] == len(EEGMAT_CHANNELS) else None
        first, second, _ = feature_channel_pairs(params.get("feature_channels", "auto"),
                                                 ch_names or [f"ch{i}" for i in range(X_train.shape[1])])
        kinds = channel_kinds(first, second)
        extractors = {}
        for encoder in ("pretrained", "untrained"):
            for statistics in args.statistics:
                for reference in args.references:
                    train, test = (readout(stored[f"{encoder}_{part}"], kinds, STATISTICS[statistics], reference)
                                   for part in ("train", "test"))
                    extractors[f"SeqCLR {encoder}, {statistics}, reference {reference}"] = stored_features(
                        train, test, X_train, X_test)
        rows += evaluate_label_efficiency(
            extractors, X_train, y_train, X_test, y_test, fractions=args.fractions, seeds=(seed,),
            probe=make_linear_probe(selection=args.probe_selection), groups_train=groups_train,
            groups_test=groups_test, normalizations=args.normalization, label_draws=args.label_draws)
        print(f"seed {seed}: {len(extractors)} readouts scored, {time.time() - started:.0f} s", flush=True)
    print()
    print(format_table(summarize(rows)))
    if args.output:
        write_rows(args.output, args, rows)


if __name__ == "__main__":
    main()
