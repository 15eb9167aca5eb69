"""Pooling at several time scales (issue #8's lever): does the variation of power inside a window add to SeqCLR's features?

``transform`` pools each encoder output over the whole window (mean, standard
deviation, log-mean-square). This script adds statistics over shorter
segments: the log-mean-square of every non-overlapping segment of
``--segments`` samples (1 s and 0.5 s at 128 Hz by default), summarised by
its standard deviation across the window (how much a rhythm's power varies
inside it). It is registered in
:data:`skseqclr.pooling.POOLING_STATISTICS`, so the encoder pools them as it
pools its own statistics. (Maximum and minimum over the segments, tried
the same way on the crop-trained encoders, did no better.)

Same protocol as ``bench_label_efficiency.py`` (EEGMAT, subjects 00-23 train /
24-35 test, the grouped-CV linear probe, 100% / 10% / 1% of the labels,
``--label-draws`` subsets per seed, features as they are and standardised per
subject), on encoders saved by its ``--save-dir`` and on the same encoders
untrained. Each window is encoded once per encoder with every statistic; each
readout then selects its columns.

    python benchmarks/bench_time_scales.py --load-dir crops/ --seeds 0 1 2 --threads 1 --output ts.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from _common import write_rows
from bench_label_efficiency import DEFAULT_DATA, load_eegmat
from sklearn.preprocessing import FunctionTransformer

from skseqclr import SeqCLRTransformer
from skseqclr.evaluation.probe import make_linear_probe
from skseqclr.evaluation.protocol import evaluate_label_efficiency
from skseqclr.evaluation.reporting import format_table, summarize
from skseqclr.pooling import POOLING_STATISTICS

WHOLE_WINDOW = ("mean", "std", "logms")


def segment_log_mean_square(h, segment):
    """Log-mean-square of each whole ``segment``-sample stretch of ``h``: shape ``(..., n_segments)``."""
    n_times = h.shape[-1] // segment * segment
    return torch.log(h[..., :n_times].unflatten(-1, (-1, segment)).square().mean(dim=-1) + 1e-6)


def register_segment_statistics(segments):
    """Add ``seg<n>_std`` for each segment length; return the readouts (name: statistics)."""
    readouts = {"mean, std, log-mean-square (default)": list(WHOLE_WINDOW)}
    for n in segments:
        POOLING_STATISTICS[f"seg{n}_std"] = lambda h, n=n: segment_log_mean_square(h, n).std(dim=-1, unbiased=False)
        readouts[f"default + std of {n}-sample log-mean-squares"] = [*WHOLE_WINDOW, f"seg{n}_std"]
    return readouts


def select_statistics(statistics, names):
    """A transformer taking ``encode`` output flattened to (windows, channels * 4 * statistics) to ``names``' columns."""
    columns = [statistics.index(name) for name in names]

    def select(features):
        return features.reshape(len(features), -1, len(statistics))[..., columns].reshape(len(features), -1)
    return FunctionTransformer(select)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--load-dir", type=Path, required=True,
                        help="seed<k>.safetensors written by bench_label_efficiency.py --save-dir")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--segments", type=int, nargs="+", default=[128, 64], help="segment lengths, samples")
    parser.add_argument("--label-draws", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    readouts = register_segment_statistics(args.segments)
    statistics = list(dict.fromkeys(name for names in readouts.values() for name in names))
    X_train, y_train, X_test, y_test, groups_train, groups_test = load_eegmat(args.data_dir, 128.0, 4.0)

    rows = []
    for seed in args.seeds:
        pretrained = SeqCLRTransformer.load(args.load_dir / f"seed{seed}.safetensors")
        untrained = SeqCLRTransformer(**{**pretrained.get_params(), "n_epochs": 0, "random_state": seed}).fit(X_train)
        for label, encoder in (("pretrained", pretrained), ("untrained", untrained)):
            encoder.set_params(pooling=statistics)
            F_train, F_test = encoder.encode(X_train), encoder.encode(X_test)
            F_train, F_test = F_train.reshape(len(F_train), -1), F_test.reshape(len(F_test), -1)
            extractors = {f"SeqCLR {label}, {name}": select_statistics(statistics, names).fit(F_train)
                          for name, names in readouts.items()}
            rows += evaluate_label_efficiency(extractors, F_train, y_train, F_test, y_test, seeds=(seed,),
                                              probe=make_linear_probe(), groups_train=groups_train,
                                              groups_test=groups_test, normalizations=("none", "group"),
                                              label_draws=args.label_draws)
            print(f"seed {seed}: {label} encoder done ({time.time() - started:.0f} s)", flush=True)
    print()
    print(format_table(summarize(rows)))
    print(f"\nwall time {time.time() - started:.0f} s; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    if args.output:
        write_rows(args.output, args, rows)


if __name__ == "__main__":
    main()
