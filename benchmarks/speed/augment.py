"""The six SeqCLR augmentations against braindecode's nearest equivalents, on one batch.

The batch is ``--windows`` windows of ``--channels`` channels and ``--length``
samples at 200 Hz (default 8 x 19 x 4000: 20-s windows of a 10-20 montage), in
µV. skseqclr augments single channels, each with its own strength, as one
``(windows * channels, time)`` tensor. braindecode's transforms take
``(windows, channels, time)`` and draw one strength per window; its band-stop
is run twice: per window (its own use: one notch shared by the window's
channels) and per single channel (``(windows * channels, 1, time)``, the
paper's per-channel semantics). Throughput is in channel-windows per second in
both cases, so rows compare the same amount of data; each timing includes
drawing the strengths. braindecode has no time shift and no DC shift.

Examples
--------
python benchmarks/speed/augment.py --threads 1
python benchmarks/speed/augment.py --device cuda
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_common_arguments, print_table, setup, time_call  # noqa: E402

from skseqclr.augmentations import ChannelAugmenter, PAPER_RANGES, make_augmentations  # noqa: E402

SFREQ = 200.0


def braindecode_transforms():
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        import braindecode.augmentation as B
    except ImportError:
        print("# braindecode is not installed here: skseqclr's figures only.")
        return {name: None for name in PAPER_RANGES}

    low, high = PAPER_RANGES["amplitude_scale"]
    return {
        "amplitude_scale": ("AmplitudeScale", B.AmplitudeScale(1.0, interval=(low, high), random_state=0)),
        "time_shift": None,
        "dc_shift": None,
        "zero_mask": ("SmoothTimeMask", B.SmoothTimeMask(1.0, mask_len_samples=int(PAPER_RANGES["zero_mask"][1]),
                                                         random_state=0)),
        "gaussian_noise": ("GaussianNoise", B.GaussianNoise(1.0, std=0.1, random_state=0)),
        "bandstop": ("BandstopFilter", B.BandstopFilter(1.0, sfreq=SFREQ, bandwidth=5.0, random_state=0)),
    }


def run(args):
    device = setup(args)
    n_windows, n_channels, length = args.windows, args.channels, args.length
    n = n_windows * n_channels
    print(f"# batch: {n_windows} windows x {n_channels} channels x {length} samples "
          f"({length / SFREQ:g} s at {SFREQ:g} Hz) = {n} channel-windows, float32 µV")
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    windows = 20.0 * torch.randn(n_windows, n_channels, length, device=device)
    channels = windows.reshape(n, length)
    ours = {a.name: a for a in make_augmentations(sfreq=SFREQ, **PAPER_RANGES)}
    theirs = braindecode_transforms()
    theirs_available = any(match is not None for match in theirs.values())
    # Ours take milliseconds: many repeats, so that the best is not one disturbed by the
    # other processes of a shared machine (or by the allocator returning memory to the OS).
    repeats, their_repeats = (5, 2) if args.quick else (20, 5)
    rows = []
    for name, augmentation in ours.items():
        seconds = time_call(lambda: augmentation(channels, generator), device, repeats=repeats)
        row = {"augmentation": name, "skseqclr ch-win/s": f"{n / seconds:.4g}"}
        match = theirs[name]
        if match is None:
            row.update({"braindecode": "(none)" if theirs_available else "(not installed)",
                        "braindecode ch-win/s": "", "speed-up": ""})
            rows.append(row)
            continue
        label, transform = match
        if name == "bandstop":
            # One FIR design + filtering per sample on the CPU: slow, so fewer repeats.
            slow = 1 if args.quick else 3
            per_window = time_call(lambda: transform(windows), device, repeats=slow)
            per_channel = time_call(lambda: transform(channels.unsqueeze(1)), device, repeats=slow,
                                    warmup=0 if args.quick else 1)
            rows.append({**row, "braindecode": f"{label} (per window)",
                         "braindecode ch-win/s": f"{n / per_window:.4g}", "speed-up": f"{per_window / seconds:.1f}x"})
            rows.append({"augmentation": "", "skseqclr ch-win/s": "", "braindecode": f"{label} (per channel)",
                         "braindecode ch-win/s": f"{n / per_channel:.4g}",
                         "speed-up": f"{per_channel / seconds:.1f}x"})
            continue
        theirs_s = time_call(lambda: transform(windows), device, repeats=their_repeats)
        rows.append({**row, "braindecode": label, "braindecode ch-win/s": f"{n / theirs_s:.4g}",
                     "speed-up": f"{theirs_s / seconds:.1f}x"})
    augmenter = ChannelAugmenter(list(ours.values()))
    seconds = time_call(lambda: augmenter(channels, generator), device, repeats=repeats)
    rows.append({"augmentation": "ChannelAugmenter (2 views)", "skseqclr ch-win/s": f"{n / seconds:.4g}",
                 "braindecode": "", "braindecode ch-win/s": "", "speed-up": ""})
    print_table(rows, ["augmentation", "skseqclr ch-win/s", "braindecode", "braindecode ch-win/s", "speed-up"])
    print("# ChannelAugmenter computes all six for the whole batch and keeps each where chosen "
          "(torch.where), so its cost is the sum of the rows above, per view.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--windows", type=int, default=8, help="windows in the batch (default 8)")
    parser.add_argument("--channels", type=int, default=19, help="channels per window (default 19)")
    args = parser.parse_args(argv)
    if args.quick:
        args.windows = min(args.windows, 4)
    run(args)


if __name__ == "__main__":
    main()
