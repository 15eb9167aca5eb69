"""
Pretraining on real EEG and linear evaluation with few labels
=============================================================

The use SeqCLR was made for: pretrain an encoder on EEG recordings **without
labels**, then classify with a simple linear probe trained on a fraction of
the labels. The data are PhysioNet's *EEG During Mental Arithmetic Tasks*
(eegmat): 19-channel recordings of subjects at rest and while counting
backwards, a task that should change the EEG's rhythms.

We pretrain on some subjects and test on others (windows of one subject are
strongly correlated, so the split is by subject), look at the loss and at a
2-D picture of the features, and score a linear probe with 100%, 10% and 1% of
the training labels against the same encoder untrained and a classic feature,
each channel's log power. Everything is CPU-sized: a narrow encoder, a few
hundred small pretraining steps, recordings resampled to 64 Hz. The project's benchmark
(:doc:`/benchmark`) runs the same protocol at a real budget.
"""

# %%
# Data: eegmat, split by subject
# ------------------------------
# :func:`~skseqclr.datasets.fetch_eegmat` returns braindecode windows with a
# target per window (0 rest, 1 arithmetic) and the subject in the description.
# Without the local copy of the recordings, the example falls back to
# synthetic EEG.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from skseqclr import SeqCLRTransformer
from skseqclr.evaluation.baselines import LogPower
from skseqclr.datasets import fetch_eegmat, make_synthetic_eeg
from skseqclr.evaluation.probe import make_linear_probe, subsample_labels
from skseqclr.evaluation.normalization import standardize_per_group

QUICK = os.environ.get("SKSEQCLR_DOCS_QUICK", "0") not in ("", "0")
candidates = [os.environ.get("SKSEQCLR_SHARED_DATA", ""), "../shared/data", "../../shared/data"]
shared = next((Path(c) for c in candidates if c and (Path(c) / "eegmat").is_dir()), None)

sfreq = 64.0
# the project's benchmark split: subjects 0-23 for training, 24-35 for testing
train_subjects = range(0, 8) if QUICK else range(0, 24)
test_subjects = range(24, 30) if QUICK else range(24, 36)
class_names = ["rest", "arithmetic"]
if shared is not None:
    X_train = fetch_eegmat(shared / "eegmat", subjects=train_subjects, sfreq=sfreq, download=False)
    X_test = fetch_eegmat(shared / "eegmat", subjects=test_subjects, sfreq=sfreq, download=False)
    y_train = X_train.get_metadata()["target"].to_numpy()
    y_test = X_test.get_metadata()["target"].to_numpy()
    subject_train = X_train.get_metadata()["subject"].to_numpy()
    subject_test = X_test.get_metadata()["subject"].to_numpy()
    source = (f"eegmat, subjects {train_subjects[0]}-{train_subjects[-1]} for training, "
              f"{test_subjects[0]}-{test_subjects[-1]} for testing")
else:
    print("Note: ../shared/data/eegmat not found; using synthetic EEG (two rhythms) instead.")
    X, y = make_synthetic_eeg(n_windows=360, n_channels=19, n_times=256, sfreq=sfreq, noise=2.0, random_state=0)
    X_train, X_test, y_train, y_test = X[:240], X[240:], y[:240], y[240:]
    subject_train, subject_test = np.arange(240) // 30, 8 + np.arange(120) // 30  # pretend subjects
    class_names = ["class 0", "class 1"]
    source = "synthetic windows"
print(f"{source}: {len(y_train)} training and {len(y_test)} test windows of 4 s; "
      f"{np.mean(y_train == 1):.0%} of training windows are '{class_names[1]}'")

# %%
# Pretraining without labels
# --------------------------
# ``fit`` never sees ``y_train``. Each step draws four single channels from
# each of 16 windows (with channel recombination, paper §2.1: an original
# channel or a difference of two), augments each twice and trains encoder and
# projector with the NT-Xent loss. The control is the same encoder with
# ``n_epochs=0``.
cpu_sizes = dict(model_size=dict(preset="small", branch_channels=(8, 8, 4), n_residual=1, lstm_sizes=(16, 8, 4),
                                 hidden_size=16))
settings = dict(**cpu_sizes, time_shift=(-16, 16), zero_mask=(0, 48), batch_size=64,
                sfreq=None if shared is not None else sfreq,  # numpy arrays carry no sampling frequency
                random_state=0)
seqclr = SeqCLRTransformer(**settings, n_epochs=2 if QUICK else 3).fit(X_train)
untrained = SeqCLRTransformer(**settings, n_epochs=0).fit(X_train)
print(f"{seqclr.n_steps_} steps, {sum(h['time_s'] for h in seqclr.history_):.0f} s; "
      f"input scale {seqclr.input_scale_:.1f} µV (median channel std)")

fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot([h["epoch"] + 1 for h in seqclr.history_], [h["loss"] for h in seqclr.history_], "o-")
ax.axhline(np.log(2 * 64 - 1), color="0.5", linestyle=":", label="chance: log(2N - 1)")
ax.set_xlabel("epoch")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.set_ylabel("NT-Xent loss")
ax.legend()
ax.set_title("Pretraining loss")
plt.show()

# %%
# The loss starts near :math:`\log(2N - 1)`, the value for views that cannot be
# told apart among the :math:`2N = 128` views of a batch, and falls as the
# encoder learns to recognise each channel's two views.
#
# Features of the test subjects, in two dimensions
# ------------------------------------------------
# ``transform`` gives one vector per window: 12 pooled statistics for each
# channel read. eegmat's electrodes have 10-20 names, so the readout's default
# ``feature_channels="auto"`` reads the 19 recorded channels and the 44
# differences of neighbouring electrodes (:doc:`/user_guide/recombination`;
# the synthetic windows, unnamed, are read on their 19 channels). A PCA of the
# standardised features of the *test* windows, coloured by condition, shows
# how much of the condition the features carry without any label having been
# used.
read = list(dict.fromkeys(name.split("_h")[0] for name in seqclr.get_feature_names_out()))
print(f"{seqclr.n_features_out_} features per window: {len(read)} channels read ({', '.join(read[:3])}, ..., "
      f"{read[-1]}) x 12")
features = {name: (est.transform(X_train), est.transform(X_test))
            for name, est in [("pretrained", seqclr), ("untrained", untrained)]}
log_power = LogPower().fit(X_train)
features["log power"] = (log_power.transform(X_train), log_power.transform(X_test))

fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
for ax, name in zip(axes, ["pretrained", "untrained"]):
    train_f, test_f = features[name]
    scaler = StandardScaler().fit(train_f)
    embedding = PCA(n_components=2).fit(scaler.transform(train_f)).transform(scaler.transform(test_f))
    for label, color in [(0, "C0"), (1, "C3")]:
        points = embedding[y_test == label]
        ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6, color=color, label=class_names[label])
    ax.set_title(f"{name} encoder")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
axes[0].legend()
plt.show()

# %%
# Linear evaluation with few labels
# ---------------------------------
# The probe (:class:`~skseqclr.evaluation.probe.LinearProbe`: standardisation +
# logistic regression with balanced class weights) is trained on a
# stratified fraction of the training labels
# (:func:`~skseqclr.evaluation.probe.subsample_labels`) and scored by balanced
# accuracy on the test subjects. It chooses its regularisation by
# cross-validation on the labelled training windows, with folds that keep
# subjects apart (``groups``). Every feature set gets the same label subsets;
# three draws per fraction give the spread.
#
# The last two rows standardise each subject's features with that subject's
# own windows (:doc:`/user_guide/cross_subject`), which removes differences
# between people; for the test subjects it uses their unlabelled test
# windows.
for name in ["pretrained", "untrained"]:
    features[f"{name}, per subject"] = (standardize_per_group(features[name][0], subject_train),
                                        standardize_per_group(features[name][1], subject_test))
fractions = (1.0, 0.1, 0.01)
seeds = range(3)
scores = {name: np.zeros((len(fractions), len(seeds))) for name in features}
for i, fraction in enumerate(fractions):
    for j, seed in enumerate(seeds):
        subset = subsample_labels(y_train, fraction, random_state=seed)
        for name, (train_f, test_f) in features.items():
            probe = make_linear_probe().fit(train_f[subset], y_train[subset], groups=subject_train[subset])
            scores[name][i, j] = balanced_accuracy_score(y_test, probe.predict(test_f))

print(f"{'features':<24}" + "".join(f"{f:>16.0%}" for f in fractions))
for name, s in scores.items():
    print(f"{name:<24}" + "".join(f"{m:>10.3f} ± {d:.3f}" for m, d in zip(s.mean(1), s.std(1))))

fig, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
for (name, s), color in zip(scores.items(), ["C0", "0.5", "C2", "C1", "0.7"]):
    ax.errorbar(np.array(fractions) * 100, s.mean(1), yerr=s.std(1), marker="o", capsize=3, color=color,
                label=name)
ax.set_xscale("log")
ax.set_xlabel("labelled training windows (%)")
ax.set_ylabel("balanced accuracy (test subjects)")
ax.axhline(0.5, color="k", linestyle=":", linewidth=1)
ax.legend()
ax.set_title("Linear probe")
plt.show()

# %%
# At this budget the comparison can go either way, and it is the comparison
# that matters: pretraining pays off only if it beats the same encoder
# untrained and the simple features a researcher would use instead. On
# EEGMAT the classes differ mostly in band power, and the five-band
# log-variance standardised per subject stays ahead of SeqCLR;
# :doc:`/results` reports it with longer pretraining, all subjects and
# several pretraining seeds, beside five other tasks; :func:`skseqclr.evaluation.protocol.evaluate_label_efficiency`
# runs the whole protocol in one call.
