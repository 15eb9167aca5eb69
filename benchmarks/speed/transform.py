"""Feature-extraction throughput of ``SeqCLRTransformer.transform`` (windows per second).

A transformer is "fitted" without training (``max_steps=0``: weights at their
initialisation, which costs the same to evaluate as trained ones), then
transforms ``--windows`` windows of ``--channels`` channels and ``--length``
samples: every channel encoded, features pooled. Conv encoders are timed with
PyTorch's direct convolution (the baseline) and with the automatic algorithm
(FFT for long kernels on CPUs, see ``skseqclr.nn.fft_conv``); bf16 runs where the
device has native bf16.

Examples
--------
python benchmarks/speed/transform.py --threads 1 --length 400 --quick
python benchmarks/speed/transform.py --device cuda --windows 256
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_arguments, native_bf16, print_table, setup, time_call  # noqa: E402

from skseqclr import SeqCLRTransformer  # noqa: E402
from skseqclr.nn.fft_conv import conv_algorithm  # noqa: E402

SFREQ = 200.0


def run(args):
    device = setup(args)
    rng = np.random.default_rng(0)
    X = (20.0 * rng.standard_normal((args.windows, args.channels, args.length))).astype(np.float32)
    print(f"# transform: {args.windows} windows x {args.channels} channels x {args.length} samples "
          f"({args.length / SFREQ:g} s at {SFREQ:g} Hz); best of {args.repeats} after a 1-window warm-up")
    precisions = ["fp32"] + (["bf16"] if native_bf16(device) else [])
    rows = []
    for kind in args.encoders.split(","):
        for size in args.sizes.split(","):
            for precision in precisions:
                estimator = SeqCLRTransformer(encoder=kind, model_size=size, sfreq=SFREQ, max_steps=0,
                                              device=args.device, precision=precision,
                                              batch_size=args.batch, random_state=0).fit(X[:1])
                baseline = None
                for algorithm in (["direct", "auto"] if kind == "conv" and device.type == "cpu" else ["direct"]):
                    with conv_algorithm(algorithm):
                        estimator.transform(X[:1])
                        seconds = time_call(lambda: estimator.transform(X), device, repeats=args.repeats, warmup=0)
                    baseline = baseline or seconds
                    rows.append({"encoder": kind, "size": size, "precision": precision,
                                 "conv": algorithm if kind == "conv" else "-",
                                 "windows/s": f"{args.windows / seconds:.4g}",
                                 "ch-windows/s": f"{args.windows * args.channels / seconds:.4g}",
                                 "x baseline": f"{baseline / seconds:.2f}"})
                    print(f"#   done {kind}/{size}/{precision}/{algorithm}: {seconds:.3g} s", file=sys.stderr,
                          flush=True)
    if len(precisions) == 1:
        print("# bf16 not run: this device has no native bf16 (it would be emulated, far slower than fp32).")
    print_table(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--windows", type=int, default=16, help="windows to transform (default 16; --quick: 4)")
    parser.add_argument("--channels", type=int, default=19, help="channels per window (default 19)")
    parser.add_argument("--batch", type=int, default=256, help="the estimator's batch_size (default 256)")
    parser.add_argument("--encoders", default="conv,recurrent")
    parser.add_argument("--sizes", default="paper,small")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    if args.quick:
        args.windows, args.repeats = min(args.windows, 4), 1
    warnings.filterwarnings("ignore", category=FutureWarning)
    run(args)


if __name__ == "__main__":
    main()
