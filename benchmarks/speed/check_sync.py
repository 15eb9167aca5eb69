"""Does a pretraining step make the host wait for the device? Counts per step, two ways.

1. On any device: every ATen operator of a real ``SeqCLRTransformer.fit``
   is watched (a ``TorchDispatchMode``) for the operators that synchronise
   with a GPU: reading a tensor's value on the host (``.item()``, ``bool()``,
   ``float()``: ``aten._local_scalar_dense``), data-dependent shapes
   (``nonzero``, ``masked_select``, ``unique``, boolean-mask indexing,
   ``repeat_interleave`` without an output size) and copies from the device to
   the host. (``.item()`` of ``torch.optim``'s step counters is listed
   apart: those live on the host on every device.) Two fits differing only in their number of steps give the count
   *per step*: the fixed costs (epoch-end loss, setup) cancel.
2. On CUDA, additionally, ``torch.cuda.set_sync_debug_mode("warn")`` counts
   the synchronisations the CUDA runtime itself reports, the same way;
   ``--where`` lists the Python line that made each of them (the caller of
   the synchronising operator, and the innermost line of skseqclr above it),
   per step.

Examples
--------
python benchmarks/speed/check_sync.py
python benchmarks/speed/check_sync.py --device cuda --where --precision auto
"""

from __future__ import annotations

import argparse
import collections
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, setup  # noqa: E402

import skseqclr  # noqa: E402
from skseqclr import SeqCLRTransformer  # noqa: E402

PACKAGE_DIR = str(Path(skseqclr.__file__).resolve().parent)

TINY = dict(model_size=dict(preset="small", branch_kernels=(8, 4, 2), branch_channels=(4, 4, 2), n_residual=1,
                            residual_kernel=4, output_kernel=4, lstm_sizes=(8, 4, 2), hidden_size=16, output_size=16))

_SYNCING = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique", "_unique2",
            "unique_consecutive", "unique_dim", "is_nonzero", "equal", "allclose"}


class SyncingOps(TorchDispatchMode):
    """Counts the ATen calls that would make the host wait for a GPU."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func._overloadpacket.__name__
        if name == "_local_scalar_dense" and _from_optimizer_step_counter():
            # torch.optim keeps its step counters on the host (capturable=False), on any device
            self.counts[HOST_STEP_COUNTER] += 1
        elif name in _SYNCING:
            self.counts[name] += 1
        elif name == "repeat_interleave" and kwargs.get("output_size") is None:
            self.counts[name] += 1
        elif name in ("index", "index_put", "index_put_") and _has_bool_index(args):
            self.counts[f"{name} (boolean mask)"] += 1
        elif name in ("_to_copy", "copy_") and _device_to_host(name, args, kwargs):
            self.counts["device-to-host copy"] += 1
        return func(*args, **kwargs)


HOST_STEP_COUNTER = "item() of torch.optim's host step counters (no device sync)"


def _from_optimizer_step_counter():
    return any(frame.name == "_get_value" and "torch/optim/" in frame.filename.replace("\\", "/")
               for frame in traceback.extract_stack(limit=12))


def _has_bool_index(args):
    indices = args[1] if len(args) > 1 else []
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (indices or []))


def _device_to_host(name, args, kwargs):
    if name == "copy_":
        destination, source = args[0], args[1]
        return source.device.type == "cuda" and destination.device.type == "cpu"
    source = args[0]
    target = kwargs.get("device")
    return source.device.type == "cuda" and target is not None and torch.device(target).type == "cpu"


def fit(max_steps, device, X, precision="fp32"):
    return SeqCLRTransformer(**TINY, sfreq=128, n_epochs=1, max_steps=max_steps, batch_size=32,
                             device=device, precision=precision, random_state=0).fit(X)


def count_syncing_ops(n_steps, device, X, precision="fp32"):
    with SyncingOps() as mode:
        fit(n_steps, device, X, precision)
    return mode.counts


def count_cuda_syncs(n_steps, device, X, precision="fp32"):
    """The synchronisations the CUDA runtime reports in a fit, by the Python line that made them."""
    sites = collections.Counter()

    def record(message, category, filename, lineno, file=None, line=None):
        if "synchroniz" not in str(message):
            return
        # The warning comes from C++ (TORCH_WARN): below the warnings module's own frames, the innermost
        # Python frame is the operator's caller.
        stack = [frame for frame in traceback.extract_stack()[:-1] if not frame.filename.endswith("warnings.py")]
        ours = [frame for frame in stack if frame.filename.startswith(PACKAGE_DIR)]
        sites[f"{_site(stack[-1])}  [skseqclr: {_site(ours[-1]) if ours else '-'}]"] += 1

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = record
            fit(n_steps, device, X, precision)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sites


def _site(frame):
    path = frame.filename.replace("\\", "/")
    short = "/".join(path.split("/")[-2:])
    return f"{short}:{frame.lineno} {frame.name}: {(frame.line or '').strip()[:70]}"


def per_step(counts_short, counts_long, extra_steps):
    keys = set(counts_short) | set(counts_long)
    return {k: (counts_long.get(k, 0) - counts_short.get(k, 0)) / extra_steps for k in sorted(keys)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--precision", default="fp32", help="the estimator's precision (default fp32)")
    parser.add_argument("--where", action="store_true",
                        help="on CUDA, list the Python lines of the synchronisations the runtime reports")
    args = parser.parse_args(argv)
    device = setup(args)
    rng = np.random.default_rng(0)
    X = (20.0 * rng.standard_normal((64, 4, 256))).astype(np.float32)
    short, long = 2, 6
    fit(1, args.device, X, args.precision)  # warm-up: lazy initialisations are not per-step costs
    a, b = (count_syncing_ops(n, args.device, X, args.precision) for n in (short, long))
    rows = [{"check": "syncing ATen ops", "op": op, f"in {short} steps": a.get(op, 0), f"in {long} steps": b.get(op, 0),
             "per step": f"{n:g}"} for op, n in per_step(a, b, long - short).items()]
    if not rows:
        rows.append({"check": "syncing ATen ops", "op": "(none)", f"in {short} steps": 0, f"in {long} steps": 0,
                     "per step": "0"})
    if device.type == "cuda":
        s, l = count_cuda_syncs(short, args.device, X, args.precision), count_cuda_syncs(long, args.device, X,
                                                                                         args.precision)
        rows.append({"check": "CUDA sync debug mode", "op": "warnings", f"in {short} steps": sum(s.values()),
                     f"in {long} steps": sum(l.values()),
                     "per step": f"{(sum(l.values()) - sum(s.values())) / (long - short):g}"})
        if args.where:
            rows += [{"check": "CUDA sync debug mode", "op": site, f"in {short} steps": s.get(site, 0),
                      f"in {long} steps": l.get(site, 0), "per step": f"{n:g}"}
                     for site, n in per_step(s, l, long - short).items()]
    print_table(rows)
    print("# per step = (count in the longer fit - count in the shorter) / extra steps; 0 means the training "
          "step itself never waits for the device (fixed per-fit costs cancel).")
    syncing = {op: n for op, n in per_step(a, b, long - short).items() if op != HOST_STEP_COUNTER}
    print(f"# device-synchronising ATen ops per step: {sum(syncing.values()):g} (precision {args.precision})")


if __name__ == "__main__":
    main()
