"""
The six SeqCLR augmentations on a real EEG channel
==================================================

SeqCLR learns by telling apart two differently augmented views of each
channel (paper §2.2). This example draws what each of the six augmentations,
at the paper's ranges, does to one channel of PhysioNet's *EEG During Mental
Arithmetic Tasks* recordings (eegmat), with
:func:`skseqclr.plot_augmentations`.
"""

# %%
# One window of real EEG
# ----------------------
# :func:`~skseqclr.datasets.fetch_eegmat` reads the recordings from a local
# folder laid out like PhysioNet's and returns braindecode windows (here 4 s,
# resampled to 128 Hz). The project keeps a copy in ``shared/data`` beside the
# repository; if it is not there, this example falls back to synthetic EEG.
import os
from pathlib import Path

import matplotlib.pyplot as plt

import skseqclr
from skseqclr.datasets import fetch_eegmat, make_synthetic_eeg

candidates = [os.environ.get("SKSEQCLR_SHARED_DATA", ""), "../shared/data", "../../shared/data"]
shared = next((Path(c) for c in candidates if c and (Path(c) / "eegmat").is_dir()), None)

sfreq = 128.0
if shared is not None:
    windows = fetch_eegmat(shared / "eegmat", subjects=[0], sfreq=sfreq, download=False)
    # an arithmetic window of the occipital channel O1
    window = int(windows.get_metadata().query("target == 1").index[0])
    channel = "O1"
    print(f"eegmat subject 0: {len(windows)} windows of 19 channels, {windows[0][0].shape[1]} samples; "
          f"the data are in volts, converted to µV for the augmentations")
else:
    print("Note: ../shared/data/eegmat not found; drawing a synthetic EEG window instead.")
    windows, _ = make_synthetic_eeg(n_windows=1, n_channels=4, n_times=512, sfreq=sfreq, random_state=0)
    window, channel = 0, 0

# %%
# All six, at the paper's ranges
# ------------------------------
# Each panel shows the original channel in grey and one augmented version,
# with the strength that was drawn (uniformly within the range, as in
# training). The ranges are ``skseqclr.PAPER_RANGES``:
print(skseqclr.PAPER_RANGES)

fig = skseqclr.plot_augmentations(windows, sfreq=None if shared is not None else sfreq, window=window,
                                  channel=channel, seed=1)
plt.show()

# %%
# A few things to notice:
#
# * the **time shift** is circular: what leaves one end re-enters at the other;
# * the **DC shift** is in µV, which is why MNE's volts are converted first;
# * the **Gaussian noise**'s sigma is relative to the channel's own standard
#   deviation (0.2 is noise at 20% of the channel's RMS);
# * the **band-stop** removes 5 Hz around a random centre; at 128 Hz the
#   centres are clipped at 61.5 Hz (Nyquist minus half the width).
#
# Several draws per augmentation
# ------------------------------
# Strengths are drawn per channel, so in one training batch each channel gets
# its own. ``n_examples`` draws several; ``ranges`` changes or removes
# augmentations (``None`` leaves one out). The ranges in samples were set at
# the paper's 200 Hz; to keep their durations at 128 Hz, scale them by
# 128 / 200:
scaled = {"time_shift": (-32, 32), "zero_mask": (0, 96), "dc_shift": None, "bandstop": None}
fig = skseqclr.plot_augmentations(windows, sfreq=None if shared is not None else sfreq, window=window,
                                  channel=channel, ranges=scaled, n_examples=2, seed=2)
plt.show()
