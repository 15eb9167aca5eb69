"""Pooling at several time scales: does the variation of power inside a window add to SeqCLR's features?

``transform`` pools each encoder output over the whole window (mean, standard
deviation, log-mean-square). This script adds statistics over shorter
segments: the log-mean-square of every non-overlapping segment of
``--segments`` samples (1 s and 0.5 s at 128 Hz by default), summarised by
its standard deviation across the window (how much a rhythm's power varies
inside it). It is registered in
:data:`skseqclr.pooling.POOLING_STATISTICS`, so the encoder pools them as it
pools its own statistics. (Maximum and minimum over the segments, tried
the same way on the crop-trained encoders, did no better.)

Same protocol as ``label_efficiency.py`` (EEGMAT, subjects 00-23 train /
24-35 test, the grouped-CV linear probe, 100% / 10% / 1% of the labels,
``--label-draws`` subsets per seed, features as they are and standardised per
subject), on encoders saved by its ``--save-dir`` and on the same encoders
untrained. Each window is encoded once per encoder with every statistic; each
readout then selects its columns::

    python benchmarks/experiments/time_scales.py --load-dir crops/ --seeds 0 1 2 --threads 1 --output ts.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from sklearn.preprocessing import FunctionTransformer

from skseqclr.pooling import POOLING_STATISTICS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner as runner  # noqa: E402

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
    """A transformer taking ``encode`` output, flattened to (windows, channels * 4 * statistics), to ``names``'
    columns."""
    columns = [statistics.index(name) for name in names]

    def select(features):
        return features.reshape(len(features), -1, len(statistics))[..., columns].reshape(len(features), -1)
    return FunctionTransformer(select)


def build_parser():
    parser = runner.make_parser(__doc__, label_draws=10)
    parser.add_argument("--load-dir", type=Path, default=None,
                        help="seed<k>.safetensors written by label_efficiency.py --save-dir")
    parser.add_argument("--segments", type=int, nargs="+", default=[128, 64], help="segment lengths, samples")
    return parser


def main(argv=None):
    return runner.run(build_parser(), argv, score, check=runner.require("--load-dir"))


def score(args, split):
    readouts = register_segment_statistics(args.segments)
    statistics = list(dict.fromkeys(name for names in readouts.values() for name in names))
    started = time.time()
    rows = []
    for seed in args.seeds:
        pretrained = runner.load_pretrained(args.load_dir, seed)
        untrained = runner.untrained_twin(pretrained, seed, split.X_train)
        for label, encoder in (("pretrained", pretrained), ("untrained", untrained)):
            encoder.set_params(readout__pooling=statistics)
            F_train, F_test = (encoder.encode(X).reshape(len(X), -1) for X in (split.X_train, split.X_test))
            extractors = {f"SeqCLR {label}, {name}": select_statistics(statistics, names).fit(F_train)
                          for name, names in readouts.items()}
            rows += runner.evaluate(args, extractors, split._replace(X_train=F_train, X_test=F_test), seeds=(seed,))
            print(f"seed {seed}: {label} encoder done ({time.time() - started:.0f} s)", flush=True)
    return rows


if __name__ == "__main__":
    main()
