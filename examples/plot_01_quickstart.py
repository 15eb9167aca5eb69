"""
Quickstart: SeqCLR features in a scikit-learn Pipeline
======================================================

:class:`~skseqclr.SeqCLRTransformer` is a scikit-learn transformer: ``fit``
pretrains a channel encoder on EEG windows **without their labels**, and
``transform`` turns each window into a feature vector for any classifier.

This example fits a Pipeline on synthetic EEG-like windows and compares it
with its control, the same Pipeline whose encoder is not pretrained
(``n_epochs=0``). The settings are tiny so that it runs on a CPU in about a
minute; they show how the pieces fit, not what pretraining can achieve.
"""

# %%
# Data: labelled EEG-like windows
# -------------------------------
# :func:`~skseqclr.datasets.make_synthetic_eeg` makes windows of 1/f
# background activity plus a bursting rhythm whose frequency gives the class
# (10 Hz for class 0, 20 Hz for class 1), in µV, like
# ``sklearn.datasets.make_classification`` makes tables. ``noise=2`` doubles
# the background so that the task is not trivial.
import os

import matplotlib.pyplot as plt
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skseqclr import SeqCLRTransformer
from skseqclr.datasets import make_synthetic_eeg

QUICK = os.environ.get("SKSEQCLR_DOCS_QUICK", "0") not in ("", "0")  # smaller settings for CI
sfreq = 64.0
X, y = make_synthetic_eeg(n_windows=160 if QUICK else 320, n_channels=8, n_times=256, sfreq=sfreq,
                          noise=2.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
print(f"{X.shape[0]} windows of {X.shape[1]} channels x {X.shape[2]} samples ({X.shape[2] / sfreq:g} s), "
      f"channel std {X.std(axis=-1).mean():.1f} µV")

# %%
# The Pipeline
# ------------
# A numpy array carries no sampling frequency, so ``sfreq`` is given (the
# band-stop augmentation needs it). The encoder keeps the paper's architecture
# with narrower layers: ``model_size="small"`` plus two overrides (fewer
# filters, one residual unit) so that this runs in seconds on a CPU. The
# augmentations' ranges in samples are the paper's at 200 Hz; at 64 Hz we
# scale them to the same durations (±0.25 s time shifts, masks up to 0.75 s).
cpu_sizes = dict(model_size=dict(preset="small", branch_channels=(8, 8, 4), n_residual=1, lstm_sizes=(16, 8, 4),
                                 hidden_size=16))
seqclr = SeqCLRTransformer(
    **cpu_sizes,
    sfreq=sfreq,
    time_shift=(-16, 16),
    zero_mask=(0, 48),
    n_epochs=1 if QUICK else 3,
    batch_size=64,
    random_state=0,
)
pipe = make_pipeline(seqclr, StandardScaler(), LogisticRegression(max_iter=1000))
pipe.fit(X_train, y_train)  # the transformer ignores y; the classifier uses it
pretrained_score = balanced_accuracy_score(y_test, pipe.predict(X_test))
fitted = pipe.named_steps["seqclrtransformer"]
print(f"pretrained for {fitted.n_steps_} steps; loss per epoch:",
      [round(h["loss"], 3) for h in fitted.history_])
print(f"balanced accuracy, pretrained encoder: {pretrained_score:.3f}")

# %%
# The control: the same encoder, untrained
# ----------------------------------------
# ``n_epochs=0`` gives the encoder with its initial weights and everything
# else identical (same seed, same scaling, same pooling). Any claim that
# pretraining helps must beat this.
control = clone(pipe).set_params(seqclrtransformer__n_epochs=0).fit(X_train, y_train)
control_score = balanced_accuracy_score(y_test, control.predict(X_test))
print(f"balanced accuracy, untrained encoder:  {control_score:.3f}")

# %%
# Both scores, and what the features are
# --------------------------------------
# ``transform`` returns, for each channel, statistics over time of the
# encoder's 4 output channels (mean, standard deviation and log mean square by
# default): 8 channels x 12 = 96 features, named by
# ``get_feature_names_out``. (These synthetic channels have no names; for
# electrodes with 10-05 names, from MNE or braindecode or given as
# ``ch_names``, the readout's default ``feature_channels="auto"`` also reads the
# differences of neighbouring electrodes: :doc:`/user_guide/recombination`.)
print(fitted.transform(X_test[:2]).shape, fitted.get_feature_names_out()[:3])

fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.bar(["untrained\n(n_epochs=0)", f"pretrained\n({fitted.n_steps_} steps)"], [control_score, pretrained_score],
       color=["0.6", "C0"])
ax.axhline(0.5, color="k", linestyle=":", linewidth=1, label="chance")
ax.set_ylim(0, 1)
ax.set_ylabel("balanced accuracy (test)")
ax.legend(loc="lower right")
ax.set_title("Linear probe on SeqCLR features")
plt.show()

# %%
# Which one wins depends on the data, the budget and the settings: a few
# dozen steps of a small encoder are far from the paper's training, and an
# untrained convolutional encoder is already a bank of random filters whose
# output power separates rhythms well, which is what these classes differ in:
# here the untrained control is usually ahead, and this quick start does not
# show pretraining paying off. The first example
# (:ref:`sphx_glr_auto_examples_plot_00_when_pretraining_pays.py`) shows a
# task where it does, and :doc:`/results` measures six tasks at a real budget,
# each beside the untrained encoder and classic features.
