"""
Transfer across datasets and montages: eegmat to motor imagery
==============================================================

The SeqCLR encoder reads **one channel at a time** and keeps its length (paper
§2.3), so an encoder pretrained on one dataset applies to recordings with
another montage and channel count. Here it is pretrained, without labels, on
the 19-channel mental-arithmetic recordings (eegmat) and then used, frozen, to
classify imagined left- vs right-hand movements in the 64-channel EEG Motor
Movement/Imagery dataset (eegmmidb, subject 1), with a linear probe.
"""

# %%
# Pretraining on eegmat
# ---------------------
# Both datasets are resampled to 64 Hz: an encoder trained at one rate sees
# other rates as other frequencies, so ``encode`` refuses data at a different
# rate (unless ``resample_to`` is set). Without the local copy of the
# recordings, the example falls back to synthetic EEG.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score

from skseqclr import SeqCLRTransformer
from skseqclr.evaluation.baselines import LogVarianceBandPower
from skseqclr.datasets import fetch_eegmat, load_eegbci, make_synthetic_eeg
from skseqclr.evaluation.probe import make_linear_probe

QUICK = os.environ.get("SKSEQCLR_DOCS_QUICK", "0") not in ("", "0")
candidates = [os.environ.get("SKSEQCLR_SHARED_DATA", ""), "../shared/data", "../../shared/data"]
shared = next((Path(c) for c in candidates
               if c and (Path(c) / "eegmat").is_dir() and (Path(c) / "eegbci").is_dir()), None)

sfreq = 64.0
if shared is not None:
    pretraining_windows = fetch_eegmat(shared / "eegmat", subjects=range(6 if QUICK else 12), sfreq=sfreq,
                                       download=False)
    # runs 4, 8 and 12: imagined left fist (target 0) vs right fist (target 1), cues at t = 0
    motor = load_eegbci(subject=1, runs=(4, 8, 12), path=shared / "eegbci", tmin=0.0, tmax=4.0, sfreq=sfreq)
    y_motor = motor.get_metadata()["target"].to_numpy()
    n_motor_channels = motor[0][0].shape[0]
else:
    print("Note: ../shared/data not found; using synthetic EEG with 19 and 64 channels instead.")
    pretraining_windows, _ = make_synthetic_eeg(n_windows=300, n_channels=19, n_times=256, sfreq=sfreq,
                                                random_state=0)
    motor, y_motor = make_synthetic_eeg(n_windows=45, n_channels=64, n_times=256, sfreq=sfreq, noise=3.0,
                                        random_state=1)
    n_motor_channels = 64
print(f"pretraining: {len(pretraining_windows)} windows of 19 channels; "
      f"target task: {len(y_motor)} trials of {n_motor_channels} channels, {np.bincount(y_motor)} per class")

cpu_sizes = dict(model_size=dict(preset="small", branch_channels=(8, 8, 4), n_residual=1, lstm_sizes=(16, 8, 4),
                                 hidden_size=16))
settings = dict(**cpu_sizes, sfreq=None if shared is not None else sfreq, time_shift=(-16, 16),
                zero_mask=(0, 48), batch_size=64, random_state=0)
seqclr = SeqCLRTransformer(**settings, n_epochs=2 if QUICK else 5).fit(pretraining_windows)
untrained = SeqCLRTransformer(**settings, n_epochs=0).fit(pretraining_windows)
print(f"pretrained for {seqclr.n_steps_} steps on {seqclr.n_channels_fit_[0]}-channel windows")

# %%
# Encoding a 64-channel montage
# -----------------------------
# ``transform`` refuses windows whose channel count it was not fitted on,
# since the layout of its feature vector would change. ``encode`` returns the
# pooled features **per channel read** for any montage, which we flatten for
# the probe. eegbci's 64 electrodes have 10-10 names, so the default
# ``feature_channels="auto"`` reads them and the 176 differences of
# neighbouring electrodes (240 channels x 12 statistics per trial); on motor
# imagery the neighbours lifted pretrained and untrained encoders alike
# (:ref:`benchmark-motor-imagery`). The synthetic fallback, unnamed, is read on
# its 64 channels.
motor_features = seqclr.encode(motor)
print("encode:", motor_features.shape, "(trials, channels, features per channel)")
features = {
    f"SeqCLR, pretrained on {'eegmat' if shared is not None else 'synthetic EEG'}":
        motor_features.reshape(len(y_motor), -1),
    "same encoder, untrained": untrained.encode(motor).reshape(len(y_motor), -1),
    "log-variance in 4-8, 8-13, 13-30 Hz": LogVarianceBandPower(
        sfreq=None if shared is not None else sfreq).fit_transform(motor),
}

# %%
# Linear probe, cross-validated
# -----------------------------
# 45 trials are few, so the probe is strongly regularised (``C=0.01``) and
# scored by balanced accuracy over 5-fold cross-validation repeated 4 times.
# The encoders are frozen: only the probe sees labels.
cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2 if QUICK else 4, random_state=0)
scores = {name: cross_val_score(make_linear_probe(C=0.01), F, y_motor, cv=cv, scoring="balanced_accuracy")
          for name, F in features.items()}
for name, s in scores.items():
    print(f"{name:<40} {s.mean():.3f} ± {s.std():.3f}  ({features[name].shape[1]} features)")

fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
for row, (name, s) in enumerate(scores.items()):
    jitter = np.random.default_rng(row).uniform(-0.15, 0.15, len(s))
    ax.scatter(s, row + jitter, s=12, alpha=0.5, color=f"C{row}")
    ax.errorbar(s.mean(), row, xerr=s.std(), fmt="D", color="k", capsize=4)
ax.set_yticks(range(len(scores)), list(scores))
ax.axvline(0.5, color="k", linestyle=":", linewidth=1)
ax.set_xlim(0, 1)
ax.set_xlabel("balanced accuracy (dots: folds; diamond: mean ± std)")
ax.invert_yaxis()
ax.set_title("Left vs right hand imagery, eegmmidb subject 1" if shared is not None else "Synthetic target task")
plt.show()

# %%
# With one subject, a few dozen trials and a few hundred small pretraining steps on a
# different task, expect scores near chance and a wide spread; the point here
# is the route. The same encoder can also be pretrained on both datasets at
# once, without labels, by pooling them in a :class:`~skseqclr.MultiDataset`
# (``seqclr.fit(MultiDataset([pretraining_windows, motor]))``, see
# :doc:`/user_guide/multidataset`), or fine-tuned on the target task with
# :class:`~skseqclr.classifier.SeqCLRClassifier` (:doc:`/user_guide/classifier`).
