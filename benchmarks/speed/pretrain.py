"""Training-step throughput of SeqCLR pretraining, against the machine's matrix-product peak.

One step is what :class:`skseqclr.training.pretrainer.Pretrainer` does per batch: draw
recombined channels and two augmented, scaled views of each
(:class:`~skseqclr.training.pretrainer.ContrastiveViews`), encode and project both views
in one pass, NT-Xent, backward, AdamW step. Throughput is in channel-windows
per second (single channels of ``--length`` samples; each yields two views).

The step's FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode``
on the ``meta`` device (nothing is computed), with PyTorch's direct
convolution; the LSTMs and GRUs are counted analytically, since on a real CPU
the oneDNN LSTM kernel is invisible to the counter (see
:func:`count_step_flops`). ``--check-flops`` compares the analytic count with
a full FlopCounterMode count on a short window and prints both. These are
*model* FLOPs: the FFT convolution (``skseqclr.nn.fft_conv``) does the same work
with fewer operations, so its "model FLOP/s" can exceed the hardware's peak.

Rows per encoder and size: fp32 eager with the direct convolution (the
baseline, "without the optimisations"), fp32 with the automatic algorithm
(FFT for long kernels on CPUs), bf16 autocast, and with ``--compile`` the
``torch.compile``d variants. bf16 runs only where it can finish: on CPUs
without AMX/AVX512-BF16 bf16 is emulated, so a bf16 case runs only if its
estimated step time (FLOPs / bf16 peak) is under ``--max-emulated-s``; the
others print the estimate instead.

Examples
--------
python benchmarks/speed/pretrain.py --threads 1 --length 400 --quick
python benchmarks/speed/pretrain.py --device cuda --batch 256 --compile
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (add_common_arguments, matmul_peak, native_bf16, print_table, setup, si,  # noqa: E402
                     synchronize)

from skseqclr.augmentations import ChannelAugmenter, PAPER_RANGES, make_augmentations  # noqa: E402
from skseqclr.nn.encoders import make_encoder  # noqa: E402
from skseqclr.nn.fft_conv import conv_algorithm  # noqa: E402
from skseqclr.nn.heads import HEAD_SIZES, Projector  # noqa: E402
from skseqclr.nn.losses import nt_xent  # noqa: E402
from skseqclr.training import ContrastiveViews, SeqCLRNetwork, autocast  # noqa: E402

SFREQ = 200.0
N_CHANNELS = 19  # a 10-20 montage, as in the paper's datasets
TINY = {
    "conv": dict(branch_kernels=(8, 4, 2), branch_channels=(4, 4, 2), n_residual=1,
                 residual_kernel=4, output_kernel=4),
    "recurrent": dict(gru_sizes=(8, 4, 2), dense_size=8, n_residual=1),
}
TINY_PROJECTOR = dict(lstm_sizes=(8, 4, 2), hidden_size=16, output_size=16)


def build_network(kind: str, size: str) -> SeqCLRNetwork:
    if size == "tiny":
        encoder, projector = make_encoder(kind, "small", **TINY[kind]), Projector(4, **TINY_PROJECTOR)
    else:
        encoder, projector = make_encoder(kind, size), Projector(4, **HEAD_SIZES[size])
    return SeqCLRNetwork(encoder, projector)


def make_views(batch: int) -> ContrastiveViews:
    augmenter = ChannelAugmenter(make_augmentations(sfreq=SFREQ, **PAPER_RANGES))
    return ContrastiveViews(batch_size=batch, channels_per_window=4, recombination=True,
                            augmenter=augmenter, scaling="global", input_scale=20.0)


class Step:
    """One pretraining step (as ``Pretrainer._train_step``) on fixed windows."""

    def __init__(self, kind, size, batch, length, device, precision, compiled=False, seed=0):
        torch.manual_seed(seed)
        self.network = build_network(kind, size).to(device).train()
        self.forward = torch.compile(self.network) if compiled else self.network
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=1e-3)
        self.views = make_views(batch)
        n_windows = self.views.windows_per_batch
        self.windows = 20.0 * torch.randn(n_windows, N_CHANNELS, length, device=device)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        self.device, self.precision = device, precision

    def __call__(self):
        view_a, view_b = self.views(self.windows, self.generator)
        with autocast(self.device, self.precision):
            projections = self.forward(torch.cat([view_a, view_b], dim=0))
        z_a, z_b = projections.float().chunk(2, dim=0)
        loss = nt_xent(z_a, z_b, 0.1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()


def _rnn_flops(module, inputs):
    """Matrix-product FLOPs of one LSTM/GRU call, forward + backward (2x forward)."""
    batch, steps, _ = inputs[0].shape  # batch_first in every skseqclr module
    gates = 4 if isinstance(module, torch.nn.LSTM) else 3
    directions = 2 if module.bidirectional else 1
    return 3 * 2 * batch * steps * directions * gates * module.hidden_size * (module.input_size + module.hidden_size)


def _count(kind, size, batch, length, recurrent="analytic"):
    """FLOPs of one step on the meta device: (by-operator dict incl. "LSTM/GRU (analytic)").

    ``recurrent="analytic"`` replaces every LSTM/GRU by a stand-in of the
    same output shape during counting and adds the analytic count of its
    products; ``"counted"`` lets them decompose into one product per time step
    that the counter sees (minutes for long windows: used as a check).
    """
    with torch.device("meta"):
        network = build_network(kind, size)
        views = torch.randn(2 * batch, length)
    rnn_total = 0

    def stand_in(module):
        def forward(input, hx=None):
            nonlocal rnn_total
            rnn_total += _rnn_flops(module, (input,))
            directions = 2 if module.bidirectional else 1
            out = input.new_zeros(*input.shape[:2], directions * module.hidden_size) + 0 * input.sum()
            return out, None
        return forward

    if recurrent == "analytic":
        for module in network.modules():
            if isinstance(module, (torch.nn.LSTM, torch.nn.GRU)):
                module.forward = stand_in(module)
    with conv_algorithm("direct"), FlopCounterMode(display=False) as counter:
        z_a, z_b = network(views).chunk(2, dim=0)
        nt_xent(z_a, z_b, 0.1).backward()
    counts = {str(op).replace("aten.", ""): n for op, n in counter.get_flop_counts()["Global"].items()}
    if recurrent == "analytic" and rnn_total:
        counts["LSTM/GRU (analytic)"] = rnn_total
    return counts


def count_step_flops(kind, size, batch, length):
    """Total FLOPs of one step's network + loss, forward and backward, and their breakdown.

    ``FlopCounterMode`` counts convolutions, linear layers and the loss; the
    LSTMs and GRUs are counted analytically (``2 * gates * hidden * (input +
    hidden)`` per time step, direction and sample, backward twice the
    forward): on a real CPU the oneDNN LSTM kernel is invisible to the
    counter, and on the meta device the recurrences decompose into one product
    per time step, which takes minutes to count for 4000-sample windows.
    :func:`check_flop_count` compares both ways on a short window.
    """
    counts = _count(kind, size, batch, length)
    return sum(counts.values()), counts


def check_flop_count(kind, size, length=128):
    """(analytic total, fully counted total) on one channel-window of ``length`` samples."""
    analytic = sum(_count(kind, size, 1, length).values())
    counted = sum(_count(kind, size, 1, length, recurrent="counted").values())
    return analytic, counted


def run(args):
    device = setup(args)
    batch, length = args.batch, args.length
    has_bf16 = native_bf16(device)
    peak32, size32 = matmul_peak(device, torch.float32)
    peak16, size16 = matmul_peak(device, torch.bfloat16)
    print(f"# dense matmul peak, same run: fp32 {si(peak32, 'FLOP/s')} (n={size32}), "
          f"bf16 {si(peak16, 'FLOP/s')} (n={size16}); bf16/fp32 = {peak16 / peak32:.3g}")
    print(f"# step: {batch} channel-windows of {length} samples ({length / SFREQ:g} s at {SFREQ:g} Hz) "
          f"-> {2 * batch} views; {args.steps} timed steps after 1 warm-up, best step reported")

    sizes = args.sizes.split(",")
    kinds = args.encoders.split(",")
    rows, checks = [], []
    for kind in kinds:
        for size in sizes:
            flops, counts = count_step_flops(kind, size, batch, length)
            line = (f"#   {kind}/{size}: {si(flops, 'FLOP')} per step; "
                    + ", ".join(f"{k} {si(v)}" for k, v in sorted(counts.items())))
            if args.check_flops:
                analytic, counted = check_flop_count(kind, size)
                line += (f"; check on 1 channel-window of 128 samples: analytic LSTM/GRU {si(analytic)}, "
                         f"counted by FlopCounterMode {si(counted)} (ratio {analytic / counted:.4f})")
            checks.append(line)
            cases = [("fp32", "direct", False)]
            if device.type == "cpu" or args.force_fft:
                cases.append(("fp32", "auto" if device.type == "cpu" else "fft", False))
            cases.append(("bf16", "auto", False))
            if args.compile:
                cases.append(("fp32", "auto" if device.type == "cpu" else "direct", True))
                cases.append(("bf16", "auto", True))
            baseline = None
            for precision, algorithm, compiled in cases:
                row = {"encoder": kind, "size": size, "precision": precision,
                       "conv": algorithm if kind == "conv" else "-", "compiled": "yes" if compiled else "no"}
                if kind == "recurrent" and algorithm != "direct" and precision == "fp32" and not compiled:
                    continue  # no convolution: identical to the baseline row
                if precision == "bf16" and not has_bf16:
                    estimate = flops / peak16
                    if estimate > args.max_emulated_s:
                        row["step s"] = f"skipped: emulated bf16, ~{estimate / 60:.0f} min/step at bf16 peak"
                        rows.append(row)
                        continue
                try:
                    with conv_algorithm(algorithm):
                        step = Step(kind, size, batch, length, device, precision, compiled)
                        start = time.perf_counter()
                        step()  # warm-up (and compilation)
                        synchronize(device)
                        first = time.perf_counter() - start
                        best = float("inf")
                        for _ in range(args.steps):
                            start = time.perf_counter()
                            step()
                            synchronize(device)
                            best = min(best, time.perf_counter() - start)
                except Exception as error:  # report (out of memory, say) and carry on with the other cases
                    row["step s"] = f"failed: {type(error).__name__}: {str(error)[:80]}"
                    rows.append(row)
                    step = None
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                if baseline is None and precision == "fp32" and algorithm == "direct" and not compiled:
                    baseline = best
                achieved = flops / best
                row.update({
                    "step s": f"{best:.3g}" + (f" (1st {first:.0f})" if compiled else ""),
                    "ch-windows/s": f"{batch / best:.4g}",
                    "model FLOP/s": si(achieved),
                    "/fp32 peak": f"{achieved / peak32:.2f}",
                    "/bf16 peak": f"{achieved / peak16:.2f}",
                    "x baseline": f"{baseline / best:.2f}" if baseline else "",
                })
                rows.append(row)
                del step
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                print(f"#   done {kind}/{size}/{precision}/{algorithm}/compiled={compiled}: {best:.3g} s",
                      file=sys.stderr, flush=True)
    print("# FLOPs per step (FlopCounterMode on the meta device, direct convolution, LSTM/GRU analytic):")
    print("\n".join(checks))
    if not has_bf16:
        print(f"# bf16 is emulated on this device (no AMX/AVX512-BF16): its matmul peak is "
              f"{peak32 / peak16:.0f}x below fp32; bf16 cases estimated over {args.max_emulated_s:g} s/step are skipped.")
    print_table(rows, ["encoder", "size", "precision", "conv", "compiled", "step s", "ch-windows/s",
                       "model FLOP/s", "/fp32 peak", "/bf16 peak", "x baseline"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--batch", type=int, default=8, help="channel-windows per step (default 8)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case (default 3; --quick: 2)")
    parser.add_argument("--encoders", default="conv,recurrent")
    parser.add_argument("--sizes", default=None,
                        help="comma-separated of paper,small,tiny (default all three)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd steps")
    parser.add_argument("--check-flops", action="store_true",
                        help="also count LSTM/GRU FLOPs with FlopCounterMode on a short window, as a check")
    parser.add_argument("--force-fft", action="store_true", help="also time the FFT convolution on GPUs")
    parser.add_argument("--max-emulated-s", type=float, default=20.0,
                        help="run emulated bf16 only if a step's estimate is below this (default 20 s)")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "paper,small,tiny"
    if args.quick:
        args.steps = min(args.steps, 2)
    run(args)


if __name__ == "__main__":
    main()
