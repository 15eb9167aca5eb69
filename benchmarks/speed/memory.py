"""Peak memory of a short ``SeqCLRTransformer.fit`` with recombination, by channel count.

Each case runs in a fresh Python process: it makes the data (float32 µV,
generated in place so that making it leaves no transient peak), records the
resident set size (RSS), fits a few steps with recombination on, and reports
the peak RSS above that baseline (``ru_maxrss``; on CUDA also the peak of
``torch.cuda.max_memory_allocated``). Next to it: what materialising the n²
recombined channels would take, per batch and for the data set, which is what
the package never does (:mod:`skseqclr.recombination` draws channels by index).

The model is tiny so that the figure is the data path's (reading, recombining,
augmenting, scaling), not the network's activations; the last case doubles the
batch to show what memory does grow with.

Examples
--------
python benchmarks/speed/memory.py --threads 1 --length 4000
python benchmarks/speed/memory.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_arguments, print_table, setup  # noqa: E402

SFREQ = 200.0
TINY = dict(model_size=dict(preset="small", branch_kernels=(8, 4, 2), branch_channels=(4, 4, 2), n_residual=1,
                            residual_kernel=4, output_kernel=4, lstm_sizes=(8, 4, 2), hidden_size=16, output_size=16))


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(args):
    """Run one case in this (fresh) process and print a JSON line."""
    import numpy as np
    import torch

    from skseqclr import SeqCLRTransformer

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = np.empty((args.windows, args.case_channels, args.length), dtype=np.float32)
    rng.standard_normal(out=X, dtype=np.float32)
    X *= 20.0
    estimator = SeqCLRTransformer(**TINY, sfreq=SFREQ, n_epochs=1, max_steps=args.steps,
                                  batch_size=args.case_batch, recombination=True,
                                  device=args.device, precision="fp32", random_state=0)
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats()
    baseline = current_rss_bytes()
    estimator.fit(X)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    result = {"rss_delta": peak - baseline, "data": X.nbytes}
    if cuda:
        result["cuda_peak"] = torch.cuda.max_memory_allocated()
    print(json.dumps(result))


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.4g}"


def run(args):
    setup(args)
    cases = [(8, args.batch), (32, args.batch), (64, args.batch), (32, 4 * args.batch)]
    if args.quick:
        cases = [(8, args.batch), (64, args.batch)]
    print(f"# fit: tiny conv encoder, {args.steps} steps, windows of {args.length} samples, "
          f"{args.windows} windows, 4 channels drawn per window, recombination on")
    rows = []
    for n_channels, batch in cases:
        command = [sys.executable, __file__, "--worker", "--case-channels", str(n_channels),
                   "--case-batch", str(batch), "--windows", str(args.windows), "--length", str(args.length),
                   "--steps", str(args.steps), "--device", args.device]
        if args.threads is not None:
            command += ["--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"channels": n_channels, "batch": batch,
                         "peak RSS above baseline MiB": f"failed: {done.stderr.strip().splitlines()[-1][:80]}"})
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        windows_per_batch = math.ceil(batch / 4)
        n2_batch = windows_per_batch * n_channels ** 2 * args.length * 4
        n2_all = args.windows * n_channels ** 2 * args.length * 4
        row = {"channels": n_channels, "batch": batch, "data MiB": mib(result["data"]),
               "peak RSS above baseline MiB": mib(result["rss_delta"]),
               "n² set per batch MiB": mib(n2_batch), "n² set of data MiB": mib(n2_all)}
        if "cuda_peak" in result:
            row["CUDA peak MiB"] = mib(result["cuda_peak"])
        rows.append(row)
    columns = ["channels", "batch", "data MiB", "peak RSS above baseline MiB"]
    if any("CUDA peak MiB" in r for r in rows):
        columns.append("CUDA peak MiB")
    print_table(rows, columns + ["n² set per batch MiB", "n² set of data MiB"])
    print("# 'n² set' columns: what materialising all recombined channels would take (never done).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, default_length=4000)
    parser.add_argument("--batch", type=int, default=64, help="channel-windows per step (default 64)")
    parser.add_argument("--windows", type=int, default=64, help="windows in the data set (default 64)")
    parser.add_argument("--steps", type=int, default=3, help="training steps per fit (default 3)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case-channels", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--case-batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
